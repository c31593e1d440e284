// The console's pages: no framework, no build step, nothing fetched from elsewhere.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 300;
const RESULT_TIMEOUT_MS = 90000;

// Every state-changing request carries the token the page was served with (the console refuses others).
function tokenHeader() {
  return { "X-Console-Token": document.querySelector('meta[name="console-token"]').content };
}

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

// How sure the classifier is, at a glance: a box is drawn fainter the closer its gender call is to a coin toss.
function sureness(face) {
  return face.Classified ? Math.max(0.35, (face.Gender.Confidence - 50) / 50) : 1;
}

// Boxes over a picture: the SVG takes the image's own pixel size as its coordinate system, and labels are sized
// for the picture as shown (a tall photo shown 480 px high still gets readable labels).
function drawBoxes(svg, img, faces) {
  svg.replaceChildren();
  const w = img.naturalWidth, h = img.naturalHeight;
  const shown = img.getBoundingClientRect();
  const scale = shown.width ? Math.max(w / shown.width, h / shown.height) : w / 600;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  faces.forEach((face, i) => {
    const b = face.BoundingBox, cls = genderClass(face);
    const g = el("g", { class: cls, "data-face": i });
    g.style.opacity = String(sureness(face));
    g.append(el("rect", { x: b.Left * w, y: b.Top * h, width: b.Width * w, height: b.Height * h }));
    const size = 13 * scale;
    const t = el("text", { x: b.Left * w, y: Math.max(size, b.Top * h - size / 3) }, `${i + 1}: ${label(face)}`);
    t.style.fontSize = `${size}px`;
    g.append(t);
    svg.append(g);
  });
}

// What to do about a typed error, in the words of the error.
const WHAT_TO_DO = {
  ImageTooLarge: "Send a smaller image: at most 15 MB and 40 megapixels.",
  InvalidImageFormat: "Upload a JPEG, PNG, WebP, GIF, BMP or TIFF photo that opens on your computer.",
  InvalidS3Object: "The upload was gone before it was analysed: send it again.",
  AccessDenied: "The pipeline may not read this upload: check the bucket's permissions.",
  AnalysisFailed: "The pipeline failed on this image: please report it with the result JSON.",
};

function sentence(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
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
    const response = await fetch("/api/uploads", { method: "POST", body: form, headers: tokenHeader() });
    upload = await response.json();
    if (!response.ok) throw new Error(`${sentence(upload.error)}. ${sentence(upload.what_to_do)}.`);
  } catch (error) {
    status.textContent = `Upload failed. ${error.message}`;
    status.classList.add("error");
    failed(item);
    return;
  }
  item.dataset.key = upload.key;
  item.dataset.resultKey = upload.result_key;
  remember({ key: upload.key, name: file.name });
  await awaitResult(item, upload.key, started);
}

// The page's uploads survive a reload: their keys (never their pixels) are kept in this browser's storage.
const STORED = "agegender-console-uploads";
const KEPT_UPLOADS = 50;

function remembered() {
  try { return JSON.parse(localStorage.getItem(STORED) || "[]"); } catch { return []; }
}

function remember(upload) {
  localStorage.setItem(STORED, JSON.stringify([upload, ...remembered()].slice(0, KEPT_UPLOADS)));
}

function restore() {
  for (const upload of remembered().reverse()) {
    const item = document.getElementById("upload-item").content.firstElementChild.cloneNode(true);
    document.getElementById("uploads").prepend(item);
    item.querySelector(".name").textContent = upload.name;
    const img = item.querySelector("img");
    img.src = `/api/images?key=${encodeURIComponent(upload.key)}`;
    img.alt = `the photo ${upload.name}`;
    img.onerror = () => { item.querySelector(".picture").hidden = true; };
    item.dataset.key = upload.key;
    awaitResult(item, upload.key, performance.now());
  }
}

