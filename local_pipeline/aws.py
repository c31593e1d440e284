"""The embedded AWS: moto's server on 127.0.0.1 and the stack's resources created in it.

Names and settings come from ``infra.config.PipelineConfig``, the object the CDK stack is built
from: same queue visibility timeout, same redrive policy (``max_receive_count``), same key
filters on the notification, raw message delivery, results prefix.
"""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from dataclasses import asdict, dataclass, replace
from typing import Any

import boto3
from botocore.config import Config

from infra.config import PipelineConfig

REGION = "us-east-1"
#: moto accepts any credentials; these keep boto3 from looking for real ones.
CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client(service: str, endpoint: str) -> Any:
    """A boto3 client for the embedded AWS."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        config=Config(retries={"mode": "standard", "max_attempts": 5}),
        **CREDENTIALS,
    )


def local_environment(endpoint: str) -> dict[str, str]:
    """Environment variables that point any boto3 client or the AWS CLI at the embedded AWS."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
    }


class PortInUseError(RuntimeError):
    """The embedded AWS cannot listen on the requested port."""


class EmbeddedAws:
    """moto's server in a background thread of this process."""

    def __init__(self, port: int | None = None) -> None:
        from moto.server import ThreadedMotoServer

        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise

    def __enter__(self) -> EmbeddedAws:
        with socket.socket() as probe:  # a busy port would leave the server thread dead and the caller waiting
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError as exc:
                raise PortInUseError(f"port {self.port} on 127.0.0.1 is in use ({exc.strerror}): choose another "
                                     "with --port") from exc  # fmt: skip
        self._server.start()
        # moto keeps its state per process, across server instances: start from an empty account.
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"), timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


@dataclass(frozen=True)
class LocalResources:
    """What ``provision`` created (what ``agegender local up`` prints)."""

    endpoint: str
    input_bucket: str
    results_bucket: str
    uploads_topic_arn: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    results_topic_arn: str | None
    camera_topic_arn: str | None = None
    audience_queue_url: str | None = None
    audience_queue_arn: str | None = None
    audience_dead_letter_queue_url: str | None = None
    state_table: str | None = None
    decisions_topic_arn: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> LocalResources:
        return cls(**json.loads(text))


