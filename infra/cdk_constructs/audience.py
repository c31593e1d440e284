"""The smart-display stage: camera frames (FIFO, one group per camera) -> tracks, records and ad decisions.

The inference function publishes each camera frame's summary to a FIFO topic (``Messaging``); a FIFO queue (with
its own dead-letter queue) feeds the audience function, which keeps camera and display state in
a DynamoDB table, writes audience records under ``audience/`` in the results bucket, publishes
decision changes to a topic (``display_id`` array attribute: displays subscribe with a filter) and
settles quiet cameras on a one-minute schedule. A second, read-only function answers
``GET /displays/<id>`` behind a function URL with IAM auth. A Glue table over the records, an
Athena workgroup and named queries serve the reports.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from audience.records import AUDIENCE_PREFIX
from infra.cdk_constructs.inference import ARCHITECTURES, RETENTION, RUNTIMES
from infra.cdk_constructs.messaging import queue_with_dead_letters
from infra.config import ATHENA_RESULTS_PREFIX, PipelineConfig
from infra.nag import acknowledge

#: The audience function reads and writes a few small items per frame: little memory, little time.
AUDIENCE_MEMORY_MB = 256
#: Columns of the audience records (audience.records): tracks and camera-minutes share one table.
RECORD_COLUMNS = {
    "kind": "string",
    "track_id": "string",
    "start": "string",
    "end": "string",
    "dwell_s": "double",
    "attention_s": "double",
    "frames": "int",
    "watcher": "boolean",
    "age_group": "string",
    "gender": "string",
    "age": "double",
    "gender_confidence": "double",
    "first_box": "array<double>",
    "last_box": "array<double>",
    "first_frame": "string",
    "last_frame": "string",
    "minute": "string",
    "opportunities_to_see": "int",
    "watchers": "int",
    "mix": "map<string,int>",
}


class Audience(Construct):
    """FIFO topic and queue, state table, audience and decision-reader functions, schedule, Glue and Athena."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        code_dir: Path,
        results_bucket: s3.IBucket,
        topic_key: kms.IKey,
        camera_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        keep = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self.queue, self.dead_letter_queue = queue_with_dead_letters(
            self,
            ("Frames", "FramesDeadLetters"),
            config,
            visibility_timeout_s=config.audience_timeout_s * config.visibility_timeout_factor,
            fifo=True,
        )
        camera_topic.add_subscription(subscriptions.SqsSubscription(self.queue, raw_message_delivery=True))
        self.table = dynamodb.Table(
            self,
            "State",
            partition_key=dynamodb.Attribute(name="Id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=keep,
        )
        self.decisions_topic = sns.Topic(
            self, "Decisions", master_key=topic_key, enforce_ssl=True, display_name=f"{config.name} decisions"
        )
        environment = config.audience_environment(
            table=self.table.table_name,
            results_bucket=results_bucket.bucket_name,
            decisions_topic_arn=self.decisions_topic.topic_arn,
        )
        self.function, role = self._function(
            "Function",
            "audience_handler.handler",
            config,
            code_dir,
            environment,
            keep,
            "Camera frames -> tracks, audience records and display decisions",
        )
        self._grant_stage(role, config, results_bucket)
        self.function.add_event_source(
            event_sources.SqsEventSource(self.queue, batch_size=10, report_batch_item_failures=True)
        )
        self.sweep = events.Rule(
            self,
            "Sweep",
            schedule=events.Schedule.rate(Duration.minutes(1)),
            description="Settle quiet cameras: end their tracks, close their minutes, let displays fall back",
            targets=[targets.LambdaFunction(self.function, event=events.RuleTargetInput.from_object({"sweep": True}))],
        )
        self.reader, reader_role = self._function(
            "DecisionReader",
            "audience_handler.decision",
            config,
            code_dir,
            environment,
            keep,
            "GET /displays/<id>: a display's current decision (read-only)",
        )
        reader_role.add_to_policy(
            iam.PolicyStatement(sid="ReadDecisions", actions=["dynamodb:GetItem"], resources=[self.table.table_arn])
        )
        self.reader_url = self.reader.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        self._reports(config, results_bucket)

    def _function(
        self,
        name: str,
        handler: str,
        config: PipelineConfig,
        code_dir: Path,
        environment: dict[str, str],
        keep: RemovalPolicy,
        description: str,
    ) -> tuple[lambda_.Function, iam.Role]:
        log_group = logs.LogGroup(
            self, f"{name}Logs", retention=RETENTION[config.log_retention_days], removal_policy=keep
        )
        role = iam.Role(
            self,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{config.name} audience: {description}",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            name,
            runtime=RUNTIMES[config.python_version],
            architecture=ARCHITECTURES[config.architecture],
            handler=handler,
            # Its own code (layers/build.py stage_audience_function): no layer, no numpy, no models.
            code=lambda_.Code.from_asset(str(code_dir)),
            memory_size=AUDIENCE_MEMORY_MB,
            timeout=Duration.seconds(config.audience_timeout_s),
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment=environment,
            description=description,
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
        )
        return function, role

    def _grant_stage(self, role: iam.Role, config: PipelineConfig, results_bucket: s3.IBucket) -> None:
        """State items, audience records, the rules document, decision events: nothing else."""
        records = results_bucket.arn_for_objects(f"{AUDIENCE_PREFIX}*")
        for statement in (
            iam.PolicyStatement(
                sid="State",
                actions=["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:Scan"],
                resources=[self.table.table_arn],
            ),
            iam.PolicyStatement(sid="WriteRecords", actions=["s3:PutObject"], resources=[records]),
            iam.PolicyStatement(
                sid="ReadRules", actions=["s3:GetObject"], resources=[results_bucket.arn_for_objects(config.rules_key)]
            ),
            # Without ListBucket a missing rules document reads as 403 instead of "not there yet".
            iam.PolicyStatement(
                sid="TellMissingRules",
                actions=["s3:ListBucket"],
                resources=[results_bucket.bucket_arn],
                conditions={"StringEquals": {"s3:prefix": config.rules_key}},
            ),
        ):
            role.add_to_policy(statement)
        self.decisions_topic.grant_publish(role)
        bucket_id = results_bucket.stack.get_logical_id(results_bucket.node.default_child)
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{AUDIENCE_PREFIX}*]",
            "Object ARNs under the audience/ prefix of the results bucket: records are keyed by camera and date.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Publishing to a KMS-encrypted topic needs data keys; scoped to the pipeline's one topic key.",
        )

    def _reports(self, config: PipelineConfig, results_bucket: s3.IBucket) -> None:
        """The Glue table over audience/camera=<id>/date=<yyyy-mm-dd>/ and Athena's workgroup and queries."""
        stack = Stack.of(self)
        database_name = config.name.replace("-", "_")
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name, description="Audience records of the displays"
            ),
        )
        location = f"s3://{results_bucket.bucket_name}/{AUDIENCE_PREFIX}"
        self.table_name = "audience"
        glue_table = glue.CfnTable(
            self,
            "AudienceTable",
            catalog_id=stack.account,
            database_name=database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=self.table_name,
                table_type="EXTERNAL_TABLE",
                description="One row per finished track (kind=track) and per camera-minute (kind=minute)",
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name="camera", type="string"),
                    glue.CfnTable.ColumnProperty(name="date", type="string"),
                ],
                parameters={
                    "classification": "json",
                    "projection.enabled": "true",
                    "projection.camera.type": "injected",
                    "projection.date.type": "date",
                    "projection.date.format": "yyyy-MM-dd",
                    "projection.date.range": "2026-01-01,NOW",
                    "storage.location.template": f"{location}camera=${{camera}}/date=${{date}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe"
                    ),
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in RECORD_COLUMNS.items()],
                ),
            ),
        )
        glue_table.add_dependency(self.database)
        self.workgroup = athena.CfnWorkGroup(
            self,
            "Reports",
            name=f"{config.name}-audience",
            state="ENABLED",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{results_bucket.bucket_name}/{ATHENA_RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )
        table = f'"{database_name}"."{self.table_name}"'
        queries = {
            "LastHourByMinute": (
                "Per camera-minute of the last hour: opportunities to see, watchers, age group x gender mix",
                f"SELECT camera, minute, opportunities_to_see, watchers, mix FROM {table} "
                "WHERE kind = 'minute' AND camera = 'door-2' AND date >= date_format(current_date - interval '1' day,"
                " '%Y-%m-%d') AND from_iso8601_timestamp(minute) > current_timestamp - interval '1' hour "
                "ORDER BY minute",
            ),
            "DailyAudience": (
                "Per day: people, watchers, conversion, mean dwell and attention, by age group and gender",
                f"SELECT date, age_group, gender, count(*) AS people, count_if(watcher) AS watchers, "
                f"round(avg(dwell_s), 1) AS mean_dwell_s, round(avg(attention_s), 1) AS mean_attention_s "
                f"FROM {table} WHERE kind = 'track' AND camera = 'door-2' GROUP BY date, age_group, gender "
                "ORDER BY date, people DESC",
            ),
        }
        for name, (description, query) in queries.items():
            named = athena.CfnNamedQuery(
                self,
                name,
                database=database_name,
                query_string=query,
                work_group=self.workgroup.name,
                name=f"{config.name} {name}",
                description=f"{description} (replace the camera id)",
            )
            named.add_dependency(self.workgroup)