function csvCell(value) {
  const text = String(value ?? "");
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;  // never a spreadsheet formula
  return /[",\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function downloads(item, result) {
  const name = item.querySelector(".name").textContent.replace(/\.[^.]*$/, "");
  const json = new Blob([JSON.stringify(result, null, 2)], { type: "application/json" });
  const rows = [["face", "gender", "confidence", "age", "age_low", "age_high", "age_group", "looking", "left", "top", "width", "height"]];
  result.FaceDetails.forEach((f, i) => rows.push([i + 1, f.Gender?.Value, f.Gender?.Confidence, f.Age?.Value, f.AgeRange?.Low,
    f.AgeRange?.High, f.AgeGroup, f.Attention?.Value, f.BoundingBox.Left, f.BoundingBox.Top, f.BoundingBox.Width, f.BoundingBox.Height]));
  const csv = new Blob([rows.map((r) => r.map(csvCell).join(",")).join("\n") + "\n"], { type: "text/csv" });
  const links = item.querySelector(".downloads");
  links.replaceChildren(el("a", { href: URL.createObjectURL(json), download: `${name}.json`, class: "button" }, "Download JSON"));
  if (!result.Error) links.append(el("a", { href: URL.createObjectURL(csv), download: `${name}.csv`, class: "button" }, "Download CSV"));
  links.hidden = false;
}

async function awaitResult(item, key, started) {
  const status = item.querySelector(".status");
  while (performance.now() - started < RESULT_TIMEOUT_MS) {
    status.textContent = `Waiting for the result… ${((performance.now() - started) / 1000).toFixed(1)} s`;
    const response = await fetch(`/api/results?key=${encodeURIComponent(key)}`);
    if (response.status === 200) {
      const body = await response.json();
      item.dataset.resultKey = body.result_key;
      show(item, body.result, (performance.now() - started) / 1000);
      downloads(item, body.result);
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
  failed(item);
}

// A failed upload shows its message only: no broken picture, no empty table.
function failed(item) {
  item.querySelector(".faces").hidden = true;
  item.querySelector(".picture").hidden = true;
  if (!item.querySelector(".json").textContent) item.querySelector("details").hidden = true;
}

function show(item, result, seconds) {
  const status = item.querySelector(".status"), img = item.querySelector("img");
  item.dataset.seconds = seconds.toFixed(2);
  item.querySelector(".json").textContent = JSON.stringify(result, null, 2);
  if (result.Error) {
    const hint = WHAT_TO_DO[result.Error.Code] || "";
    status.textContent = `${result.Error.Code}: ${sentence(result.Error.Message)}. ${hint}`;
    status.classList.add("error");
    item.dataset.error = result.Error.Code;
    failed(item);
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
  restore();
  document.getElementById("clear").addEventListener("click", () => {
    localStorage.removeItem(STORED);
    document.getElementById("uploads").replaceChildren();
  });
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
  const cameras = [];
  for (let after = "", page = 0; page < 10; page++) {  // at most 10 pages (1,000 cameras) a refresh
    const found = await (await fetch(`/api/cameras?after=${encodeURIComponent(after)}`)).json();
    cameras.push(...found.cameras);
    if (!found.next) break;
    after = found.next;
  }
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
    data.tracks.forEach((t) => {
      const tr = el("tr");
      [t.face ? `face ${t.face}` : "not in this frame", t.gender || "—", t.age ?? "—", `${t.dwell_s} s`, `${t.attention_s} s`, t.looking ? "yes" : "no"]
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
      // Labels end inside the chart: the last one is anchored at its right edge, not cut off.
      const x = Math.min(left + i * slot + 2, width - 2), last = x + g.label.length * 6.5 > width;
      svg.append(el("text", { x, y: height - bottom + 14, "text-anchor": last ? "end" : "start" }, g.label));
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
  if (step === 60e3) {
    for (const m of data.minutes) {
      const bucket = buckets[Math.floor((Date.parse(m.minute) - buckets[0].t) / step)];
      if (bucket) { bucket.ots += m.opportunities_to_see; bucket.watchers += m.watchers; }
    }
  } else {
    // Per hour, people are counted once each, by the hour their passage began (summing the minutes' counts
    // would count someone who stayed three minutes three times).
    for (const t of data.tracks) {
      const bucket = buckets[Math.floor((Date.parse(t.start) - buckets[0].t) / step)];
      if (bucket) { bucket.ots += 1; bucket.watchers += t.watcher ? 1 : 0; }
    }
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
  const buckets = timeBuckets(data), hourly = buckets.length > 1 && buckets[1].t - buckets[0].t > 60e3;
  document.getElementById("per-minute-caption").textContent = hourly
    ? "People per hour (each once, by the hour they arrived) and watchers"
    : "People per minute (opportunities to see) and watchers";
  bars(document.getElementById("per-minute"), buckets,
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

// ---- Webcam ------------------------------------------------------------------------------------------
// One frame every few seconds from the user's webcam, uploaded as camera webcam-<name> with its capture time;
// after each, the page waits until the smart-display stage has taken that frame in and shows the decision.
// The page keeps no frames: only the last one sent is shown, and its object URL is revoked when replaced.
const WEBCAM_POLL_MS = 200;
const WEBCAM_WAIT_MS = 15000;

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function setUpWebcam() {
  const form = document.getElementById("webcam-form"), stopButton = document.getElementById("webcam-stop");
  const video = document.getElementById("webcam-video"), sent = document.getElementById("webcam-sent");
  const status = document.getElementById("webcam-status"), decisionEl = document.getElementById("webcam-decision");
  const canvas = document.getElementById("webcam-canvas"), latencyEl = document.getElementById("webcam-latency");
  let stream = null, timer = null, busy = false, sentUrl = null, frames = 0;
  const latencies = [];

  function stop(message) {
    clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    form.querySelector("#webcam-start").hidden = false;
    stopButton.hidden = true;
    status.textContent = message;
    document.body.dataset.webcam = "off";
  }

  async function showDecision(camera, key, resultKey, started) {
    const deadline = performance.now() + WEBCAM_WAIT_MS;
    while (performance.now() < deadline) {
      const response = await fetch(`/api/cameras/${encodeURIComponent(camera)}`);
      if (response.ok) {
        const data = await response.json();
        const ready = data.stage ? data.latest_key === key : data.frame && data.frame.Source.Key === key;
        if (ready && data.frame && data.frame.Source.Key === key) {
          const faces = data.frame.FaceDetails;
          drawBoxes(document.getElementById("webcam-boxes"), sent, faces);
          faceRows(document.getElementById("webcam-faces"), faces);
          const d = data.decisions[0];
          decisionEl.textContent = !data.stage ? "The smart-display stage is off for this pipeline."
            : d ? `${d.DisplayId} plays ${d.Creative || "nothing yet"}${d.Reason ? ` (${d.Reason}; ${d.FacesCounted} counted of ${d.FacesPresent} present)` : ""}`
              : "No display watches this camera.";
          decisionEl.dataset.creative = d ? d.Creative || "" : "";
          decisionEl.dataset.reason = d ? d.Reason || "" : "";
          const seconds = (performance.now() - started) / 1000;
          latencies.push(seconds);
          sent.dataset.faces = String(faces.length);
          sent.dataset.resultKey = resultKey;
          document.body.dataset.webcamFrames = String(latencies.length);
          document.body.dataset.webcamLatencies = latencies.map((v) => v.toFixed(3)).join(",");
          latencyEl.textContent = `${latencies.length} frame(s) decided; frame to decision shown: last ${seconds.toFixed(2)} s, `
            + `median ${percentile(latencies, 50).toFixed(2)} s, p95 ${percentile(latencies, 95).toFixed(2)} s`;
          return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, WEBCAM_POLL_MS));
    }
    status.textContent = "A frame's result is late: is the pipeline running?";
  }

  async function capture(name, camera) {
    if (busy || !stream) return;  // one frame at a time: a slow pipeline is not flooded
    busy = true;
    try {
      const width = Math.min(1280, video.videoWidth), height = Math.round(video.videoHeight * width / video.videoWidth);
      canvas.width = width;
      canvas.height = height;
      canvas.getContext("2d").drawImage(video, 0, 0, width, height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
      const capturedAt = new Date().toISOString(), started = performance.now();
      if (sentUrl) URL.revokeObjectURL(sentUrl);
      sentUrl = URL.createObjectURL(blob);
      sent.src = sentUrl;
      sent.hidden = false;
      const body = new FormData();
      body.append("frame", blob, "frame.jpg");
      body.append("name", name);
      body.append("captured_at", capturedAt);
      const response = await fetch("/api/webcam/frames", { method: "POST", body, headers: tokenHeader() });
      const answer = await response.json();
      if (!response.ok) { stop(`${answer.error}: ${answer.what_to_do}.`); return; }
      frames += 1;
      status.textContent = `Sending camera ${camera}: ${frames} frame(s) sent, the last captured ${capturedAt.replace("T", " ").replace("Z", " UTC")}.`;
      await showDecision(camera, answer.key, answer.result_key, started);
    } finally {
      busy = false;
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = form.querySelector("#webcam-name").value.trim();
    document.querySelectorAll(".camera-name").forEach((node) => { node.textContent = name; });
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } } });
    } catch (error) {
      stop(`The browser gave no camera (${error.name}): allow the camera for this page, or plug one in.`);
      return;
    }
    video.srcObject = stream;
    await video.play();
    const start = await fetch("/api/webcam/start", {
      method: "POST", body: JSON.stringify({ name }), headers: { ...tokenHeader(), "Content-Type": "application/json" },
    });
    const display = await start.json();
    if (!start.ok) { stop(`${display.error}: ${display.what_to_do}.`); return; }
    decisionEl.textContent = display.display ? `Display ${display.display} watches camera ${display.camera}.` : display.why;
    form.querySelector("#webcam-start").hidden = true;
    stopButton.hidden = false;
    document.body.dataset.webcam = "on";
    const every = Number(document.getElementById("webcam-every").value);
    capture(name, display.camera);
    timer = setInterval(() => capture(name, display.camera), every);
  });
  stopButton.addEventListener("click", () => stop("The camera is off: nothing more is sent."));
}

if (document.getElementById("drop")) setUpTry();
if (document.getElementById("cameras")) { refreshCameras(); setInterval(refreshCameras, 2000); }
if (document.getElementById("report-form")) setUpReport();
if (document.getElementById("webcam-form")) setUpWebcam();
