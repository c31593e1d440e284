"""Inference: the Lambda layer, the function, its queue trigger and its (least) privileges.

No Docker anywhere: the layer and the function code are folders that ``layers/build.py``
produced, zipped by ``Code.from_asset``.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import PipelineConfig
from infra.nag import acknowledge

#: The inference function's entry point in its package (``lambdas/inference_handler.py``).
HANDLER = "inference_handler.lambda_handler"
RUNTIMES = {
    "3.12": lambda_.Runtime.PYTHON_3_12,
    "3.13": lambda_.Runtime.PYTHON_3_13,
    "3.14": lambda_.Runtime.PYTHON_3_14,
}
ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}
RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


class Inference(Construct):
    """The age/gender function fed by the inference queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        layer_dir: Path,
        function_dir: Path,
        queue: sqs.IQueue,
        input_bucket: s3.IBucket,
        results_bucket: s3.IBucket,
        topic_key: kms.IKey,
        camera_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        runtime = RUNTIMES[config.python_version]
        architecture = ARCHITECTURES[config.architecture]
        self.layer = lambda_.LayerVersion(
            self,
            "Runtime",
            code=lambda_.Code.from_asset(str(layer_dir), exclude=[".inputs.sha256"]),
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description="numpy, pillow, LiteRT, Powertools (pinned; built by layers/build.py)",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=RETENTION[config.log_retention_days],
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        # An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this one log group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{config.name} inference: read uploads, write results",
        )
        self.log_group.grant_write(self.role)

        self.results_topic: sns.Topic | None = None
        if config.results_topic:
            self.results_topic = sns.Topic(
                self, "Results", master_key=topic_key, enforce_ssl=True, display_name=f"{config.name} results"
            )

        self.function = lambda_.Function(
            self,
            "Function",
            runtime=runtime,
            architecture=architecture,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(function_dir)),
            layers=[self.layer],
            memory_size=config.memory_mb,
            timeout=Duration.seconds(config.timeout_s),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment=config.handler_environment(
                results_bucket=results_bucket.bucket_name,
                results_topic_arn=self.results_topic.topic_arn if self.results_topic else None,
                camera_topic_arn=camera_topic.topic_arn if camera_topic else None,
            ),
            description="Age and gender of the faces in each uploaded image (TFLite)",
        )
        self._grant(config, input_bucket, results_bucket, topic_key)
        if camera_topic is not None:
            camera_topic.grant_publish(self.role)
        self.event_source = event_sources.SqsEventSource(
            queue,
            batch_size=config.batch_size,
            max_batching_window=Duration.seconds(config.batching_window_s),
            max_concurrency=config.max_concurrency,
            report_batch_item_failures=True,
        )
        self.function.add_event_source(self.event_source)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
        )

    def _grant(
        self, config: PipelineConfig, input_bucket: s3.IBucket, results_bucket: s3.IBucket, topic_key: kms.IKey
    ) -> None:
        """Read the uploads, write the results: nothing else in either bucket."""
        uploads = input_bucket.arn_for_objects(f"{config.key_prefix}*")
        results = results_bucket.arn_for_objects(f"{config.results_prefix}*")
        statements = [
            iam.PolicyStatement(
                sid="ReadUploads", actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[uploads]
            ),
            # Without ListBucket a missing object reads as 403, which would be reported as AccessDenied.
            iam.PolicyStatement(
                sid="TellMissingUploads", actions=["s3:ListBucket"], resources=[input_bucket.bucket_arn]
            ),
            iam.PolicyStatement(sid="WriteResults", actions=["s3:PutObject"], resources=[results]),
        ]
        if config.delete_source:
            statements += [
                iam.PolicyStatement(
                    sid="DeleteProcessedUploads",
                    actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                    resources=[uploads],
                ),
                # A redelivered message whose upload is gone checks that its result exists (and keeps it).
                iam.PolicyStatement(sid="CheckResults", actions=["s3:GetObject"], resources=[results]),
                iam.PolicyStatement(
                    sid="TellMissingResults", actions=["s3:ListBucket"], resources=[results_bucket.bucket_arn]
                ),
            ]
        for statement in statements:
            self.role.add_to_policy(statement)
        if self.results_topic is not None or config.audience_stage:
            if self.results_topic is not None:
                self.results_topic.grant_publish(self.role)  # also grants the topic's key
            acknowledge(
                self.role,
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                "Publishing to a KMS-encrypted topic needs data keys; scoped to the pipeline's one topic key.",
            )
        for wildcard in (
            f"Resource::<{_logical(input_bucket)}.Arn>/{config.key_prefix}*",
            f"Resource::<{_logical(results_bucket)}.Arn>/{config.results_prefix}*",
        ):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[{wildcard}]",
                "Object ARNs under one prefix of one bucket: the narrowest scope S3 keys allow.",
            )


def _logical(bucket: s3.IBucket) -> str:
    return bucket.stack.get_logical_id(bucket.node.default_child)
