"""The console in a real browser (headless Chromium) over a running local pipeline: drop a photo, check
what is drawn against the result JSON, and a bad file's error. Screenshots go to ``test-artifacts/console/``.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from audience.rules import RULES_EXAMPLE
from local_pipeline.aws import client
from local_pipeline.console.serve import backend_for, local_names, start
from local_pipeline.displays import put_rules
from local_pipeline.embedded import LocalPipeline
from tests.conftest import REPO_ROOT
from tests.functional.test_local_pipeline import FAST

pytestmark = pytest.mark.browser
ARTIFACTS = REPO_ROOT / "test-artifacts" / "console"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# A drop as a user makes it: a DataTransfer holding the file, dispatched on the drop zone.
DROP = """([name, bytes]) => {
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(bytes)], name, {type: "image/jpeg"}));
  const zone = document.getElementById("drop");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
  }
}"""


@pytest.fixture
def browser_page():
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (make browser installs it from the system packages where it can)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the dev extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        yield page
        browser.close()


def check_faces(rows, faces) -> None:
    """Each drawn table row against its face in the result JSON."""
    assert len(rows) == len(faces)
    for row, face in zip(rows, faces, strict=True):
        cell = {td.get_attribute("data-field"): td.inner_text() for td in row.query_selector_all("td")}
        if face["Classified"]:
            assert cell["gender"] == face["Gender"]["Value"]
            assert cell["age"] == f"{face['Age']['Value']:.1f}"
            assert cell["range"] == f"{face['AgeRange']['Low']}\N{EN DASH}{face['AgeRange']['High']}"
            assert cell["confidence"] == f"{face['Gender']['Confidence']:.1f}%"


def drop(page, path: Path) -> None:
    page.evaluate(DROP, [path.name, list(path.read_bytes())])


def test_drop_a_photo_and_a_bad_file(browser_page, tmp_path, sample_portrait):
    page = browser_page
    photo = tmp_path / "two people.jpg"
    frame = Image.new("RGB", (1280, 720), (120, 126, 130))  # the target's size: a 1280x720 photo
    frame.paste(sample_portrait, (130, 190))
    frame.paste(sample_portrait.resize((120, 131)), (830, 260))
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=92)
    photo.write_bytes(buffer.getvalue())
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"this is not a picture")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with LocalPipeline(FAST, worker_log=tmp_path / "worker.log") as pipeline:
        resources = pipeline.resources
        server = start(backend_for(local_names(FAST), resources.endpoint), "local pipeline (test)", port=0)
        try:
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            drop(page, photo)
            item = page.wait_for_selector("li.upload[data-faces]", timeout=90_000)
            key = item.get_attribute("data-result-key")
            document = json.loads(client("s3", resources.endpoint).get_object(
                Bucket=resources.results_bucket, Key=key)["Body"].read())  # fmt: skip
            faces = document["FaceDetails"]
            assert len(faces) == 2
            assert item.get_attribute("data-faces") == "2"
            check_faces(item.query_selector_all("tr.face"), faces)
            boxes = item.query_selector_all("svg.boxes rect")
            assert len(boxes) == 2
            width = frame.width
            assert float(boxes[0].get_attribute("x")) == pytest.approx(faces[0]["BoundingBox"]["Left"] * width, abs=1)
            assert float(boxes[0].get_attribute("width")) == pytest.approx(
                faces[0]["BoundingBox"]["Width"] * width, abs=1
            )
            seconds = float(item.get_attribute("data-seconds"))
            (ARTIFACTS / "drop_to_result_seconds.txt").write_text(f"{seconds:.2f}\n")
            page.screenshot(path=str(ARTIFACTS / "try-a-photo.png"), full_page=True)

            drop(page, bad)
            failed = page.wait_for_selector("li.upload[data-error]", timeout=90_000)
            assert failed.get_attribute("data-error") == "InvalidImageFormat"
            message = failed.query_selector(".status").inner_text()
            assert "InvalidImageFormat" in message
            assert "Upload a JPEG" in message  # says what to do
            page.screenshot(path=str(ARTIFACTS / "bad-file.png"), full_page=True)
        finally:
            server.shutdown()


def write_y4m(path: Path, frames: list[Image.Image], fps: int = 1) -> Path:
    """A YUV4MPEG2 video (4:2:0) of ``frames``: what Chromium's fake capture device plays as a webcam."""
    width, height = frames[0].size
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            y, cb, cr = frame.convert("YCbCr").split()
            half = (width // 2, height // 2)
            out.write(b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes())
    return path


@pytest.fixture
def webcam_page(tmp_path, sample_portrait):
    """Headless Chromium whose webcam plays a video: an empty room, then the portrait for a while, and again."""
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (make browser installs it from the system packages where it can)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the dev extra)")
    room = Image.new("RGB", (640, 480), (128, 132, 120))
    person = room.copy()
    person.paste(sample_portrait.resize((200, 219)), (220, 120))
    video = write_y4m(tmp_path / "webcam.y4m", [room] * 5 + [person] * 14 + [room] * 9)
    flags = ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             f"--use-file-for-fake-video-capture={video}"]  # fmt: skip
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        context = browser.new_context(viewport={"width": 1200, "height": 1000})
        context.grant_permissions(["camera"])
        yield context.new_page()
        browser.close()


