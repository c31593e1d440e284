"""Hostile and unlucky messages through the audience stage's real handlers, on moto, with the invariants checked.

    python -m bench.hostile_frames [--messages 5000] [--displays 1000] [--seed 28] [--json FILE]

Hypothesis generates batches of FIFO messages (a fixed seed, so a run repeats): good frames from
a few cameras, with children, faces too small to classify, crowds, NaN and huge numbers, capture
times in the future, in year 1 or missing, camera ids with ``/``, spaces, unicode or 200
characters, and bodies that are not JSON, not objects or SNS envelopes around junk. After every
message the invariants must hold:

- the batch never reports a failure (no hostile message can fail another, nor its own camera);
- every message is counted: ``Frames`` + ``FramesSkipped`` in the metrics equals the messages sent;
- no targeted creative while the camera's newest frame holds a face that may be a minor (an unknown
  age, an age group or age range under 18) or more faces than the stage follows;
- every audience record lies under ``audience/camera=<valid id>/date=<yyyy-mm-dd>/`` and is strict JSON;
- with the rules document deleted, the next frame sets every display back to the default.

It also times one frame with ``--displays`` displays configured in each of ``DISPLAY_LAYOUTS``:
each watching its own camera, all watching the camera that sends, and all watching it each with a
camera of its own (as many camera sets as displays: the case that sharing decisions does not help).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from agegender.frame_message import MAX_FACES, NotAFrameError, parse_frame
from audience.rules import MINOR_AGE, RULES_EXAMPLE
from bench import add_json_option, report

REGION = "us-east-1"
CAMERAS = ("door-2", "lobby", "till-1")
CAPTURE_START = 1_795_780_800.0  # 2026-11-27T12:00:00Z
RECORD_KEY = re.compile(r"audience/camera=[A-Za-z0-9._-]{1,128}/date=\d{4}-\d{2}-\d{2}/(track|minute)-[^/]+\.json")
ENV = {
    "STATE_TABLE": "state",
    "RESULTS_BUCKET": "results",
    "RULES_BUCKET": "results",
    "RULES_KEY": "config/display-rules.json",
    "AGE_GROUP_NAMES": "child,teen,adult,senior",
    "MINOR_AGE_GROUPS": "child,teen",
    "POWERTOOLS_SERVICE_NAME": "hostile",
}
DISPLAYS: dict[str, dict[str, list[str]]] = {f"display-{c}": {"Cameras": [c]} for c in CAMERAS} | {
    "both": {"Cameras": ["door-2", "lobby"]}
}
RULES: dict[str, Any] = {
    **RULES_EXAMPLE,
    "MinimumConfidence": 60,
    "Displays": DISPLAYS,
}


class Context:
    """The attributes of Lambda's context that Powertools reads."""

    function_name, memory_limit_in_mb, aws_request_id = "audience", 256, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:audience"


# -- what hypothesis draws --------------------------------------------------------------------------------
NUMBERS = st.one_of(
    st.floats(0, 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12),
    st.sampled_from([1e308, -1e308, 0, None, "0.5", True]),
)
AGES = st.one_of(st.floats(0, 90), st.sampled_from([float("nan"), float("inf"), -5.0, 1e308, None, "7"]))


@st.composite
def faces(draw: st.DrawFn) -> dict[str, Any]:
    """A face as the inference function writes it, or bent out of shape."""
    if draw(st.integers(0, 9)) == 9:
        return {"BoundingBox": {k: draw(NUMBERS) for k in ("Left", "Top", "Width", "Height")}, "Age": draw(AGES)}
    age = draw(AGES)
    classified = draw(st.sampled_from([True, True, True, False, "yes"]))
    low = age - draw(st.floats(0, 12)) if isinstance(age, float) and math.isfinite(age) else draw(AGES)
    return {
        "BoundingBox": {"Left": draw(st.floats(0, 0.9)), "Top": draw(st.floats(0, 0.8)),
                        "Width": draw(st.floats(0.02, 0.2)), "Height": draw(st.floats(0.03, 0.25))},
        "Classified": classified,
        "Gender": draw(st.sampled_from(["Female", "Male", None, 7])),
        "GenderConfidence": draw(st.one_of(st.floats(50, 100), NUMBERS)),
        "Age": age,
        "AgeRange": {"Low": low, "High": 90},
        "AgeGroup": draw(st.sampled_from(["child", "teen", "adult", "senior", None, "x" * 300])),
        "Attention": draw(st.sampled_from([True, True, False, "true"])),
    }  # fmt: skip


