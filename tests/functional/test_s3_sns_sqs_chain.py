"""The whole chain in moto: a real S3 put notifies SNS, SNS delivers to SQS, the test receives
the messages and calls the handler with the exact Lambda SQS event shape (``local_pipeline.worker.sqs_event``).
"""

from __future__ import annotations

import importlib
import io
import json
import sys
import types

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws
from PIL import Image

from local_pipeline.worker import sqs_event

REGION = "eu-west-1"
KEYS = {
    "plain": "uploads/plain image.png",
    "plus": "uploads/a+b%c.jpg",
    "unicode": "cameras/cam-7/fréquence 北京.jpg",
    "corrupt": "uploads/corrupt.jpg",
}


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_METRICS_NAMESPACE": "AgeGenderTest",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def chain(aws):
    s3, sns, sqs = (boto3.client(name, region_name=REGION) for name in ("s3", "sns", "sqs"))
    location = {"LocationConstraint": REGION}
    s3.create_bucket(Bucket="input-bucket", CreateBucketConfiguration=location)
    s3.create_bucket(Bucket="results-bucket", CreateBucketConfiguration=location)
    topic = sns.create_topic(Name="uploads")["TopicArn"]
    dlq_url = sqs.create_queue(QueueName="uploads-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName="uploads",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    s3.put_bucket_notification_configuration(
        Bucket="input-bucket",
        NotificationConfiguration={"TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]},
    )
    return types.SimpleNamespace(s3=s3, sqs=sqs, queue_url=queue_url, queue_arn=queue_arn)


@pytest.fixture
def handler(chain, monkeypatch, shipped_model):
    monkeypatch.setenv("RESULTS_BUCKET", "results-bucket")
    sys.modules.pop("inference_handler", None)  # a fresh cold start inside the mock
    return importlib.import_module("inference_handler")


def receive_all(chain) -> list[dict]:
    messages = []
    while batch := chain.sqs.receive_message(QueueUrl=chain.queue_url, MaxNumberOfMessages=10).get("Messages"):
        messages += batch
    return messages


def lambda_event(chain, messages: list[dict]) -> dict:
    """What Lambda's SQS event source mapping passes to the function (built as the local worker builds it)."""
    return sqs_event(messages, chain.queue_arn, region=REGION)


def context():
    return types.SimpleNamespace(
        function_name="agegender",
        memory_limit_in_mb=1024,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:agegender",
        aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678",
    )


def png(colour=(90, 90, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_chain_writes_one_result_per_object(chain, handler):
    for name, key in KEYS.items():
        body = b"\xff\xd8\xff\xe0 broken" if name == "corrupt" else png()
        chain.s3.put_object(Bucket="input-bucket", Key=key, Body=body)
    messages = receive_all(chain)
    bodies = [json.loads(m["Body"]) for m in messages]
    assert bodies[0].get("Event") == "s3:TestEvent"  # S3's first message when notifications are configured
    response = handler.lambda_handler(lambda_event(chain, messages), context())
    assert response == {"batchItemFailures": []}
    for name, key in KEYS.items():
        result_key = f"results/input-bucket/{key}.json"
        result = json.loads(chain.s3.get_object(Bucket="results-bucket", Key=result_key)["Body"].read())
        assert result["Source"]["Key"] == key
        assert result["Source"]["Bucket"] == "input-bucket"
        if name == "corrupt":
            assert result["Error"]["Code"] == "InvalidImageFormat"
        else:
            assert result["Error"] is None
            assert result["Image"] == {"Width": 320, "Height": 240, "Format": "PNG"}
    listed = chain.s3.list_objects_v2(Bucket="results-bucket")["Contents"]
    assert len(listed) == len(KEYS)


def test_a_batch_of_test_events_alone_publishes_its_message_count(chain, handler, capsys, recwarn):
    messages = receive_all(chain)
    assert [json.loads(m["Body"]).get("Event") for m in messages] == ["s3:TestEvent"]
    assert handler.lambda_handler(lambda_event(chain, messages), context()) == {"batchItemFailures": []}
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [doc["Messages"] for doc in emf if "Messages" in doc] == [[1.0]]  # (cold start has its own)
    assert not [w for w in recwarn if "No application metrics" in str(w.message)]


def test_a_poison_message_fails_alone(chain, handler):
    chain.s3.put_object(Bucket="input-bucket", Key="ok.png", Body=png())
    chain.sqs.send_message(QueueUrl=chain.queue_url, MessageBody="this is not an S3 event")
    messages = receive_all(chain)
    poison = next(m for m in messages if m["Body"] == "this is not an S3 event")
    response = handler.lambda_handler(lambda_event(chain, messages), context())
    assert response == {"batchItemFailures": [{"itemIdentifier": poison["MessageId"]}]}
    assert chain.s3.get_object(Bucket="results-bucket", Key="results/input-bucket/ok.png.json")


def test_a_deleted_object_gets_an_error_result(chain, handler):
    chain.s3.put_object(Bucket="input-bucket", Key="gone.png", Body=png())
    chain.s3.delete_object(Bucket="input-bucket", Key="gone.png")
    response = handler.lambda_handler(lambda_event(chain, receive_all(chain)), context())
    assert response == {"batchItemFailures": []}
    result = json.loads(
        chain.s3.get_object(Bucket="results-bucket", Key="results/input-bucket/gone.png.json")["Body"].read()
    )
    assert result["Error"]["Code"] == "InvalidS3Object"


def test_a_failed_result_write_fails_the_message(chain, handler, monkeypatch):
    chain.s3.put_object(Bucket="input-bucket", Key="ok.png", Body=png())
    chain.s3.delete_bucket(Bucket="results-bucket")  # the write cannot succeed: the message must not be acknowledged
    messages = [m for m in receive_all(chain) if "s3:TestEvent" not in m["Body"]]
    # Every record failed, so the whole invocation fails and Lambda returns the batch to the queue.
    with pytest.raises(BatchProcessingError):
        handler.lambda_handler(lambda_event(chain, messages), context())
