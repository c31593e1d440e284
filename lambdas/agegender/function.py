"""The Lambda function's pieces, built from ``Settings`` with the AWS clients passed in.

``inference_handler.py`` builds them once per container with real clients; the local pipeline's worker
builds the same pieces with clients pointed at the embedded AWS (and, for fault tests, wrapped),
so nothing reaches into module globals. Failures are reported per message
(``ReportBatchItemFailures``): one bad message never fails the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agegender.analyzer import ImageAnalyzer
from agegender.classifier import AgeGenderClassifier
from agegender.events import S3ObjectRef, parse_message_body
from agegender.exceptions import AgeGenderError
from agegender.processor import ObjectProcessor, Outcome
from agegender.settings import Settings
from agegender.summary import FramePublisher, SummaryPublisher

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class NotStartedInTimeError(AgeGenderError):
    """Too little of the invocation is left to start this message; it returns to the queue untouched."""

    code = "NotStartedInTime"


def build_processor(settings: Settings, *, s3: Any, sns: Any | None = None) -> ObjectProcessor:
    """Load the models and wire the object processor to the given S3 (and SNS) clients."""
    analyzer = ImageAnalyzer(
        AgeGenderClassifier(settings.model_path, num_threads=settings.num_threads), settings=settings.analyzer
    )
    if (settings.results_topic_arn or settings.camera_topic_arn) and sns is None:
        raise ValueError("a results or camera topic is configured but no SNS client was given")
    publisher = SummaryPublisher(sns, settings.results_topic_arn) if settings.results_topic_arn else None
    frames = FramePublisher(sns, settings.camera_topic_arn) if settings.camera_topic_arn else None
    return ObjectProcessor(
        analyzer,
        s3,
        results_bucket=settings.results_bucket,
        results_prefix=settings.results_prefix,
        publisher=publisher,
        frame_publisher=frames,
        delete_source=settings.delete_source,
        max_capture_ahead_s=settings.max_capture_ahead_s,
    )


def create_handler(processor: ObjectProcessor, settings: Settings) -> LambdaHandler:
    """The SQS event source mapping entry point around one processor (logs, metrics, partial failures)."""
    logger = Logger(service=settings.service_name)
    metrics = Metrics(namespace=settings.metrics_namespace, service=settings.service_name)
    batch = BatchProcessor(event_type=EventType.SQS)

    def record_metrics(outcome: Outcome) -> None:
        if outcome.skipped:
            return
        metrics.add_metric(name="Images", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Faces", unit=MetricUnit.Count, value=outcome.faces)
        if outcome.error_code:
            metrics.add_metric(name=f"Errors.{outcome.error_code}", unit=MetricUnit.Count, value=1)
        for stage, ms in outcome.timings_ms.items():
            metrics.add_metric(name=f"Latency.{stage}", unit=MetricUnit.Milliseconds, value=ms)

    def log_outcome(outcome: Outcome) -> None:
        if outcome.skipped:
            logger.info("skipped", extra={"bucket": outcome.source.bucket, "key": outcome.source.key,
                                          "reason": outcome.skipped})  # fmt: skip
            metrics.add_metric(name="Skipped", unit=MetricUnit.Count, value=1)
            return
        log = logger.warning if outcome.error_code else logger.info
        log(
            "error result written" if outcome.error_code else "result written",
            extra={
                "bucket": outcome.source.bucket,
                "key": outcome.source.key,
                "result_key": outcome.result_key,
                "faces": outcome.faces,
                "error_code": outcome.error_code,
                "error_message": outcome.error_message,
                "timings_ms": {k: round(v, 1) for k, v in outcome.timings_ms.items()},
            },
        )

    def record_handler(record: SQSRecord, lambda_context: Any = None) -> None:
        """Process every object one message announces; raising marks the message as failed.

        A message is not started when less than ``settings.time_reserve_ms`` of the invocation is
        left: it fails fast and returns to the queue, rather than the timeout failing the whole batch.
        (Powertools passes the invocation's context to a record handler that takes ``lambda_context``.)
        """
        clock = getattr(lambda_context, "get_remaining_time_in_millis", None)  # absent in some test doubles
        remaining = clock() if clock is not None else None
        if remaining is not None and remaining < settings.time_reserve_ms:
            metrics.add_metric(name="NotStartedInTime", unit=MetricUnit.Count, value=1)
            logger.warning("not started: too little time left; the message returns to the queue",
                           extra={"message_id": record.message_id, "remaining_ms": remaining})  # fmt: skip
            raise NotStartedInTimeError(f"{remaining} ms left, {settings.time_reserve_ms} ms reserved")
        current: S3ObjectRef | None = None
        try:
            for current in parse_message_body(record.body):
                outcome = processor.process(current)
                record_metrics(outcome)
                log_outcome(outcome)
        except Exception:
            where = {"bucket": current.bucket, "key": current.key} if current else {}
            logger.exception("message failed; it returns to the queue",
                             extra={"message_id": record.message_id, **where})  # fmt: skip
            raise

    @logger.inject_lambda_context(log_event=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Every invocation has this metric, so a batch of S3 TestEvents alone still publishes a set.
        metrics.add_metric(name="Messages", unit=MetricUnit.Count, value=len(event.get("Records", [])))
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=batch, context=context)
        )

    return lambda_handler