CAMERA_IDS = st.one_of(
    st.sampled_from(CAMERAS),
    st.sampled_from(["a/b", "lobby cam", "caméra", "<script>", "c" * 200, "", "..", "x:y"]),
    st.integers(),
    st.none(),
)
CAPTURE_TIMES = st.one_of(
    st.floats(0, 600).map(lambda s: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(CAPTURE_START + s)) + "Z"),
    st.sampled_from(["2099-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z", "soon",
                     "2026-11-27T12:00:00", "", 1795780800]),
    st.none(),
)  # fmt: skip


@st.composite
def summaries(draw: st.DrawFn) -> dict[str, Any]:
    """A frame summary: mostly good, from the known cameras, at a plausible capture time."""
    good = draw(st.integers(0, 5)) < 5
    camera = draw(st.sampled_from(CAMERAS)) if good else draw(CAMERA_IDS)
    moment = draw(CAPTURE_TIMES.filter(lambda t: isinstance(t, str) and t.startswith("2026"))) if good else (
        draw(CAPTURE_TIMES))  # fmt: skip
    face_list = draw(st.lists(faces(), max_size=6))
    if draw(st.integers(0, 30)) == 30:
        face_list = face_list * 12  # a crowd: more faces than the stage follows
    message: dict[str, Any] = {
        "FrameId": draw(st.one_of(st.text(max_size=12), st.none(), st.integers())),
        "Camera": {"Id": camera, "CapturedAt": moment},
        "Source": {"Key": f"cameras/{camera}/x.jpg"},
        "Faces": face_list,
        "Error": "InvalidImageFormat" if draw(st.integers(0, 9)) == 9 else None,
    }
    if draw(st.integers(0, 20)) == 20:
        message["Faces"] = draw(st.sampled_from([{"a": 1}, "faces", 3]))
    return message


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """One FIFO message body: a summary, or junk."""
    kind = draw(st.integers(0, 14))
    if kind == 12:
        return draw(st.text(max_size=40))
    if kind == 13:
        return json.dumps(draw(st.one_of(st.lists(st.integers(), max_size=3), st.integers(), st.none())))
    if kind == 14:
        return json.dumps(
            {
                "Type": "Notification",
                "TopicArn": "t",
                "Message": draw(st.one_of(st.text(max_size=20), summaries().map(json.dumps))),
            }
        )
    return json.dumps(draw(summaries()))


# -- the run -------------------------------------------------------------------------------------------------
def _metric_sums(printed: str) -> dict[str, float]:
    """Sum every metric in the EMF lines Powertools printed."""
    sums: dict[str, float] = {}
    for line in printed.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob = json.loads(line)
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = blob[metric["Name"]]
                sums[metric["Name"]] = sums.get(metric["Name"], 0) + (sum(value) if isinstance(value, list) else value)
    return sums


def _may_be_minor(face: Any) -> bool:
    """The guardrail's view of one raw face: anything short of a clear adult counts."""
    try:
        age, low = float(face.age), float(face.age_low if face.age_low is not None else face.age)
    except (TypeError, ValueError):
        return True
    groups = {"child", "teen"}
    return not (face.classified and math.isfinite(age) and age >= MINOR_AGE and low >= MINOR_AGE
                and face.age_group not in groups)  # fmt: skip


