"""Screenshots of the console's three pages from the real page, for docs/console.md.

Brings the local pipeline up with the console, drops the demo's photos on the first page, plays
the displays demo's camera sequence at 1 frame/s, and photographs each page with headless
Chromium into ``docs/console/``.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from audience.rules import RULES_EXAMPLE
from infra.config import PipelineConfig
from local_pipeline import camera_demo
from local_pipeline.aws import client
from local_pipeline.console.serve import backend_for, local_names, start
from local_pipeline.displays import put_rules
from local_pipeline.embedded import LocalPipeline
from local_pipeline.samples import demo_samples, fetch_sources
from training.options import DEFAULT_DATA

OUT = Path(__file__).resolve().parents[1] / "docs" / "console"
SECONDS = 30


def main() -> int:
    """Take the three screenshots."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("no Chromium: run `make browser` first", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    config = PipelineConfig()
    samples = {s.key.rsplit("/", 1)[-1]: s.data for s in demo_samples()}
    with LocalPipeline(config) as pipeline, sync_playwright() as playwright:
        resources = pipeline.resources
        s3 = client("s3", resources.endpoint)
        server = start(
            backend_for(local_names(config), resources.endpoint), f"local pipeline at {resources.endpoint}", port=0
        )
        url = f"http://127.0.0.1:{server.server_port}"
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(url + "/")
        for name in ("corrupt photo+1.jpg", "frame-0001.jpg"):
            path = Path("/tmp") / name
            path.write_bytes(samples[name])
            page.set_input_files("#photo", str(path))
            page.wait_for_selector(f'li.upload:has(h2:text-is("{name}"))[data-seconds]', timeout=90_000)
        page.screenshot(path=str(OUT / "try-a-photo.png"), full_page=True)

        rules = RULES_EXAMPLE | {"Displays": {camera_demo.DISPLAY: {"Cameras": [camera_demo.CAMERA]}}}
        put_rules(s3, resources.results_bucket, config.rules_key, json.dumps(rules))
        people = camera_demo.cast(DEFAULT_DATA)
        wall = Image.open(fetch_sources()["brick.png"]).convert("RGB").resize(camera_demo.FRAME_SIZE)
        started = time.time()
        for second in range(SECONDS):
            buffer = io.BytesIO()
            camera_demo.render(second, people, wall).save(buffer, format="JPEG", quality=88)
            key = camera_demo.frame_key(datetime.fromtimestamp(started + second, UTC))
            s3.put_object(Bucket=resources.input_bucket, Key=key, Body=buffer.getvalue())
            time.sleep(max(0.0, started + second + 1 - time.time()))
            if second == 12:  # the astronaut and the man in view, the display targeting them
                page.goto(url + "/cameras")
                page.wait_for_selector("section.camera .tracks tbody tr", timeout=30_000)
                time.sleep(2.5)
                page.screenshot(path=str(OUT / "cameras.png"), full_page=True)
        time.sleep(16)  # quiet for 10 s: the sweep settles the camera and writes its records
        page.goto(url + "/report")
        page.wait_for_selector(".totals div", timeout=30_000)
        page.screenshot(path=str(OUT / "report.png"), full_page=True)
        browser.close()
        server.shutdown()
    print(f"screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
