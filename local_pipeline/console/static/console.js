// The console's pages: no framework, no build step, nothing fetched from elsewhere.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 300;
const RESULT_TIMEOUT_MS = 90000;

function el(tag, attrs = {}, text = "") {
  const node = tag === "svg" || ["rect", "text", "line", "g"].includes(tag)
    ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function genderClass(face) {
  if (!face.Classified) return "small";
  return face.Gender.Value === "Female" ? "female" : "male";
}

function label(face) {
  if (!face.Classified) return "too small to classify";
  return `${face.Gender.Value[0]} ${Math.round(face.Age.Value)} (${face.AgeRange.Low}-${face.AgeRange.High})`;
}

// Boxes over a picture: the SVG takes the image's own pixel size as its coordinate system.
function drawBoxes(svg, img, faces) {
  svg.replaceChildren();
  const w = img.naturalWidth, h = img.naturalHeight;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  faces.forEach((face, i) => {
    const b = face.BoundingBox, cls = genderClass(face);
    const g = el("g", { class: cls, "data-face": i });
    g.append(el("rect", { x: b.Left * w, y: b.Top * h, width: b.Width * w, height: b.Height * h }));
    const t = el("text", { x: b.Left * w, y: Math.max(14, b.Top * h - 4) }, `${i + 1}: ${label(face)}`);
    t.style.fontSize = `${Math.max(12, w / 60)}px`;
    g.append(t);
    svg.append(g);
  });
}

function faceRows(tbody, faces) {
  tbody.replaceChildren();
  faces.forEach((face, i) => {
    const tr = el("tr", { class: "face", "data-index": i });
    const c = face.Classified;
    const cells = [i + 1, c ? face.Gender.Value : "—", c ? `${face.Gender.Confidence.toFixed(1)}%` : "—",
      c ? face.Age.Value.toFixed(1) : "—", c ? `${face.AgeRange.Low}–${face.AgeRange.High}` : "—",
      c ? face.AgeGroup : "too small", face.Attention ? (face.Attention.Value ? "yes" : "no") : "—"];
    const names = ["n", "gender", "confidence", "age", "range", "group", "looking"];
    cells.forEach((v, j) => tr.append(el("td", { "data-field": names[j] }, String(v))));
    tbody.append(tr);
  });
}

// ---- Try a photo -------------------------------------------------------------------------------------
async function sendPhoto(file) {
  const item = document.getElementById("upload-item").content.firstElementChild.cloneNode(true);
  document.getElementById("uploads").prepend(item);
  const status = item.querySelector(".status"), img = item.querySelector("img");
  item.querySelector(".name").textContent = file.name;
  img.src = URL.createObjectURL(file);
  img.alt = `the photo ${file.name}`;
  const started = performance.now();
  status.textContent = "Uploading…";
  const form = new FormData();
  form.append("photo", file, file.name);
  let upload;
  try {
    const response = await fetch("/api/uploads", { method: "POST", body: form });
    upload = await response.json();
    if (!response.ok) throw new Error(`${upload.error}. ${upload.what_to_do}.`);
  } catch (error) {
    status.textContent = `Upload failed: ${error.message}`;
    status.classList.add("error");
    return;
  }
  item.dataset.key = upload.key;
  item.dataset.resultKey = upload.result_key;
  while (performance.now() - started < RESULT_TIMEOUT_MS) {
    status.textContent = `Waiting for the result… ${((performance.now() - started) / 1000).toFixed(1)} s`;
    const response = await fetch(`/api/results?key=${encodeURIComponent(upload.key)}`);
    if (response.status === 200) {
      const body = await response.json();
      show(item, body.result, (performance.now() - started) / 1000);
      return;
    }
    if (response.status !== 202) {
      const body = await response.json().catch(() => ({}));
      status.textContent = `The console could not read the result: ${body.error || response.status}.`;
      status.classList.add("error");
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  status.textContent = "No result after 90 s. Is the pipeline running (agegender local up) and is its queue empty of errors?";
  status.classList.add("error");
}

function show(item, result, seconds) {
  const status = item.querySelector(".status"), img = item.querySelector("img");
  item.dataset.seconds = seconds.toFixed(2);
  item.querySelector(".json").textContent = JSON.stringify(result, null, 2);
  if (result.Error) {
    status.textContent = `${result.Error.Code}: ${result.Error.Message}. Upload a JPEG, PNG, WebP, GIF, BMP or TIFF photo that opens on your computer.`;
    status.classList.add("error");
    item.dataset.error = result.Error.Code;
    item.querySelector(".faces").hidden = true;
    item.querySelector(".picture").hidden = true;
    return;
  }
  const faces = result.FaceDetails, n = faces.length;
  status.textContent = `${n === 0 ? "No face found" : `${n} face${n > 1 ? "s" : ""}`} · result in ${seconds.toFixed(1)} s`;
  item.dataset.faces = String(n);
  const draw = () => drawBoxes(item.querySelector(".boxes"), img, faces);
  if (img.complete && img.naturalWidth) draw(); else img.addEventListener("load", draw, { once: true });
  faceRows(item.querySelector(".faces tbody"), faces);
}

function setUpTry() {
  const drop = document.getElementById("drop"), input = document.getElementById("photo");
  input.addEventListener("change", () => { [...input.files].forEach(sendPhoto); input.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    [...e.dataTransfer.files].forEach(sendPhoto);
  });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
}

// ---- Cameras -----------------------------------------------------------------------------------------
async function refreshCameras() {
  const box = document.getElementById("cameras");
  const { cameras } = await (await fetch("/api/cameras")).json();
  if (!cameras.length) {
    box.innerHTML = '<p class="status">No camera has sent a frame yet: upload frames to <code>cameras/&lt;camera id&gt;/…</code>.</p>';
    return;
  }
  box.querySelector(":scope > .status")?.remove();
  for (const camera of cameras) {
    let section = box.querySelector(`section[data-camera="${CSS.escape(camera)}"]`);
    if (!section) {
      section = document.getElementById("camera-item").content.firstElementChild.cloneNode(true);
      section.dataset.camera = camera;
      section.querySelector(".name").textContent = `Camera ${camera}`;
      box.append(section);
    }
    const response = await fetch(`/api/cameras/${encodeURIComponent(camera)}`);
    if (!response.ok) continue;
    const data = await response.json();
    const frame = data.frame, img = section.querySelector("img");
    section.querySelector(".captured").textContent = frame.Camera && frame.Camera.CapturedAt
      ? `Latest frame captured ${frame.Camera.CapturedAt.replace("T", " ").replace("Z", " UTC")} · ${frame.FaceDetails.length} face(s)` : "";
    const src = `/api/images?key=${encodeURIComponent(frame.Source.Key)}`;
    if (img.dataset.src !== src) {
      img.dataset.src = src;
      img.alt = `latest frame of camera ${camera}`;
      img.onload = () => drawBoxes(section.querySelector(".boxes"), img, frame.FaceDetails);
      img.onerror = () => { section.querySelector(".captured").textContent += " (the frame itself is no longer stored)"; };
      img.src = src;
    }
    const tbody = section.querySelector(".tracks tbody");
    tbody.replaceChildren();
    if (!data.tracks.length) {
      const tr = el("tr");
      tr.append(el("td", { colspan: 6 }, "Nobody"));
      tbody.append(tr);
    }
    data.tracks.forEach((t, i) => {
      const tr = el("tr");
      [`#${i + 1}`, t.gender || "—", t.age ?? "—", `${t.dwell_s} s`, `${t.attention_s} s`, t.looking ? "yes" : "no"]
        .forEach((v) => tr.append(el("td", {}, String(v))));
      tbody.append(tr);
    });
    const list = section.querySelector(".decisions");
    list.replaceChildren();
    if (!data.stage) list.append(el("li", {}, "The smart-display stage is off for this pipeline."));
    else if (!data.decisions.length) list.append(el("li", {}, "No display watches this camera (put a rules document: agegender displays put-rules)."));
    data.decisions.forEach((d) => {
      const li = el("li");
      li.append(el("span", {}, `${d.DisplayId}: `), el("span", { class: "creative" }, d.Creative || "nothing yet"));
      if (d.Reason) li.append(el("span", {}, ` (${d.Reason}${d.Rule ? `, rule ${d.Rule}` : ""}; ${d.FacesCounted} counted of ${d.FacesPresent} present)`));
      list.append(li);
    });
  }
}

// ---- Audience report ---------------------------------------------------------------------------------
function bars(svg, groups, series) {
  svg.replaceChildren();
  const width = svg.clientWidth || 800, height = 240, bottom = 40, left = 30;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const max = Math.max(1, ...groups.flatMap((g) => series.map((s) => g[s.key])));
  const slot = (width - left) / Math.max(1, groups.length);
  const barW = Math.min(36, Math.max(2, slot / (series.length + 1)));
  for (let v = 0; v <= max; v += Math.max(1, Math.ceil(max / 4))) {
    const y = height - bottom - (v / max) * (height - bottom - 10);
    svg.append(el("line", { x1: left, x2: width, y1: y, y2: y, stroke: "#e3e6eb" }), el("text", { x: 2, y: y + 4 }, String(v)));
  }
  groups.forEach((g, i) => {
    series.forEach((s, j) => {
      const h = (g[s.key] / max) * (height - bottom - 10);
      const r = el("rect", { class: s.cls, x: left + i * slot + j * barW + barW / 2, y: height - bottom - h, width: barW * 0.9, height: h });
      r.append(el("title", {}, `${g.label}: ${g[s.key]} ${s.name}`));
      svg.append(r);
    });
    if (groups.length <= 12 || i % Math.ceil(groups.length / 12) === 0) {
      svg.append(el("text", { x: left + i * slot + 2, y: height - bottom + 14 }, g.label));
    }
  });
  series.forEach((s, j) => {
    svg.append(el("rect", { class: s.cls, x: left + j * 110, y: height - 16, width: 10, height: 10 }),
      el("text", { x: left + j * 110 + 14, y: height - 7 }, s.name));
  });
}

// The whole range in equal buckets (minutes up to 6 hours, hours beyond), empty ones included.
function timeBuckets(data) {
  const since = Date.parse(data.since), until = Date.parse(data.until);
  const step = until - since <= 6 * 3600e3 ? 60e3 : 3600e3;
  const buckets = [];
  for (let t = Math.floor(since / step) * step; t <= until; t += step) {
    const stamp = new Date(t).toISOString();
    buckets.push({ t, label: step === 60e3 ? stamp.slice(11, 16) : `${stamp.slice(5, 10)} ${stamp.slice(11, 13)}h`, ots: 0, watchers: 0 });
  }
  for (const m of data.minutes) {
    const bucket = buckets[Math.floor((Date.parse(m.minute) - buckets[0].t) / step)];
    if (bucket) { bucket.ots += m.opportunities_to_see; bucket.watchers += m.watchers; }
  }
  return buckets;
}

async function showReport(form) {
  const params = new URLSearchParams(new FormData(form));
  document.getElementById("csv").href = `/api/report.csv?${params}`;
  const response = await fetch(`/api/report?${params}`);
  const data = await response.json();
  const totals = document.querySelector(".totals");
  if (!response.ok) { totals.innerHTML = `<p class="status error">${data.error}: ${data.what_to_do}.</p>`; return; }
  const conversion = data.conversion == null ? "—" : `${Math.round(100 * data.conversion)}%`;
  totals.replaceChildren();
  for (const [name, value] of [["People (opportunities to see)", data.opportunities_to_see], ["Watchers", data.watchers],
    ["Conversion", conversion], ["Mean dwell", data.mean_dwell_s == null ? "—" : `${data.mean_dwell_s} s`],
    ["Mean attention", data.mean_attention_s == null ? "—" : `${data.mean_attention_s} s`]]) {
    const div = el("div"); div.append(el("dt", {}, name), el("dd", {}, String(value))); totals.append(div);
  }
  bars(document.getElementById("per-minute"), timeBuckets(data),
    [{ key: "ots", name: "people", cls: "ots" }, { key: "watchers", name: "watchers", cls: "watchers" }]);
  bars(document.getElementById("mix"),
    Object.entries(data.mix).map(([k, v]) => ({ label: k.replace("|", " "), people: v })),
    [{ key: "people", name: "people", cls: "watchers" }]);
}

function setUpReport() {
  const form = document.getElementById("report-form");
  form.addEventListener("submit", (e) => { e.preventDefault(); showReport(form); });
  if (form.camera.value) showReport(form);
}

if (document.getElementById("drop")) setUpTry();
if (document.getElementById("cameras")) { refreshCameras(); setInterval(refreshCameras, 2000); }
if (document.getElementById("report-form")) setUpReport();