def test_the_webcam_as_a_camera(webcam_page, tmp_path):
    """Frames from the (fake) webcam arrive, faces are found, the display's decision follows the person, and
    the time from frame to decision shown is measured over 30 frames.
    """
    page = webcam_page
    rules = {**RULES_EXAMPLE, "MinimumConfidence": 60, "Displays": {"webcam-test": {"Cameras": ["webcam-test"]}}}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with LocalPipeline(FAST, worker_log=tmp_path / "worker.log") as pipeline:
        resources = pipeline.resources
        s3 = client("s3", resources.endpoint)
        put_rules(s3, resources.results_bucket, FAST.rules_key, json.dumps(rules))
        server = start(backend_for(local_names(FAST), resources.endpoint), "local pipeline (test)", port=0)
        try:
            page.goto(f"http://127.0.0.1:{server.server_port}/webcam")
            page.fill("#webcam-name", "test")
            page.click("#webcam-start")
            creatives, faces_seen, faces = set(), 0, 0
            frame = 0
            while frame < 30 or (faces == 0 and frame < 60):  # 30 frames, then stop on one with a face in it
                frame += 1
                decided = int(page.get_attribute("body", "data-webcam-frames") or 0)
                deadline = time.monotonic() + 20  # polled from here: the page's CSP forbids evaluated scripts
                while int(page.get_attribute("body", "data-webcam-frames") or 0) <= decided:
                    assert time.monotonic() < deadline, page.inner_text("#webcam-status")
                    page.wait_for_timeout(100)
                creatives.add(page.get_attribute("#webcam-decision", "data-creative"))
                sent = page.query_selector("#webcam-sent")
                faces = int(sent.get_attribute("data-faces"))
                faces_seen += faces > 0
                key = sent.get_attribute("data-result-key")
                document = json.loads(s3.get_object(Bucket=resources.results_bucket, Key=key)["Body"].read())
                assert faces == len(document["FaceDetails"])
                check_faces(page.query_selector_all("#webcam-faces tr.face"), document["FaceDetails"])
                if faces and "webcam.png" not in {p.name for p in ARTIFACTS.iterdir()}:
                    page.screenshot(path=str(ARTIFACTS / "webcam.png"), full_page=True)
            latencies = [float(v) for v in page.get_attribute("body", "data-webcam-latencies").split(",")]
            page.click("#webcam-stop")
            assert page.get_attribute("body", "data-webcam") == "off"
            # The Cameras page draws the webcam's latest frame: every box against its result JSON.
            page.goto(f"http://127.0.0.1:{server.server_port}/cameras")
            section = page.wait_for_selector('section[data-camera="webcam-test"] svg.boxes[viewBox]', timeout=20_000)
            api = f"http://127.0.0.1:{server.server_port}/api/cameras/webcam-test"
            with urllib.request.urlopen(api) as answer:
                shown = json.load(answer)
            width = int(section.get_attribute("viewBox").split()[2])
            rects = page.query_selector_all('section[data-camera="webcam-test"] svg.boxes rect')
            assert len(rects) == len(shown["frame"]["FaceDetails"])
            for rect, face in zip(rects, shown["frame"]["FaceDetails"], strict=True):
                assert float(rect.get_attribute("x")) == pytest.approx(face["BoundingBox"]["Left"] * width, abs=1)
            decision = page.inner_text('section[data-camera="webcam-test"] .decisions')
            assert shown["decisions"][0]["Creative"] in decision
            page.screenshot(path=str(ARTIFACTS / "cameras-webcam.png"), full_page=True)
        finally:
            server.shutdown()
    assert faces_seen >= 5
    assert {"new-season", "house-ad"} <= creatives  # the women's creative while she looks, the default without her
    p95 = sorted(latencies)[math.ceil(0.95 * len(latencies)) - 1]
    # Measured here, checked against its target (3 s) in the closing note: timings are not test verdicts.
    (ARTIFACTS / "webcam_frame_to_decision_seconds.txt").write_text(
        f"p95 {p95:.2f} over {len(latencies)} frames; median {sorted(latencies)[len(latencies) // 2]:.2f}\n"
    )
