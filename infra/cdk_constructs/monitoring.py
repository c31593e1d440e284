"""Operations: alarms on the things that mean lost time or lost work, a topic they notify, a dashboard."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from agegender import METRICS_NAMESPACE
from infra.cdk_constructs.audience import Audience
from infra.config import PipelineConfig

PERIOD = Duration.minutes(1)


class Monitoring(Construct):
    """DLQ depth, queue age, function errors and throttles -> the alarm topic; one dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        function: lambda_.IFunction,
        key: kms.IKey,
        audience: Audience | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarm_topic = sns.Topic(
            self, "Alarms", master_key=key, enforce_ssl=True, display_name=f"{config.name} alarms"
        )
        if config.alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))

        dlq_depth = dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum")
        oldest = queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum")
        errors = function.metric_errors(period=PERIOD, statistic="Sum")
        throttles = function.metric_throttles(period=PERIOD, statistic="Sum")
        duration = function.metric_duration(period=PERIOD, statistic="p95")
        self.alarms = [
            self._alarm("DeadLetters", dlq_depth, 0, "Messages failed every retry and wait in the dead-letter queue"),
            self._alarm(
                "QueueBacklog",
                oldest,
                config.oldest_message_alarm_s,
                f"The oldest queued upload waited over {config.oldest_message_alarm_s} s",
                periods=3,
            ),
            self._alarm("FunctionErrors", errors, 0, "The inference function failed (crash, timeout, bad config)"),
            self._alarm("FunctionThrottles", throttles, 0, "Invocations were throttled (concurrency limits)"),
        ]
        audience_widgets: list[cloudwatch.IWidget] = []
        if audience is not None:
            frames_dlq = audience.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            )
            frames_age = audience.queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum")
            audience_errors = audience.function.metric_errors(period=PERIOD, statistic="Sum")
            stage_metric = {
                "namespace": METRICS_NAMESPACE,
                "period": PERIOD,
                "statistic": "Sum",
                "dimensions_map": {"service": f"{config.name}-audience"},
            }

            def stage(name: str) -> cloudwatch.Metric:
                return cloudwatch.Metric(metric_name=name, **stage_metric)

            self.alarms += [
                self._alarm("AudienceDeadLetters", frames_dlq, 0, "Camera frames failed every retry (audience stage)"),
                self._alarm("AudienceErrors", audience_errors, 0, "The audience function failed"),
                self._alarm(
                    "AudienceBacklog", frames_age, 10, "Camera frames waited over 10 s: decisions lag", periods=3
                ),
                self._alarm(
                    "RulesUnavailable",
                    stage("RulesUnavailable"),
                    0,
                    "The rules document is missing, unreadable or invalid: displays play their default",
                ),
                self._alarm("SweepFailures", stage("SweepFailures"), 0, "A camera's sweep failed (the others went on)"),
            ]
            audience_widgets = [
                cloudwatch.GraphWidget(
                    title="Audience stage",
                    left=[stage(name) for name in ("Frames", "FramesDuplicate", "FramesLate", "TracksFinished")],
                    right=[stage("DecisionChanges"), frames_age],
                ),
                cloudwatch.GraphWidget(
                    title="Audience errors", left=[audience_errors, frames_dlq, stage("FramesSkipped")]
                ),
            ]
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(self.alarm_topic))
            alarm.add_ok_action(actions.SnsAction(self.alarm_topic))

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{config.name}-pipeline")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queue",
                left=[queue.metric_approximate_number_of_messages_visible(period=PERIOD), dlq_depth],
                right=[oldest],
            ),
            cloudwatch.GraphWidget(
                title="Function", left=[function.metric_invocations(period=PERIOD), errors, throttles]
            ),
            cloudwatch.GraphWidget(title="Duration p95 (ms)", left=[duration]),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms),
            *audience_widgets,
        )

    def _alarm(
        self, name: str, metric: cloudwatch.IMetric, threshold: float, description: str, periods: int = 1
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