@contextlib.contextmanager
def _aws() -> Iterator[dict[str, Any]]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        clients = {name: boto3.client(name, region_name=REGION) for name in ("s3", "dynamodb", "sns")}
        clients["s3"].create_bucket(Bucket="results")
        clients["dynamodb"].create_table(
            TableName="state",
            KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        clients["topic"] = clients["sns"].create_topic(Name="decisions")["TopicArn"]
        yield clients


class Harness:
    """The stage's handlers on moto, the messages sent so far, and the invariant checks."""

    def __init__(self, clients: dict[str, Any]) -> None:
        from audience.function import AudienceSettings, build_stage, create_handlers

        self.clients = clients
        clients["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=json.dumps(RULES).encode())
        self.settings = AudienceSettings.from_env({**ENV, "DECISIONS_TOPIC_ARN": clients["topic"]})
        self.stage = build_stage(self.settings, s3=clients["s3"], dynamodb=clients["dynamodb"], sns=clients["sns"])
        self.logs = io.StringIO()  # Powertools' logger writes to the stream it was built with: keep it here
        with contextlib.redirect_stdout(self.logs):
            self.handlers = create_handlers(self.stage, self.settings)
        self.sent = 0
        self.counted: dict[str, float] = {}
        self.newest: dict[str, float] = {}
        self.violations: list[str] = []

    def send(self, batch: list[str]) -> None:
        """One FIFO batch (each message in its camera's group) through the handler, then every check."""
        records = [
            {"messageId": f"{self.sent + i}", "receiptHandle": "r", "body": body, "messageAttributes": {},
             "attributes": {"MessageGroupId": "g"}, "md5OfBody": "", "eventSource": "aws:sqs",
             "eventSourceARN": "arn:aws:sqs:::q", "awsRegion": REGION}
            for i, body in enumerate(batch)
        ]  # fmt: skip
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            response = self.handlers["frames"]({"Records": records}, Context())
        self.sent += len(batch)
        for name, value in _metric_sums(printed.getvalue()).items():
            self.counted[name] = self.counted.get(name, 0) + value
        if response["batchItemFailures"]:
            self.violations.append(f"failed messages: {response['batchItemFailures']}")
        if self.counted.get("Frames", 0) + self.counted.get("FramesSkipped", 0) != self.sent:
            self.violations.append(f"{self.sent} messages sent, {self.counted} counted")
        for body in batch:
            self._check_guardrail(body)

    def _check_guardrail(self, body: str) -> None:
        try:
            frame = parse_frame(body)
        except NotAFrameError:
            return
        if frame.captured_at < self.newest.get(frame.camera, -math.inf) or frame.camera not in CAMERAS:
            return  # not the camera's newest frame: a later one decides
        self.newest[frame.camera] = frame.captured_at
        if not (frame.faces_dropped or any(_may_be_minor(f) for f in frame.faces)):
            return
        for display, spec in DISPLAYS.items():
            decision = self.stage.current_decision(display) if frame.camera in spec["Cameras"] else None
            if decision and decision["Creative"] != RULES["Default"]:
                self.violations.append(f"{display} plays {decision['Creative']} after a possible minor in {body[:200]}")

    def check_records(self) -> int:
        """Every record key in its partition and every record strict JSON; returns how many."""
        s3, count = self.clients["s3"], 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="results", Prefix="audience/"):
            for item in page.get("Contents", []):
                count += 1
                if not RECORD_KEY.fullmatch(item["Key"]):
                    self.violations.append(f"record outside its partition: {item['Key'][:200]}")
                text = s3.get_object(Bucket="results", Key=item["Key"])["Body"].read().decode()
                try:
                    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
                except ValueError:
                    self.violations.append(f"not strict JSON: {item['Key']}")
        return count

    def check_rules_gone(self) -> None:
        """Delete the rules document: the next frame of each camera sets its displays to the default."""
        self.clients["s3"].delete_object(Bucket="results", Key=ENV["RULES_KEY"])
        self.stage.rules._checked = -math.inf
        end = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(CAPTURE_START + 3600)) + "Z"
        self.send([json.dumps({"Camera": {"Id": c, "CapturedAt": end}, "Faces": []}) for c in CAMERAS])
        for display in DISPLAYS:
            decision = self.stage.current_decision(display)
            if decision and decision["Creative"] != RULES["Default"]:
                self.violations.append(f"{display} kept {decision['Creative']} without rules")


