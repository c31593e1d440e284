"""Camera frames through the local pipeline's two functions: results with Camera, Pose and Attention, then
tracks, a display decision and audience records from the audience stage.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from PIL import Image

from audience.rules import RULES_EXAMPLE
from local_pipeline.aws import client, queue_depth, result_keys
from local_pipeline.displays import audience_report, current_decision, put_rules
from local_pipeline.embedded import LocalPipeline
from tests.functional.test_local_pipeline import FAST, wait_until

CAMERA, DISPLAY = "door-2", "lobby-1"


def frames(portrait: Image.Image, start: datetime, count: int) -> list[tuple[str, bytes]]:
    """``count`` frames a second apart, the portrait walking right; keys carry the capture time."""
    uploads = []
    for second in range(count):
        frame = Image.new("RGB", (640, 360), (96, 104, 110))
        frame.paste(portrait, (60 + 12 * second, 90))
        buffer = io.BytesIO()
        frame.save(buffer, format="JPEG", quality=90)
        moment = datetime.fromtimestamp(start.timestamp() + second, UTC)
        uploads.append((f"cameras/{CAMERA}/{moment:%Y-%m-%dT%H-%M-%S}.000Z.jpg", buffer.getvalue()))
    return uploads


def test_camera_frames_become_tracks_decisions_and_audience_records(tmp_path, sample_portrait):
    start = datetime.fromtimestamp((int(datetime.now(UTC).timestamp()) // 60 - 2) * 60, UTC)
    uploads = frames(sample_portrait, start, 8)
    with LocalPipeline(FAST, worker_log=tmp_path / "worker.log") as pipeline:
        resources = pipeline.resources
        s3, sqs = client("s3", resources.endpoint), client("sqs", resources.endpoint)
        dynamodb = client("dynamodb", resources.endpoint)
        rules = RULES_EXAMPLE | {"Displays": {DISPLAY: {"Cameras": [CAMERA]}}, "MinimumConfidence": 50}
        put_rules(s3, resources.results_bucket, FAST.rules_key, json.dumps(rules))
        for key, data in uploads:
            s3.put_object(Bucket=resources.input_bucket, Key=key, Body=data)
        assert wait_until(lambda: len(result_keys(s3, resources.results_bucket)) == len(uploads), timeout_s=90)
        first = json.loads(
            s3.get_object(Bucket=resources.results_bucket, Key=sorted(result_keys(s3, resources.results_bucket))[0])[
                "Body"
            ].read()
        )
        assert first["Camera"] == {
            "Id": CAMERA,
            "CapturedAt": start.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "CapturedAtSource": "key",
        }
        face = first["FaceDetails"][0]
        assert set(face["Pose"]) == {"Yaw", "Pitch", "Roll"}
        assert face["Attention"] == {"Value": True}
        where = (s3, resources.results_bucket, FAST.rules_key, dynamodb, resources.state_table, DISPLAY)
        assert wait_until(lambda: current_decision(*where) is not None, 60)
        decision = current_decision(*where)
        assert decision["DisplayId"] == DISPLAY
        assert decision["RulesVersion"] == RULES_EXAMPLE["Version"]
        assert decision["FacesPresent"] == 1
        # Quiet for quiet_s (10 s), the camera is settled by the local sweep: one person, one minute record.
        report = lambda: audience_report(s3, resources.results_bucket, CAMERA, datetime.now(UTC) - start)  # noqa: E731
        assert wait_until(lambda: report().opportunities_to_see == 1 and report().minutes, timeout_s=60)
        track = report().tracks[0]
        assert track["frames"] == len(uploads)
        assert track["dwell_s"] == len(uploads) - 1
        assert report().minutes[0]["opportunities_to_see"] == 1
        assert queue_depth(sqs, resources.audience_queue_url) == 0
        assert queue_depth(sqs, resources.audience_dead_letter_queue_url) == 0