def provision(config: PipelineConfig, endpoint: str) -> LocalResources:
    """Create the stack's buckets, topic(s), queue and DLQ, and the S3 -> SNS -> SQS notification chain."""
    s3, sns, sqs = client("s3", endpoint), client("sns", endpoint), client("sqs", endpoint)
    s3.create_bucket(Bucket=config.input_bucket_name)
    s3.put_bucket_versioning(Bucket=config.input_bucket_name, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=config.results_bucket_name)
    topic_arn = sns.create_topic(Name=config.uploads_topic_name)["TopicArn"]
    retention = str(config.retention_days * 24 * 3600)
    dlq_url = sqs.create_queue(QueueName=config.dlq_name, Attributes={"MessageRetentionPeriod": retention})["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": config.max_receive_count})
    queue_url = sqs.create_queue(
        QueueName=config.queue_name,
        Attributes={
            "VisibilityTimeout": str(config.visibility_timeout_s),
            "MessageRetentionPeriod": retention,
            "RedrivePolicy": redrive,
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    topic_config: dict[str, Any] = {"TopicArn": topic_arn, "Events": ["s3:ObjectCreated:*"]}
    rules = [{"Name": n, "Value": v} for n, v in (("prefix", config.key_prefix), ("suffix", config.key_suffix)) if v]
    if rules:
        topic_config["Filter"] = {"Key": {"FilterRules": rules}}
    s3.put_bucket_notification_configuration(
        Bucket=config.input_bucket_name, NotificationConfiguration={"TopicConfigurations": [topic_config]}
    )
    results_topic = sns.create_topic(Name=config.results_topic_name)["TopicArn"] if config.results_topic else None
    resources = LocalResources(
        endpoint=endpoint,
        input_bucket=config.input_bucket_name,
        results_bucket=config.results_bucket_name,
        uploads_topic_arn=topic_arn,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dead_letter_queue_url=dlq_url,
        dead_letter_queue_arn=dlq_arn,
        results_topic_arn=results_topic,
    )
    return provision_audience(config, resources) if config.audience_stage else resources


def provision_audience(config: PipelineConfig, resources: LocalResources) -> LocalResources:
    """The smart-display stage's FIFO topic and queue (+ DLQ), state table and decisions topic."""
    endpoint = resources.endpoint
    sns, sqs, dynamodb = client("sns", endpoint), client("sqs", endpoint), client("dynamodb", endpoint)
    fifo = {"FifoQueue": "true", "MessageRetentionPeriod": str(config.retention_days * 24 * 3600)}
    dlq_url = sqs.create_queue(QueueName=config.audience_dlq_name, Attributes=fifo)["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": config.max_receive_count})
    queue_url = sqs.create_queue(
        QueueName=config.audience_queue_name,
        Attributes={**fifo, "VisibilityTimeout": str(config.audience_timeout_s * config.visibility_timeout_factor),
                    "RedrivePolicy": redrive},
    )["QueueUrl"]  # fmt: skip
    topic = sns.create_topic(Name=config.camera_topic_name, Attributes={"FifoTopic": "true"})["TopicArn"]
    queue_arn = _queue_arn(sqs, queue_url)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    dynamodb.create_table(
        TableName=config.state_table_name,
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    decisions = sns.create_topic(Name=config.decisions_topic_name)["TopicArn"]
    return replace(
        resources,
        camera_topic_arn=topic,
        audience_queue_url=queue_url,
        audience_queue_arn=queue_arn,
        audience_dead_letter_queue_url=dlq_url,
        state_table=config.state_table_name,
        decisions_topic_arn=decisions,
    )


def running(config: PipelineConfig, endpoint: str) -> LocalResources:
    """The resources of a local pipeline already running at ``endpoint`` (``agegender local up``), by name."""
    sns, sqs = client("sns", endpoint), client("sqs", endpoint)
    pages = sns.get_paginator("list_topics").paginate()
    topics = {t["TopicArn"].rsplit(":", 1)[-1]: t["TopicArn"] for page in pages for t in page["Topics"]}

    def queue(name: str) -> str:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]

    queue_url, dlq_url = queue(config.queue_name), queue(config.dlq_name)
    names = {url.rsplit("/", 1)[-1] for url in sqs.list_queues().get("QueueUrls", [])}
    audience = config.audience_stage and config.audience_queue_name in names
    return LocalResources(
        endpoint=endpoint,
        input_bucket=config.input_bucket_name,
        results_bucket=config.results_bucket_name,
        uploads_topic_arn=topics[config.uploads_topic_name],
        queue_url=queue_url,
        queue_arn=_queue_arn(sqs, queue_url),
        dead_letter_queue_url=dlq_url,
        dead_letter_queue_arn=_queue_arn(sqs, dlq_url),
        results_topic_arn=topics.get(config.results_topic_name) if config.results_topic else None,
        camera_topic_arn=topics.get(config.camera_topic_name) if audience else None,
        audience_queue_url=queue(config.audience_queue_name) if audience else None,
        audience_queue_arn=_queue_arn(sqs, queue(config.audience_queue_name)) if audience else None,
        audience_dead_letter_queue_url=queue(config.audience_dlq_name) if audience else None,
        state_table=config.state_table_name if audience else None,
        decisions_topic_arn=topics.get(config.decisions_topic_name) if audience else None,
    )


def _queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def queue_depth(sqs: Any, url: str) -> int:
    """Messages in a queue, waiting or in flight (an empty queue is 0)."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def result_keys(s3: Any, bucket: str, prefix: str = "results/") -> list[str]:
    """Every result object's key (all pages, not just the first 1,000)."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys
