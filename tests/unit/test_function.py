"""The handler's pieces (agegender.function): partial failures and the invocation's remaining time."""

from __future__ import annotations

import json

import pytest

from agegender.events import S3ObjectRef
from agegender.function import create_handler
from agegender.processor import Outcome
from agegender.settings import Settings


class RecordingProcessor:
    def __init__(self):
        self.processed: list[S3ObjectRef] = []

    def process(self, ref: S3ObjectRef) -> Outcome:
        self.processed.append(ref)
        return Outcome(ref, f"results/{ref.key}.json", 0, None, None, {"read": 1.0})


class Context:
    """Lambda's context with a scripted remaining time, one value per call."""

    function_name, memory_limit_in_mb, aws_request_id = "f", 1769, "r"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:f"

    def __init__(self, remaining_ms: list[int]):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms.pop(0)


def event(*keys: str) -> dict:
    def body(key: str) -> str:
        s3 = {"bucket": {"name": "in"}, "object": {"key": key}}
        return json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": s3}]})

    return {"Records": [{"messageId": key, "receiptHandle": "h", "body": body(key), "attributes": {},
                         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q", "awsRegion": "eu-west-1"}
                        for key in keys]}  # fmt: skip


@pytest.fixture
def settings(shipped_model, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "AgeGenderTest")
    return Settings.from_env({"RESULTS_BUCKET": "out", "TIME_RESERVE_MS": "10000"})


def test_messages_that_cannot_start_in_time_return_to_the_queue_and_the_others_succeed(settings):
    processor = RecordingProcessor()
    handler = create_handler(processor, settings)  # type: ignore[arg-type]
    response = handler(event("a.jpg", "b.jpg", "c.jpg"), Context([30_000, 12_000, 9_000]))
    assert [ref.key for ref in processor.processed] == ["a.jpg", "b.jpg"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "c.jpg"}]}


def test_a_failing_message_names_its_object_and_does_not_fail_the_others(settings, caplog):
    class Failing(RecordingProcessor):
        def process(self, ref):
            if ref.key == "bad.jpg":
                raise RuntimeError("boom")
            return super().process(ref)

    handler = create_handler(Failing(), settings)  # type: ignore[arg-type]
    response = handler(event("bad.jpg", "good.jpg"), Context([60_000, 60_000]))
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad.jpg"}]}
    failure = next(record for record in caplog.records if "message failed" in record.getMessage())
    assert (failure.bucket, failure.key) == ("in", "bad.jpg")


def test_skipped_objects_are_logged_with_their_reason(settings, caplog):
    class Skipping(RecordingProcessor):
        def process(self, ref):
            return Outcome(ref, "k", 0, None, None, skipped="a zero-byte folder marker")

    handler = create_handler(Skipping(), settings)  # type: ignore[arg-type]
    assert handler(event("photos/"), Context([60_000])) == {"batchItemFailures": []}
    assert any(getattr(record, "reason", None) == "a zero-byte folder marker" for record in caplog.records)
