"""``agegender demo``: the local pipeline, sample uploads, every result waited for, a table, annotated PNGs."""

from __future__ import annotations

import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from infra.config import PipelineConfig
from local_pipeline.aws import client, queue_depth, result_keys
from local_pipeline.embedded import LocalPipeline
from local_pipeline.samples import Sample, demo_samples, folder_samples

#: Generous: the first result waits for the worker's cold start (imports and model loads).
WAIT_BASE_S = 60
WAIT_PER_IMAGE_S = 2


@dataclass
class Received:
    """One upload and the result that came back for it."""

    sample: Sample
    result_key: str
    document: dict[str, Any] | None = None
    seconds: float | None = None


def result_key_for(config: PipelineConfig, bucket: str, key: str) -> str:
    """The result key the pipeline writes for one upload."""
    from agegender.locations import result_key

    return result_key(config.results_prefix, bucket, key)


def progress(done: int, total: int, width: int = 30) -> None:
    """Draw a one-line progress bar on stderr."""
    filled = width * done // max(total, 1)
    print(f"\r  results [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", file=sys.stderr, flush=True)


def wait_for_results(s3: Any, bucket: str, pending: list[Received], started: float, timeout_s: float) -> None:
    """Poll the results bucket until every upload's result is there (or the time is up)."""
    waiting = {r.result_key: r for r in pending}
    deadline = time.monotonic() + timeout_s
    while waiting and time.monotonic() < deadline:
        for key in list(waiting):
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                continue
            received = waiting.pop(key)
            received.document, received.seconds = json.loads(body), time.monotonic() - started
        progress(len(pending) - len(waiting), len(pending))
        time.sleep(0.2)
    print(file=sys.stderr)


def describe_faces(document: dict[str, Any]) -> str:
    """``F 28 (adult), M 40 (adult)``: one result's faces for the table."""
    faces = []
    for face in document["FaceDetails"]:
        if face.get("Classified"):
            faces.append(f"{face['Gender']['Value'][0]} {face['Age']['Value']:.0f} ({face['AgeGroup']})")
        else:
            faces.append("too small")
    return ", ".join(faces) or "-"


def table(rows: list[Received]) -> str:
    """The demo's result table."""
    header = ("upload", "faces", "gender age (group) per face", "error", "s")
    lines = []
    for r in rows:
        doc = r.document
        if doc is None:
            lines.append((r.sample.key, "?", "NO RESULT", "", ""))
            continue
        error = doc["Error"]["Code"] if doc.get("Error") else ""
        lines.append((r.sample.key, str(len(doc["FaceDetails"])), describe_faces(doc), error, f"{r.seconds:.1f}"))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths)), *(fmt.format(*x) for x in lines)])


def annotate(sample: Sample, document: dict[str, Any], path: Path) -> bool:
    """Boxes and labels over the uploaded image, as a PNG a person can look at; False if it does not decode."""
    try:
        image = Image.open(io.BytesIO(sample.data))
        image.load()
    except (UnidentifiedImageError, OSError):
        return False
    image = ImageOps.exif_transpose(image).convert("RGB")  # type: ignore[assignment]
    draw = ImageDraw.Draw(image)
    width, height = image.size
    font_size = max(12, width // 70)
    font = ImageFont.load_default(size=font_size)
    for face in document["FaceDetails"]:
        box = face["BoundingBox"]
        left, top = box["Left"] * width, box["Top"] * height
        right, bottom = left + box["Width"] * width, top + box["Height"] * height
        colour = (255, 80, 160) if face.get("Gender", {}).get("Value") == "Female" else (60, 160, 255)
        draw.rectangle((left, top, right, bottom), outline=colour, width=max(2, width // 400))
        label = describe_faces({"FaceDetails": [face]})
        anchor = (left, max(0, top - font_size - 4))
        draw.rectangle(draw.textbbox(anchor, label, font=font), fill=colour)
        draw.text(anchor, label, fill=(255, 255, 255), font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return True


def run_demo(
    *, images: Path | None = None, output: Path = Path("demo-output"), config: PipelineConfig | None = None,
    workers: int = 1,
) -> int:  # fmt: skip
    """Bring the pipeline up, upload, wait, report; 0 only if every upload got exactly one result."""
    config = config or PipelineConfig()
    samples = folder_samples(images) if images else demo_samples()
    output.mkdir(parents=True, exist_ok=True)
    print(f"starting the local pipeline (moto server, {workers} worker(s)); worker log: {output / 'worker.log'}")
    with LocalPipeline(config, workers=workers, worker_log=output / "worker.log") as pipeline:
        resources = pipeline.resources
        s3, sqs = client("s3", resources.endpoint), client("sqs", resources.endpoint)
        rows = [Received(sample, result_key_for(config, resources.input_bucket, sample.key)) for sample in samples]
        print(f"uploading {len(samples)} images to s3://{resources.input_bucket}/ at {resources.endpoint}")
        started = time.monotonic()
        for sample in samples:
            s3.put_object(Bucket=resources.input_bucket, Key=sample.key, Body=sample.data)
        wait_for_results(s3, resources.results_bucket, rows, started, WAIT_BASE_S + WAIT_PER_IMAGE_S * len(samples))
        listed = len(result_keys(s3, resources.results_bucket, config.results_prefix))
        left = {
            "queue": queue_depth(sqs, resources.queue_url),
            "dlq": queue_depth(sqs, resources.dead_letter_queue_url),
        }
    print(table(rows))
    annotated = [
        r.sample.key for r in rows if r.document and annotate(r.sample, r.document, output / f"{r.sample.key}.png")
    ]
    print(f"\nannotated images: {len(annotated)} PNGs under {output}/")
    missing = [r.sample.key for r in rows if r.document is None]
    ok = not missing and listed == len(samples)
    print(
        f"{len(samples) - len(missing)}/{len(samples)} uploads have their result ({listed} result objects); "
        f"left in queue: {left['queue']}, in dead-letter queue: {left['dlq']}"
    )
    print("OK: every upload got exactly one result" if ok else f"FAILED: no result for {missing}")
    return 0 if ok else 1
