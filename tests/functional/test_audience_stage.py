"""The audience stage end to end on moto: state in DynamoDB, records in S3, decisions on SNS."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from agegender.frame_message import parse_frame
from audience.function import AudienceSettings, build_stage, create_handlers
from audience.rules import RULES_EXAMPLE
from audience.stage import display_decisions
from audience.store import DECISION_SHARDS, DECISIONS, decision_slot
from tests.unit.test_audience_tracking import T0, face, frame
from tests.unit.test_frame_message import summary as frame_summary

REGION = "us-east-1"
ENV = {
    "STATE_TABLE": "state",
    "RESULTS_BUCKET": "results",
    "RULES_BUCKET": "results",
    "RULES_KEY": "config/display-rules.json",
    "REORDER_WINDOW_S": "2",
    "AGE_GROUP_NAMES": "child,teen,adult,senior",
    "MINOR_AGE_GROUPS": "child,teen",
}


@pytest.fixture
def aws():
    with mock_aws():
        clients = {name: boto3.client(name, region_name=REGION) for name in ("s3", "dynamodb", "sns", "sqs")}
        clients["s3"].create_bucket(Bucket="results")
        clients["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=json.dumps(RULES_EXAMPLE).encode())
        clients["dynamodb"].create_table(
            TableName="state",
            KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        topic = clients["sns"].create_topic(Name="decisions")["TopicArn"]
        queue = clients["sqs"].create_queue(QueueName="lobby-1")["QueueUrl"]
        arn = clients["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        clients["sns"].subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"display_id": ["lobby-1"]})},
        )
        clients["env"] = {**ENV, "DECISIONS_TOPIC_ARN": topic}
        clients["decisions_queue"] = queue
        yield clients


class Context:
    function_name, memory_limit_in_mb, aws_request_id = "audience", 256, "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:audience"


def stage_of(aws):
    settings = AudienceSettings.from_env(aws["env"])
    return build_stage(settings, s3=aws["s3"], dynamodb=aws["dynamodb"], sns=aws["sns"]), settings


def decisions(aws) -> list[dict]:
    messages = aws["sqs"].receive_message(QueueUrl=aws["decisions_queue"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def records(aws) -> list[str]:
    listing = aws["s3"].list_objects_v2(Bucket="results", Prefix="audience/")
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_a_woman_watching_gets_the_targeted_creative_and_a_child_stops_it(aws):
    stage, _ = stage_of(aws)
    cam = "door-2"
    for t in range(4):
        stage.handle_frame(frame(t, face(0.5), camera=cam))
    first = decisions(aws)
    assert [d["Creative"] for d in first] == ["new-season"]
    assert first[0]["Cause"]["Camera"] == cam
    assert stage.current_decision("lobby-1")["Creative"] == "new-season"
    stage.handle_frame(frame(4, face(0.5), face(0.2, age=9.0), camera=cam))  # a child appears: 1 s later
    assert [(d["Creative"], d["Reason"]) for d in decisions(aws)] == [("house-ad", "minor-present")]
    # Redelivered frames change nothing and publish nothing.
    for t in range(5):
        assert stage.handle_frame(frame(t, face(0.5), camera=cam)).duplicate
    assert decisions(aws) == []


def test_sweep_finishes_tracks_once_and_writes_their_records(aws):
    stage, _ = stage_of(aws)
    for t in range(10):
        stage.handle_frame(frame(t, face(0.5), camera="door-2"), arrived=T0 + t)
    assert records(aws) == []  # the person may still be there
    stage.sweep(T0 + 15)  # 6 s after the last frame arrived: not quiet yet
    assert records(aws) == []
    stage.sweep(T0 + 120)
    written = records(aws)
    assert len([k for k in written if "/track-" in k]) == 1
    assert len([k for k in written if "/minute-" in k]) == 1
    track = json.loads(
        aws["s3"].get_object(Bucket="results", Key=next(k for k in written if "/track-" in k))["Body"].read()
    )
    assert track["dwell_s"] == 9
    assert track["watcher"] is True
    assert stage.current_decision("lobby-1")["Creative"] == "house-ad"  # nobody left in front of the display
    stage.sweep(T0 + 180)
    assert records(aws) == written  # nothing twice


def test_handlers_take_fifo_batches_and_answer_the_display_endpoint(aws):
    stage, settings = stage_of(aws)
    handlers = create_handlers(stage, settings)
    summary = frame_summary()
    not_a_frame = {"Camera": None, "Source": {"Key": "uploads/a.jpg"}, "Faces": []}
    records = [
        {
            "messageId": str(i),
            "receiptHandle": "r",
            "body": json.dumps(body),
            "messageAttributes": {},
            "attributes": {"MessageGroupId": "door-2"},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:::q",
            "awsRegion": REGION,
        }
        for i, body in enumerate([summary, not_a_frame])
    ]
    event = {"Records": records}
    assert handlers["frames"](event, Context()) == {"batchItemFailures": []}
    ok = handlers["decision"]({"rawPath": "/displays/lobby-1", "requestContext": {"http": {"method": "GET"}}}, None)
    assert ok["statusCode"] == 200
    assert json.loads(ok["body"])["Creative"] == "new-season"
    missing = handlers["decision"]({"rawPath": "/displays/other", "requestContext": {"http": {"method": "GET"}}}, None)
    assert missing["statusCode"] == 404


def test_a_broken_rules_edit_keeps_the_last_good_version(aws):
    stage, _ = stage_of(aws)
    assert stage.rules.get().version == "2026-11-27.1"
    aws["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=b'{"Version": ""}')
    stage.rules._checked = -1e18  # the cache's time is up
    assert stage.rules.get().version == "2026-11-27.1"


def test_settings_name_every_problem():
    with pytest.raises(ValueError, match=r"STATE_TABLE is required.*REORDER_WINDOW_S"):
        AudienceSettings.from_env({"RESULTS_BUCKET": "r", "RULES_BUCKET": "r", "REORDER_WINDOW_S": "-1"})


def _fifo_record(i: int, body: str, group: str) -> dict:
    return {
        "messageId": str(i),
        "receiptHandle": "r",
        "body": body,
        "messageAttributes": {},
        "attributes": {"MessageGroupId": group},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:::q",
        "awsRegion": REGION,
    }


def _summary(camera: str, second: int, age: float = 30.0) -> str:
    moment = f"2026-11-27T12:00:{second:02d}Z"
    face = {"BoundingBox": {"Left": 0.4, "Top": 0.3, "Width": 0.1, "Height": 0.12}, "Classified": True,
            "Gender": "Female", "GenderConfidence": 96.0, "Age": age, "AgeRange": {"Low": age - 5, "High": age + 5},
            "AgeGroup": "adult" if age >= 20 else "child", "Attention": True}  # fmt: skip
    return json.dumps({"FrameId": f"{camera}-{second}", "Camera": {"Id": camera, "CapturedAt": moment},
                       "Source": {"Key": f"cameras/{camera}/{second}.jpg"}, "Faces": [face]})  # fmt: skip


def test_the_rules_document_going_away_sets_the_default_at_once(aws):
    stage, _ = stage_of(aws)
    for t in range(3):
        stage.handle_frame(frame(t, face(0.5), camera="door-2"))
    assert stage.current_decision("lobby-1")["Creative"] == "new-season"
    aws["s3"].delete_object(Bucket="results", Key=ENV["RULES_KEY"])  # e.g. a lifecycle rule expired it
    stage.rules._checked = -1e18
    outcome = stage.handle_frame(frame(3, face(0.5), camera="door-2"))
    assert (outcome.rules_status, stage.current_decision("lobby-1")["Reason"]) == ("missing", "rules-unavailable")
    assert stage.current_decision("lobby-1")["Creative"] == "house-ad"
    # A fresh container (no rules in memory) with an unreadable document falls back the same way.
    aws["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=json.dumps(RULES_EXAMPLE).encode("utf-16"))
    fresh, _ = stage_of(aws)
    assert fresh.rules.get().unavailable == "invalid"
    assert fresh.rules.get().default == "house-ad"


def test_a_future_dated_frame_is_skipped_and_holds_nothing_back(aws):
    stage, settings = stage_of(aws)
    handlers = create_handlers(stage, settings)
    future = _summary("skew-cam", 0).replace("2026-11-27T12:00:00Z", "2099-01-01T00:00:00Z")
    later = [_summary("skew-cam", s) for s in range(1, 4)]
    event = {"Records": [_fifo_record(i, b, "skew-cam") for i, b in enumerate([future, *later])]}
    assert handlers["frames"](event, Context()) == {"batchItemFailures": []}
    body, _ = stage.store.load("camera#skew-cam")
    assert body["late_frames"] == 0
    assert len(body["tracker"]["tracks"]) == 1


def test_a_hostile_message_fails_nothing_and_a_failing_camera_only_its_own_frames(aws, monkeypatch):
    stage, settings = stage_of(aws)
    handlers = create_handlers(stage, settings)
    real = stage.handle_frame

    def broken_for_cam_b(frame, arrived=None):
        if frame.camera == "cam-b":
            raise RuntimeError("DynamoDB is down for this camera's item")
        return real(frame, arrived)

    monkeypatch.setattr(stage, "handle_frame", broken_for_cam_b)
    bodies = [("door-2", _summary("door-2", 1)), ("x", "not json"), ("cam-b", _summary("cam-b", 1)),
              ("door-2", _summary("door-2", 2)), ("cam-b", _summary("cam-b", 2)), ("y", '{"Camera": [1]}'),
              ("door-2", _summary("door-2", 3))]  # fmt: skip
    event = {"Records": [_fifo_record(i, body, group) for i, (group, body) in enumerate(bodies)]}
    response = handlers["frames"](event, Context())
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["2", "4"]
    body, _ = stage.store.load("camera#door-2")
    assert len(body["pending"]) + len(body["recent_ids"]) == 3


def test_one_cameras_failing_sweep_does_not_stop_the_others(aws):
    stage, _ = stage_of(aws)
    for camera in ("a-cam", "b-cam", "c-cam"):
        for t in (0, 1):
            stage.handle_frame(frame(t, face(0.5), camera=camera), arrived=T0 + t)
    body, version = stage.store.load("camera#a-cam")
    stage.store.save("camera#a-cam", {**body, "tracker": "corrupt"}, version)
    outcomes = {o.camera: o for o in stage.sweep(T0 + 120)}
    assert outcomes["a-cam"].failed
    assert not outcomes["b-cam"].failed
    assert outcomes["c-cam"].tracks_finished == 1


def test_state_stays_bounded_whatever_a_frame_holds(aws):
    stage, _ = stage_of(aws)
    crowd = [
        {"BoundingBox": {"Left": (i % 100) / 100, "Top": (i // 100) / 100, "Width": 0.01, "Height": 0.012},
         "Classified": True, "Age": 30.0, "AgeGroup": "adult", "Gender": "Male", "GenderConfidence": 99.0}
        for i in range(1_000)
    ]  # fmt: skip
    for second in range(40):
        message = json.loads(_summary("crowd", second))
        message["Faces"] = crowd
        message["FaceCount"] = 10_000
        stage.handle_frame(parse_frame(json.dumps(message)), arrived=T0 + second)
    item = aws["dynamodb"].get_item(TableName="state", Key={"Id": {"S": "camera#crowd"}})["Item"]
    assert len(item["Body"]["S"]) < 200_000
    assert stage.current_decision("lobby-1") is None  # no display watches this camera


def test_late_frames_are_counted_in_the_saved_state(aws):
    stage, _ = stage_of(aws)
    for t in (0, 5, 10):
        stage.handle_frame(frame(t, face(0.5), camera="door-2"))
    assert stage.handle_frame(frame(1, face(0.5), camera="door-2")).late
    assert stage.store.load("camera#door-2")[0]["late_frames"] == 1


def test_the_decision_url_decodes_display_ids(aws):
    stage, settings = stage_of(aws)
    handlers = create_handlers(stage, settings)
    stage.handle_frame(frame(0, face(0.5), camera="door-2"))
    get = {"requestContext": {"http": {"method": "GET"}}}
    assert handlers["decision"]({**get, "rawPath": "/displays/lobby%2D1"}, None)["statusCode"] == 200
    assert handlers["decision"]({**get, "rawPath": "/displays/a%20b"}, None)["statusCode"] == 404


def test_a_frames_work_does_not_grow_with_displays_of_other_cameras(aws):
    doc = {**RULES_EXAMPLE, "Displays": {f"d-{i}": {"Cameras": [f"cam-{i}"]} for i in range(1000)}}
    aws["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=json.dumps(doc).encode())
    stage, _ = stage_of(aws)
    calls = []
    real = aws["dynamodb"]._make_api_call

    def counted(operation, params):
        calls.append(operation)
        return real(operation, params)

    aws["dynamodb"]._make_api_call = counted
    stage.handle_frame(frame(0, face(0.5), camera="cam-7"))
    # Camera state read and written, last known rules read and kept, the one decision read and written.
    assert sorted(calls) == ["BatchGetItem", "GetItem", "GetItem", "PutItem", "PutItem", "PutItem"]
    stored = aws["dynamodb"].scan(TableName="state")["Items"]
    shards = [item["Id"]["S"] for item in stored if item["Id"]["S"].startswith(DECISIONS)]
    assert shards == [decision_slot(("cam-7",))[0]]
    assert stage.current_decision("d-7")["DisplayId"] == "d-7"
    assert stage.current_decision("d-8") is None  # its camera has sent nothing yet


def test_displays_on_the_same_cameras_share_one_decision_item_and_message(aws):
    """A frame's cost follows the camera sets: 1,000 displays on one camera are one item and 20 messages."""
    displays = {f"d-{i:04d}": {"Cameras": ["door-2"]} for i in range(1000)}
    displays["lobby-1"] = {"Cameras": ["door-2"]}
    displays["corner"] = {"Cameras": ["door-2", "door-3"]}
    doc = {**RULES_EXAMPLE, "Displays": displays}
    aws["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=json.dumps(doc).encode())
    stage, _ = stage_of(aws)
    calls = []
    real = aws["sns"]._make_api_call

    def counted(operation, params):
        calls.append((operation, params))
        return real(operation, params)

    aws["sns"]._make_api_call = counted
    for t in range(4):
        stage.handle_frame(frame(t, face(0.5), camera="door-2"))
    stored = [item["Id"]["S"] for item in aws["dynamodb"].scan(TableName="state")["Items"]]
    assert sorted(i for i in stored if i.startswith(DECISIONS)) == sorted(
        {decision_slot(("door-2",))[0], decision_slot(("door-2", "door-3"))[0]}
    )
    assert stage.current_decision("d-0999")["Creative"] == stage.current_decision("lobby-1")["Creative"]
    assert stage.current_decision("corner")["Cameras"] == ["door-2", "door-3"]
    # One change (the first decision), alike for both camera sets: 1,002 displays in 21 messages of at most 50
    # ids (3 PublishBatch calls).
    published = [e for op, p in calls if op == "PublishBatch" for e in p["PublishBatchRequestEntries"]]
    arrays = [json.loads(e["MessageAttributes"]["display_id"]["StringValue"]) for e in published]
    assert max(len(a) for a in arrays) == 50
    assert len(published) == 21
    assert sorted(d for a in arrays for d in a) == sorted(displays)
    assert all("Cameras" not in json.loads(e["Message"]) for e in published)
    got = decisions(aws)  # the lobby-1 queue filters on its id inside the arrays
    assert [d["Creative"] for d in got] == ["new-season"]
    assert "lobby-1" in got[0]["DisplayIds"]


def test_a_conflict_reads_the_other_cameras_again(aws):
    """Two cameras, one display: if camera b's frame lands between our read and our write, the retry sees it."""
    doc = {**RULES_EXAMPLE, "Displays": {"lobby-1": {"Cameras": ["door-a", "door-b"]}}}
    aws["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=json.dumps(doc).encode())
    stage, _ = stage_of(aws)
    for t in range(3):
        stage.handle_frame(frame(t, face(0.5), camera="door-b"))
        stage.handle_frame(frame(t, face(0.5), camera="door-a"))
    assert stage.current_decision("lobby-1")["Creative"] == "new-season"
    real = stage.store.save_many
    other = stage_of(aws)[0]

    def camera_b_moves_first(items):
        if not getattr(camera_b_moves_first, "done", False):
            camera_b_moves_first.done = True
            other.handle_frame(frame(3, face(0.5), face(0.2, age=8.0), camera="door-b"))  # a child, at camera b
        return real(items)

    stage.store.save_many = camera_b_moves_first
    stage.handle_frame(frame(3, face(0.5), face(0.8), camera="door-a"))  # a second adult: a decision to write
    assert stage.current_decision("lobby-1")["Reason"] == "minor-present"


def count_calls(client) -> list[str]:
    """The API operations ``client`` makes from now on."""
    calls: list[str] = []
    real = client._make_api_call

    def counted(operation, params):
        calls.append(operation)
        return real(operation, params)

    client._make_api_call = counted
    return calls


def test_a_frame_writes_at_most_the_decision_shards_however_many_camera_sets(aws):
    """1,000 displays on the sending camera, each with a camera of its own: 1,000 camera sets, 64 items."""
    displays = {f"d-{i:04d}": {"Cameras": ["door-2", f"own-{i:04d}"]} for i in range(1000)}
    doc = {**RULES_EXAMPLE, "Displays": displays}
    aws["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=json.dumps(doc).encode())
    stage, _ = stage_of(aws)
    stage.handle_frame(frame(0, face(0.5), camera="door-2"))  # the rules are read and kept
    calls = count_calls(aws["dynamodb"])
    stage.handle_frame(frame(1, face(0.5), face(0.2, age=8.0), camera="door-2"))  # a child: every set changes
    assert calls.count("PutItem") == 1 + DECISION_SHARDS  # the camera, then each shard once
    stored = aws["dynamodb"].scan(TableName="state")["Items"]
    shards = [item for item in stored if item["Id"]["S"].startswith(DECISIONS)]
    assert len(shards) == DECISION_SHARDS
    assert sum(len(json.loads(item["Body"]["S"])) for item in shards) == 1000
    assert {stage.current_decision(d)["Reason"] for d in displays} == {"minor-present"}
    assert stage.current_decision("d-0042")["Cameras"] == ["door-2", "own-0042"]
    calls.clear()
    rules = stage.rules.get()
    every = display_decisions(stage.store, rules, [*displays, "not-a-display"])
    assert calls == ["BatchGetItem"]  # the console's view of 1,000 displays: each shard read once
    assert every["not-a-display"] is None
    assert every["d-0042"] == stage.current_decision("d-0042")


def same_shard_cameras() -> tuple[str, str]:
    """Two camera ids whose one-camera sets' decisions lie in the same shard."""
    return next(
        (f"cam-{i}", f"cam-{j}")
        for i in range(200)
        for j in range(i + 1, 200)
        if decision_slot((f"cam-{i}",))[0] == decision_slot((f"cam-{j}",))[0]
    )


def test_a_shard_keeps_only_the_camera_sets_the_rules_hold(aws):
    """Rules edited over time cannot grow a shard: sets no display watches any more leave at its next write."""
    stage, _ = stage_of(aws)
    old, new = same_shard_cameras()
    for version, cameras in enumerate((old, new)):
        doc = {**RULES_EXAMPLE, "Version": f"v{version}", "Displays": {"lobby-1": {"Cameras": [cameras]}}}
        aws["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=json.dumps(doc).encode())
        stage.rules._checked = -float("inf")  # read the edit now, not after the cache period
        stage.handle_frame(frame(version, face(0.5), camera=cameras))
    shard, new_key = decision_slot((new,))
    body, _ = stage.store.load(shard)
    assert sorted(body) == [new_key]  # the old camera's set, written by the first frame, pruned by the second
    assert stage.current_decision("lobby-1")["Cameras"] == [new]


def test_a_conflict_on_a_shared_shard_keeps_both_camera_sets_decisions(aws):
    """Two cameras whose camera sets share a shard: a write between our read and our write is kept, and ours
    is redone on a fresh read.
    """
    pair = same_shard_cameras()
    doc = {**RULES_EXAMPLE, "Displays": {"lobby-1": {"Cameras": [pair[0]]}, "till": {"Cameras": [pair[1]]}}}
    aws["s3"].put_object(Bucket="results", Key=ENV["RULES_KEY"], Body=json.dumps(doc).encode())
    stage, other = stage_of(aws)[0], stage_of(aws)[0]
    real = stage.store.save_many

    def the_other_camera_writes_first(items):
        if not getattr(the_other_camera_writes_first, "done", False):
            the_other_camera_writes_first.done = True
            other.handle_frame(frame(0, face(0.5), face(0.2, age=8.0), camera=pair[1]))
        return real(items)

    stage.store.save_many = the_other_camera_writes_first
    outcome = stage.handle_frame(frame(0, face(0.5), camera=pair[0]))
    assert [d.cameras for d in outcome.decisions] == [(pair[0],)]
    assert stage.current_decision("lobby-1")["Reason"] != "minor-present"
    assert stage.current_decision("till")["Reason"] == "minor-present"
