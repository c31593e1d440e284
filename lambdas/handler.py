"""Lambda entry point: an SQS batch of S3 notifications -> one result JSON per object.

A thin adapter: configuration, models and the S3 client are created once per container
(at cold start, where a bad configuration fails loudly); each record is one call into
``agegender.pipeline``. Failures are reported per message (``ReportBatchItemFailures``),
so one bad message never fails the batch.
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agegender.analyzer import ImageAnalyzer
from agegender.classifier import AgeGenderClassifier
from agegender.events import S3ObjectRef, parse_message_body
from agegender.pipeline import ObjectProcessor
from agegender.settings import Settings
from agegender.summary import SummaryPublisher

logger = Logger(service="agegender")
metrics = Metrics(namespace="AgeGender", service="agegender")

_started = time.perf_counter()
SETTINGS = Settings.from_env(os.environ)
ANALYZER = ImageAnalyzer(
    AgeGenderClassifier(SETTINGS.model_path, num_threads=SETTINGS.num_threads), settings=SETTINGS.analyzer
)
PROCESSOR = ObjectProcessor(
    ANALYZER,
    boto3.client("s3"),
    results_bucket=SETTINGS.results_bucket,
    results_prefix=SETTINGS.results_prefix,
    publisher=SummaryPublisher(boto3.client("sns"), SETTINGS.results_topic_arn) if SETTINGS.results_topic_arn else None,
    delete_source=SETTINGS.delete_source,
)
INIT_MS = (time.perf_counter() - _started) * 1000
batch = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    """Process every object one message announces; raising marks the message as failed."""
    try:
        refs = parse_message_body(record.body)
        for ref in refs:
            _process(ref)
    except Exception:
        logger.exception("message failed; it returns to the queue", extra={"message_id": record.message_id})
        raise


def _process(ref: S3ObjectRef) -> None:
    """Write one object's result, then record its metrics and a structured log line."""
    outcome = PROCESSOR.process(ref)
    metrics.add_metric(name="Images", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Faces", unit=MetricUnit.Count, value=outcome.faces)
    if outcome.error_code:
        metrics.add_metric(name=f"Errors.{outcome.error_code}", unit=MetricUnit.Count, value=1)
    for stage, ms in outcome.timings_ms.items():
        metrics.add_metric(name=f"Latency.{stage}", unit=MetricUnit.Milliseconds, value=ms)
    log = logger.warning if outcome.error_code else logger.info
    log(
        "error result written" if outcome.error_code else "result written",
        extra={
            "bucket": ref.bucket,
            "key": ref.key,
            "result_key": outcome.result_key,
            "faces": outcome.faces,
            "error_code": outcome.error_code,
            "error_message": outcome.error_message,
            "timings_ms": {k: round(v, 1) for k, v in outcome.timings_ms.items()},
        },
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS event source mapping entry point (``handler.lambda_handler``)."""
    # Every invocation has this metric, so a batch of S3 TestEvents alone still publishes a set.
    metrics.add_metric(name="Messages", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    return process_partial_response(event=event, record_handler=record_handler, processor=batch, context=context)
