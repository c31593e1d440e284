"""The pipeline stack: wires storage, messaging, inference and monitoring, and names what users need."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.cdk_constructs.audience import Audience
from infra.cdk_constructs.inference import Inference
from infra.cdk_constructs.messaging import Messaging
from infra.cdk_constructs.monitoring import Monitoring
from infra.cdk_constructs.storage import Storage
from infra.config import PipelineConfig
from infra.nag import acknowledge
from layers.build import LambdaPackages


class PipelineStack(Stack):
    """S3 uploads -> SNS -> SQS (+DLQ) -> Lambda (TFLite age/gender) -> S3 results."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        packages: LambdaPackages,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.storage = Storage(self, "Storage", config=config)
        self.messaging = Messaging(self, "Messaging", config=config, input_bucket=self.storage.input_bucket)
        self.inference = Inference(
            self,
            "Inference",
            config=config,
            layer_dir=packages.layer_dir,
            function_dir=packages.function_dir,
            queue=self.messaging.queue,
            input_bucket=self.storage.input_bucket,
            results_bucket=self.storage.results_bucket,
            topic_key=self.messaging.key,
            camera_topic=self.messaging.camera_topic,
        )
        self.audience: Audience | None = None
        if self.messaging.camera_topic is not None:
            self.audience = Audience(
                self,
                "Audience",
                config=config,
                code_dir=packages.audience_dir,
                results_bucket=self.storage.results_bucket,
                topic_key=self.messaging.key,
                camera_topic=self.messaging.camera_topic,
            )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            queue=self.messaging.queue,
            dead_letter_queue=self.messaging.dead_letter_queue,
            function=self.inference.function,
            key=self.messaging.key,
            audience=self.audience,
        )
        for child in self.node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge(
                    child,
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    "CDK's own handler that sets the bucket notification at deploy time; it writes logs only "
                    "and otherwise holds just s3:PutBucketNotification.",
                )
        outputs = {
            "InputBucketName": self.storage.input_bucket.bucket_name,
            "ResultsBucketName": self.storage.results_bucket.bucket_name,
            "UploadsTopicArn": self.messaging.uploads_topic.topic_arn,
            "QueueArn": self.messaging.queue.queue_arn,
            "QueueUrl": self.messaging.queue.queue_url,
            "DeadLetterQueueArn": self.messaging.dead_letter_queue.queue_arn,
            "DeadLetterQueueUrl": self.messaging.dead_letter_queue.queue_url,
            "FunctionName": self.inference.function.function_name,
            "AlarmTopicArn": self.monitoring.alarm_topic.topic_arn,
        }
        if self.inference.results_topic is not None:
            outputs["ResultsTopicArn"] = self.inference.results_topic.topic_arn
        if self.audience is not None:
            outputs |= {
                "StateTableName": self.audience.table.table_name,
                "DecisionsTopicArn": self.audience.decisions_topic.topic_arn,
                "DecisionUrl": self.audience.reader_url.url,
                "AudienceDeadLetterQueueUrl": self.audience.dead_letter_queue.queue_url,
                "AthenaWorkGroup": self.audience.workgroup.name,
            }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
