"""The console in a real browser (headless Chromium) over a running local pipeline: drop a photo, check
what is drawn against the result JSON, and a bad file's error. Screenshots go to ``test-artifacts/console/``.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from local_pipeline.aws import client
from local_pipeline.console.serve import backend_for, local_names, start
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


def drop(page, path: Path) -> None:
    page.evaluate(DROP, [path.name, list(path.read_bytes())])


def test_drop_a_photo_and_a_bad_file(browser_page, tmp_path, sample_portrait):
    page = browser_page
    photo = tmp_path / "two people.jpg"
    frame = Image.new("RGB", (800, 450), (120, 126, 130))
    frame.paste(sample_portrait, (80, 120))
    frame.paste(sample_portrait.resize((120, 131)), (520, 160))
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
            rows = item.query_selector_all("tr.face")
            for row, face in zip(rows, faces, strict=True):
                cell = {td.get_attribute("data-field"): td.inner_text() for td in row.query_selector_all("td")}
                assert cell["gender"] == face["Gender"]["Value"]
                assert cell["age"] == f"{face['Age']['Value']:.1f}"
                assert cell["range"] == f"{face['AgeRange']['Low']}\N{EN DASH}{face['AgeRange']['High']}"
                assert cell["confidence"] == f"{face['Gender']['Confidence']:.1f}%"
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