def run_messages(messages: int, rng_seed: int) -> dict[str, Any]:
    """Send about ``messages`` generated messages in batches of 1-10; return the counts and any violation."""
    started = time.perf_counter()
    with _aws() as clients:
        harness = Harness(clients)

        def batches(chunk: int) -> None:
            @seed(rng_seed + chunk)
            @settings(max_examples=100, database=None, deadline=None, suppress_health_check=list(HealthCheck))
            @given(st.lists(bodies(), min_size=1, max_size=10))
            def one_batch(batch: list[str]) -> None:
                harness.send(batch)

            one_batch()

        chunk = 0
        while harness.sent < messages:
            batches(chunk)
            chunk += 1
        records = harness.check_records()
        harness.check_rules_gone()
    return {
        "messages": harness.sent,
        "frames_taken_in": int(harness.counted.get("Frames", 0)),
        "skipped": {
            k.split(".", 1)[1]: int(v) for k, v in sorted(harness.counted.items()) if k.startswith("FramesSkipped.")
        },
        "records": records,
        "violations": harness.violations[:20],
        "violation_count": len(harness.violations),
        "seconds": round(time.perf_counter() - started, 1),
    }


#: How the timed displays watch cameras; the frame always comes from ``cam-0``.
DISPLAY_LAYOUTS: dict[str, Callable[[int], list[str]]] = {
    "own-camera": lambda i: [f"cam-{i}"],  # one display follows the frame's camera
    "same-camera": lambda i: ["cam-0"],  # all of them: one camera set, one decision
    "same-camera-plus-own": lambda i: ["cam-0", f"other-{i}"],  # all of them, each in its own camera set
}


def time_displays(displays: int, repeats: int = 5) -> dict[str, Any]:
    """Seconds to take in one frame from ``cam-0`` with ``displays`` displays configured (``DISPLAY_LAYOUTS``),
    every decision changing each frame and each change published to SNS.
    """
    from audience.function import AudienceSettings, build_stage

    results = {}
    for layout, cameras in DISPLAY_LAYOUTS.items():
        with _aws() as clients:
            rules = {**RULES, "Displays": {f"d-{i}": {"Cameras": cameras(i)} for i in range(displays)}}
            clients["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=json.dumps(rules).encode())
            stage_settings = AudienceSettings.from_env({**ENV, "DECISIONS_TOPIC_ARN": clients["topic"]})
            stage = build_stage(stage_settings, s3=clients["s3"], dynamodb=clients["dynamodb"], sns=clients["sns"])
            seconds, changes = [], []
            for t in range(repeats + 1):
                moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(CAPTURE_START + t)) + "Z"
                age = 8.0 if t % 2 else 35.0  # a child comes and goes: every decision changes each frame
                face = {"BoundingBox": {"Left": 0.4, "Top": 0.3, "Width": 0.1, "Height": 0.12}, "Classified": True,
                        "Gender": "Female", "GenderConfidence": 95.0, "Age": age, "AgeRange": {"Low": age - 4},
                        "AgeGroup": "adult" if age > 20 else "child", "Attention": True}  # fmt: skip
                frame = parse_frame(
                    {"FrameId": f"f{t}", "Camera": {"Id": "cam-0", "CapturedAt": moment}, "Faces": [face]}
                )
                started = time.perf_counter()
                outcome = stage.handle_frame(frame, arrived=CAPTURE_START + t)
                seconds.append(time.perf_counter() - started)
                changes.append(len(outcome.decisions))
            later = seconds[1:]
            results[layout] = {
                "median_s": round(statistics.median(later), 3),
                "max_s": round(max(later), 3),
                "first_s": round(seconds[0], 3),
                "decision_changes_per_frame": max(changes[1:]),
            }
    return {"displays": displays, **results}


def main(argv: list[str] | None = None) -> int:
    """Run the generated messages and the timing; print and write the JSON report."""
    parser = argparse.ArgumentParser(prog="python -m bench.hostile_frames", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--displays", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=28)
    add_json_option(parser, "hostile_frames")
    args = parser.parse_args(argv)
    result = {"max_faces_per_frame": MAX_FACES, **run_messages(args.messages, args.seed)}
    result["frame_cost"] = time_displays(args.displays)
    return report(result, "hostile_frames", argv, args.json)


if __name__ == "__main__":
    sys.exit(main())
