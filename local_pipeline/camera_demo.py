"""``agegender displays demo``: a camera sequence through the whole local pipeline, decisions as they change.

The sequence (one frame a second of capture time, ``cameras/<camera>/<time>.jpg`` keys): an empty
brick wall; the public-domain astronaut walks in facing the camera, turns away (her head narrowed
as a turned head looks), looks again; with UTKFace present, a man crosses behind her and a child
joins (the guardrail must stop targeting at once); everyone leaves. The rules document names one
display watching the camera. Printed: each decision change, the finished tracks and the
per-minute counts, and whether the guardrail held.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from audience.camera import CameraSettings
from audience.rules import RULES_EXAMPLE
from infra.config import PipelineConfig
from local_pipeline.aws import client, queue_depth, running
from local_pipeline.displays import audience_report, current_decision, put_rules
from local_pipeline.embedded import LocalPipeline
from local_pipeline.samples import HEAD_BOX, fetch_sources

CAMERA, DISPLAY = "door-2", "lobby-1"
FRAME_SIZE = (960, 540)
SECONDS = 44
#: Horizontal squeeze that makes the portrait read as a head turned about 35 degrees (bench: pose of a narrowed face).
TURNED = 0.45


@dataclass(frozen=True)
class Person:
    """Someone in the sequence: a face image, when they are in view, where, and when they look away."""

    name: str
    face: Image.Image
    enters: int
    leaves: int
    x0: float  # centre x at ``enters`` (ratio of the frame width)
    dx: float  # per second
    y: float
    height: int  # face image height in pixels
    turned: tuple[int, ...] = ()


#: Two UTKFace faces of its test split (``training.dataset.split_of``), so no shipped model trained on them:
#: a man of 40 and a girl of 5, named in the archive as UTKFace names its files.
UTKFACE_CAST = {
    "man (UTKFace)": "40_0_3_20170117125801143.jpg.chip.jpg",
    "child (UTKFace)": "5_1_0_20161219153649716.jpg.chip.jpg",
}


def utkface_faces(data: Path, names: list[str]) -> dict[str, Image.Image]:
    """The named faces from UTKFace's archive (a ``.tar.gz``, or a folder holding one); those absent are left out."""
    archives = [data] if data.is_file() else sorted(data.glob("*.tar.gz")) if data.is_dir() else []
    faces = {}
    for archive in archives[:1]:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                handle = tar.extractfile(member) if member.isfile() and base in names else None
                if handle is not None:
                    faces[base] = Image.open(io.BytesIO(handle.read())).convert("RGB")
    return faces


def cast(data: Path) -> list[Person]:
    """The people of the sequence (the UTKFace ones only where the archive is present)."""
    astronaut = Image.open(fetch_sources()["astronaut.png"]).convert("RGB").crop(HEAD_BOX)
    people = [Person("astronaut", astronaut, 3, 33, 0.25, 0.012, 0.45, 200, turned=tuple(range(15, 20)))]
    faces = utkface_faces(data, list(UTKFACE_CAST.values()))
    if (man := faces.get(UTKFACE_CAST["man (UTKFace)"])) is not None:
        people.append(Person("man (UTKFace)", man, 8, 18, 0.85, -0.03, 0.40, 150))
    if (child := faces.get(UTKFACE_CAST["child (UTKFace)"])) is not None:
        people.append(Person("child (UTKFace)", child, 25, 30, 0.78, 0.0, 0.55, 130))
    return people


def render(second: int, people: list[Person], wall: Image.Image) -> Image.Image:
    """The frame at ``second``."""
    frame = wall.copy()
    for person in people:
        if not person.enters <= second <= person.leaves:
            continue
        width = round(person.face.width * person.height / person.face.height)
        if second in person.turned:
            width = round(width * TURNED)
        face = person.face.resize((width, person.height), Image.Resampling.LANCZOS)
        cx = (person.x0 + person.dx * (second - person.enters)) * FRAME_SIZE[0]
        frame.paste(face, (round(cx - width / 2), round(person.y * FRAME_SIZE[1] - person.height / 2)))
    return frame


def frame_key(moment: datetime) -> str:
    """The key a camera uploads a frame under (the capture time in it)."""
    return f"cameras/{CAMERA}/{moment:%Y-%m-%dT%H-%M-%S}.{moment.microsecond // 1000:03d}Z.jpg"


