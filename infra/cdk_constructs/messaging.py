"""Messaging: S3 upload notifications -> SNS topic -> SQS queue, with a dead-letter queue.

SNS is the fan-out point (other consumers may subscribe to uploads); the queue buffers and
retries, delivering the S3 event raw (no SNS envelope) to the function.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import PipelineConfig
from infra.nag import acknowledge


class Messaging(Construct):
    """The notification chain from the input bucket to the inference queue."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: PipelineConfig, input_bucket: s3.IBucket
    ) -> None:
        super().__init__(scope, construct_id)
        # A customer-managed key: S3 and CloudWatch can only publish to topics encrypted with one.
        self.key = kms.Key(
            self,
            "TopicKey",
            enable_key_rotation=True,
            description=f"{config.name}: encrypts the pipeline's SNS topics",
        )
        stack = Stack.of(self)
        # Each service may use the key only for its own publishers in this account: the input bucket's
        # notifications, and this account's alarms in this region.
        publishers = {
            "s3.amazonaws.com": input_bucket.bucket_arn,
            "cloudwatch.amazonaws.com": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*",
        }
        for service, source_arn in publishers.items():
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Allow{service.split('.')[0].capitalize()}ToPublish",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],  # a key policy's resource is always the key itself
                    conditions={
                        "StringEquals": {"aws:SourceAccount": stack.account},
                        "ArnLike": {"aws:SourceArn": source_arn},
                    },
                )
            )
        self.uploads_topic = sns.Topic(
            self, "Uploads", master_key=self.key, enforce_ssl=True, display_name=f"{config.name} uploads"
        )
        # The notification's own statement checks only the bucket ARN, which names no account: refuse S3
        # publishing on behalf of any other account (a same-named bucket elsewhere, after this one is deleted).
        self.uploads_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyS3FromOtherAccounts",
                effect=iam.Effect.DENY,
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.uploads_topic.topic_arn],
                conditions={"StringNotEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.queue, self.dead_letter_queue = queue_with_dead_letters(
            self, ("Inference", "DeadLetters"), config, visibility_timeout_s=config.visibility_timeout_s
        )
        self.uploads_topic.add_subscription(subscriptions.SqsSubscription(self.queue, raw_message_delivery=True))
        key_filter = s3.NotificationKeyFilter(prefix=config.key_prefix or None, suffix=config.key_suffix or None)
        filters = [key_filter] if (config.key_prefix or config.key_suffix) else []
        input_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED, s3n.SnsDestination(self.uploads_topic), *filters
        )
        # Camera frames' summaries for the audience stage: FIFO, one message group per camera.
        self.camera_topic: sns.Topic | None = None
        if config.audience_stage:
            self.camera_topic = sns.Topic(
                self, "CameraFrames", fifo=True, master_key=self.key, enforce_ssl=True,
                display_name=f"{config.name} camera frames",
            )  # fmt: skip


def queue_with_dead_letters(
    scope: Construct, ids: tuple[str, str], config: PipelineConfig, *, visibility_timeout_s: int, fifo: bool = False
) -> tuple[sqs.Queue, sqs.Queue]:
    """A queue (``ids[0]``) and its dead-letter queue (``ids[1]``): SSE-SQS (SNS delivers to it without key
    grants), TLS only, the pipeline's retention, ``max_receive_count`` receives before the dead letters.
    """
    props = {
        "encryption": sqs.QueueEncryption.SQS_MANAGED,
        "enforce_ssl": True,
        "retention_period": Duration.days(config.retention_days),
        **({"fifo": True} if fifo else {}),
    }
    dead_letters = sqs.Queue(scope, ids[1], **props)
    acknowledge(dead_letters, "AwsSolutions-SQS3", "This queue is the dead-letter queue.")
    queue = sqs.Queue(
        scope,
        ids[0],
        **props,
        visibility_timeout=Duration.seconds(visibility_timeout_s),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=config.max_receive_count),
    )
    return queue, dead_letters
