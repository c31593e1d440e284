"""Decision latency on the local pipeline: upload of a camera frame -> the display's decision event.

    python -m bench.display_latency [--cameras 10] [--seconds 60] [--workers 2] [--json FILE]

Each camera uploads one 640x360 frame a second in real time (all cameras in step, as live
cameras would); a person (the public-domain portrait, or nobody) comes and goes every few
seconds, so each camera's display changes its creative again and again. Each display has a
queue subscribed to the decisions topic with a filter on its id, as a display would. The
latency of a decision change is the time from the upload of the frame that caused it to the
event's arrival in that queue (SQS ``SentTimestamp``). Reports p50/p95/max, the number of
changes, and whether every frame was taken in (no message left in any queue).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from datetime import UTC, datetime

import numpy as np
from PIL import Image

from audience.rules import RULES_EXAMPLE
from bench import REPO_ROOT, add_json_option, report
from infra.config import PipelineConfig
from local_pipeline.aws import client, queue_depth
from local_pipeline.displays import put_rules
from local_pipeline.embedded import LocalPipeline

FRAME = (640, 360)
PORTRAIT = REPO_ROOT / "tests" / "data" / "astronaut_head.jpg"


def frame_bytes(present: bool, x: int) -> bytes:
    """A plain frame, with the portrait at ``x`` when someone is present."""
    frame = Image.new("RGB", FRAME, (96, 104, 110))
    if present:
        frame.paste(Image.open(PORTRAIT).convert("RGB"), (x, 90))
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def display_queue(sns: object, sqs: object, topic: str, display: str) -> str:
    """A queue subscribed to one display's decisions."""
    url = sqs.create_queue(QueueName=f"bench-{display}")["QueueUrl"]  # type: ignore[attr-defined]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]  # type: ignore[attr-defined]
    attributes = {"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"display_id": [display]})}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)  # type: ignore[attr-defined]
    return url


def run(cameras: int, seconds: int, workers: int, seed: int) -> dict[str, object]:
    """Play the cameras in real time; return the latency figures."""
    rng = random.Random(seed)
    config = PipelineConfig()
    names = [f"cam-{i:02d}" for i in range(cameras)]
    displays = {f"display-{i:02d}": [name] for i, name in enumerate(names)}
    # Someone present for 4-8 s, then nobody for 4-8 s, per camera (a change every few seconds).
    schedules: dict[str, list[tuple[int, bool]]] = {}
    for name in names:
        present, t = rng.random() < 0.5, 0
        flips: list[tuple[int, bool]] = []
        while t < seconds:
            flips.append((t, present))
            t += rng.randint(4, 8)
            present = not present
        schedules[name] = flips
    with LocalPipeline(config, workers=workers) as pipeline:
        resources = pipeline.resources
        topic, audience_queue = resources.decisions_topic_arn, resources.audience_queue_url
        if not (topic and audience_queue):
            raise ValueError("the audience stage is off")
        s3, sqs, sns = (client(s, resources.endpoint) for s in ("s3", "sqs", "sns"))
        rules = RULES_EXAMPLE | {
            "Displays": {d: {"Cameras": c} for d, c in displays.items()},
            "MinimumPlaySeconds": 0,
            "MinimumConfidence": 50,
        }
        put_rules(s3, resources.results_bucket, config.rules_key, json.dumps(rules))
        queues = {d: display_queue(sns, sqs, topic, d) for d in displays}
        uploaded: dict[str, float] = {}
        start = time.time()
        for second in range(seconds):
            moment = datetime.fromtimestamp(start + second, UTC)
            for name in names:
                present = [p for t, p in schedules[name] if t <= second][-1]
                key = f"cameras/{name}/{moment:%Y-%m-%dT%H-%M-%S}.000Z.jpg"
                s3.put_object(Bucket=resources.input_bucket, Key=key, Body=frame_bytes(present, 100 + 4 * second))
                uploaded[key] = time.time()
            time.sleep(max(0.0, start + second + 1 - time.time()))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            queue_depth(sqs, resources.queue_url) or queue_depth(sqs, audience_queue)
        ):
            time.sleep(0.5)
        latencies = []
        for url in queues.values():
            while messages := sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["SentTimestamp"]
            ).get("Messages", []):
                for message in messages:
                    cause = json.loads(message["Body"]).get("Cause", {})
                    if cause.get("UploadedKey") in uploaded:
                        arrived = int(message["Attributes"]["SentTimestamp"]) / 1000
                        latencies.append(arrived - uploaded[cause["UploadedKey"]])
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        left = sum(
            queue_depth(sqs, u)
            for u in (
                resources.queue_url,
                resources.audience_queue_url or "",
                resources.dead_letter_queue_url,
                resources.audience_dead_letter_queue_url or "",
            )
        )
    values = np.array(latencies)
    return {
        "cameras": cameras,
        "seconds": seconds,
        "frames": len(uploaded),
        "inference_workers": workers,
        "decision_changes": len(values),
        "latency_s": {
            "p50": round(float(np.percentile(values, 50)), 3),
            "p95": round(float(np.percentile(values, 95)), 3),
            "max": round(float(values.max()), 3),
        }
        if len(values)
        else None,
        "messages_left_in_queues": left,
    }


def main(argv: list[str] | None = None) -> int:
    """Run and print (and write) the JSON report."""
    parser = argparse.ArgumentParser(prog="python -m bench.display_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2, help="inference worker processes")
    parser.add_argument("--seed", type=int, default=3)
    add_json_option(parser, "display_latency")
    args = parser.parse_args(argv)
    return report(run(args.cameras, args.seconds, args.workers, args.seed), "display_latency", argv, args.json)


if __name__ == "__main__":
    sys.exit(main())