def decision_queue(resources: Any) -> str:
    """A queue subscribed to the decisions topic for this display only (what a display's subscription would be)."""
    sns, sqs = client("sns", resources.endpoint), client("sqs", resources.endpoint)
    url = sqs.create_queue(QueueName=f"display-{DISPLAY}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    only_this_display = json.dumps({"display_id": [DISPLAY]})
    attributes = {"RawMessageDelivery": "true", "FilterPolicy": only_this_display}
    sns.subscribe(TopicArn=resources.decisions_topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message waiting in a queue, deleted as read, with its arrival time."""
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            arrived = int(message["Attributes"]["SentTimestamp"]) / 1000
            found.append({**json.loads(message["Body"]), "ArrivedAt": arrived})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def playing(timeline: list[tuple[float, str]], second: float) -> str | None:
    """The creative playing once the frame of ``second`` was taken in (the last change at or before it)."""
    started = [creative for at, creative in sorted(timeline, key=lambda c: c[0]) if at <= second]
    return started[-1] if started else None


def run_camera_demo(
    *,
    data: Path,
    config: PipelineConfig | None = None,
    output: Path = Path("demo-output"),
    endpoint_url: str | None = None,
) -> int:
    """Play the sequence into its own local pipeline, or into the one running at ``endpoint_url`` (to watch it
    in that pipeline's console); 0 when every frame was taken in and the guardrail held.
    """
    config = config or PipelineConfig()
    people = cast(data)
    wall = Image.open(fetch_sources()["brick.png"]).convert("RGB").resize(FRAME_SIZE)
    # Capture times two minutes ago, so every minute of the sequence has closed when the sweep runs.
    start = datetime.fromtimestamp((int(time.time()) // 60 - 2) * 60, UTC)
    output.mkdir(parents=True, exist_ok=True)
    print(f"cast: {', '.join(p.name for p in people)}; {SECONDS} frames of camera {CAMERA} for display {DISPLAY}")
    pipeline = nullcontext(None) if endpoint_url else LocalPipeline(config, worker_log=output / "worker.log")
    with pipeline as started:
        resources = started.resources if started else running(config, endpoint_url or "")
        audience_queue, table = resources.audience_queue_url, resources.state_table
        audience_dlq = resources.audience_dead_letter_queue_url
        if not (audience_queue and table and audience_dlq):
            raise ValueError("the audience stage is off (audience_stage: false in the configuration)")
        s3, sqs = client("s3", resources.endpoint), client("sqs", resources.endpoint)
        # A lower confidence bar than the example's 80, so the classifier's 60-80% faces count and the guardrail
        # has a targeted creative to stop when the child comes.
        rules = json.dumps(RULES_EXAMPLE | {"Displays": {DISPLAY: {"Cameras": [CAMERA]}}, "MinimumConfidence": 60})
        version = put_rules(s3, resources.results_bucket, config.rules_key, rules)
        print(f"rules version {version} at s3://{resources.results_bucket}/{config.rules_key}")
        decisions_url = decision_queue(resources)
        uploaded: dict[str, float] = {}
        for second in range(SECONDS):
            moment = start.fromtimestamp(start.timestamp() + second, UTC)
            buffer = io.BytesIO()
            render(second, people, wall).save(buffer, format="JPEG", quality=88)
            key = frame_key(moment)
            s3.put_object(Bucket=resources.input_bucket, Key=key, Body=buffer.getvalue())
            uploaded[key] = time.time()
            time.sleep(0.25)  # a camera's pace, sped up four times
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (
            queue_depth(sqs, resources.queue_url) or queue_depth(sqs, audience_queue)
        ):
            time.sleep(0.5)
        # Once the camera has been quiet for quiet_s, the local sweep (every 2 s) ends the last tracks and
        # closes the minutes: wait for the last minute's record.
        last_minute = datetime.fromtimestamp((start.timestamp() + SECONDS - 1) // 60 * 60, UTC)
        deadline = time.monotonic() + CameraSettings().quiet_s + 20
        report = audience_report(s3, resources.results_bucket, CAMERA, datetime.now(UTC) - start)
        while time.monotonic() < deadline and not any(
            m["minute"].startswith(f"{last_minute:%Y-%m-%dT%H:%M}") for m in report.minutes
        ):
            time.sleep(1)
            report = audience_report(s3, resources.results_bucket, CAMERA, datetime.now(UTC) - start)
        events = drain(sqs, decisions_url)
        final = current_decision(
            s3, resources.results_bucket, config.rules_key, client("dynamodb", resources.endpoint), table, DISPLAY
        )
        left = queue_depth(sqs, audience_dlq) + queue_depth(sqs, resources.dead_letter_queue_url)
    print("\ndecisions as they changed (capture second of the frame that caused each; upload -> event delay):")
    timeline: list[tuple[float, str]] = []  # (capture second, creative) of each change
    for event in events:
        cause = event.get("Cause", {})
        at: float | None = cause["CapturedAt"] - start.timestamp() if "CapturedAt" in cause else None
        delay = event["ArrivedAt"] - uploaded[cause["UploadedKey"]] if cause.get("UploadedKey") in uploaded else None
        when = f"t={at:4.0f} s" if at is not None else "sweep   "
        lag = f"{delay:5.2f} s" if delay is not None else "   -  "
        print(
            f"  {when}  {lag}  {event['Creative']:<14} reason={event['Reason']:<14} faces present "
            f"{event['FacesPresent']}, counted {event['FacesCounted']}"
        )
        timeline.append((at if at is not None else float("inf"), event["Creative"]))
    child = next((p for p in people if p.name.startswith("child")), None)
    guardrail_ok = child is None or all(
        playing(timeline, s) == RULES_EXAMPLE["Default"] for s in range(child.enters, child.leaves + 1)
    )
    print("\n" + report.table())
    print(f"\ncurrent decision of {DISPLAY}: {json.dumps(final)}")
    print(f"messages in dead-letter queues: {left}")
    if child:
        print(
            "guardrail held: no targeted creative while the child was present"
            if guardrail_ok
            else "GUARDRAIL BROKEN: a targeted creative played while the child was present"
        )
    ok = guardrail_ok and left == 0 and report.opportunities_to_see > 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1
