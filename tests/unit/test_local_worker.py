"""The local worker does what Lambda's SQS event source mapping does (fakes, no AWS)."""

from __future__ import annotations

import pytest

from infra.config import PipelineConfig
from local_pipeline.aws import LocalResources
from local_pipeline.redrive import redrive
from local_pipeline.worker import QueueWorker, sqs_event

RESOURCES = LocalResources(
    endpoint="http://x", input_bucket="in", results_bucket="out", uploads_topic_arn="arn:t",
    queue_url="q", queue_arn="arn:aws:sqs:us-east-1:1:q", dead_letter_queue_url="dlq",
    dead_letter_queue_arn="arn:aws:sqs:us-east-1:1:dlq", results_topic_arn=None,
)  # fmt: skip


class FakeSQS:
    def __init__(self, queues: dict[str, list[dict]]):
        self.queues, self.deleted, self.sent = queues, {}, {}

    def receive_message(self, QueueUrl, MaxNumberOfMessages, **_):
        taken, self.queues[QueueUrl] = (
            self.queues[QueueUrl][:MaxNumberOfMessages],
            self.queues[QueueUrl][MaxNumberOfMessages:],
        )
        return {"Messages": taken}

    def delete_message_batch(self, QueueUrl, Entries):
        self.deleted.setdefault(QueueUrl, []).extend(e["ReceiptHandle"] for e in Entries)

    def send_message_batch(self, QueueUrl, Entries):
        self.sent.setdefault(QueueUrl, []).extend(e["MessageBody"] for e in Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}


def message(i: int) -> dict:
    return {
        "MessageId": f"m{i}",
        "ReceiptHandle": f"r{i}",
        "Body": f"body {i}",
        "Attributes": {"ApproximateReceiveCount": "1"},
    }


def test_event_has_lambdas_sqs_record_shape():
    (record,) = sqs_event([message(1)], RESOURCES.queue_arn)["Records"]
    assert record["messageId"] == "m1"
    assert record["receiptHandle"] == "r1"
    assert record["body"] == "body 1"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == RESOURCES.queue_arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_only_messages_not_reported_as_failed_are_deleted():
    sqs = FakeSQS({"q": [message(i) for i in range(4)]})
    handler = lambda event, context: {"batchItemFailures": [{"itemIdentifier": "m2"}]}  # noqa: E731
    outcome = QueueWorker(sqs=sqs, resources=RESOURCES, config=PipelineConfig(), handler=handler).poll_once()
    assert (outcome.received, outcome.deleted, outcome.failed) == (4, 3, 1)
    assert sqs.deleted["q"] == ["r0", "r1", "r3"]


def test_a_raising_invocation_deletes_nothing():
    sqs = FakeSQS({"q": [message(i) for i in range(3)]})

    def handler(event, context):
        raise RuntimeError("crash")

    outcome = QueueWorker(sqs=sqs, resources=RESOURCES, config=PipelineConfig(), handler=handler).poll_once()
    assert outcome.failed == 3
    assert sqs.deleted == {}


def test_batches_follow_the_configured_size():
    sqs = FakeSQS({"q": [message(i) for i in range(7)]})
    seen = []
    handler = lambda event, context: seen.append(len(event["Records"])) or {}  # noqa: E731
    worker = QueueWorker(sqs=sqs, resources=RESOURCES, config=PipelineConfig(batch_size=3), handler=handler)
    while worker.poll_once().received:
        pass
    assert seen == [3, 3, 1]


@pytest.mark.parametrize("limit", [None, 2])
def test_redrive_moves_messages_back_and_deletes_them_from_the_dlq(limit):
    sqs = FakeSQS({"dlq": [message(i) for i in range(5)], "q": []})
    moved = redrive(sqs, dlq_url="dlq", queue_url="q", limit=limit)
    assert moved == (5 if limit is None else 2)
    assert sqs.sent["q"] == [f"body {i}" for i in range(moved)]
    assert sqs.deleted["dlq"] == [f"r{i}" for i in range(moved)]
