"""What Lambda's SQS event source mapping does, for the local pipeline.

Long-polls the queue with the stack's batch size, builds the exact SQS event Lambda would,
calls the real handler, and deletes only the messages the partial batch response does not
name as failed. Failed messages (and every message of a batch whose invocation raised) stay
in the queue, reappear after the visibility timeout, and after ``max_receive_count`` receives
the redrive policy moves them to the dead-letter queue.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agegender.function import LambdaHandler, build_processor, create_handler
from agegender.settings import Settings
from audience.function import AudienceSettings, build_stage, create_handlers
from infra.config import PipelineConfig
from local_pipeline.aws import REGION, LocalResources, client

log = logging.getLogger("agegender.local.worker")
#: SQS returns at most 10 messages a call; Lambda's poller gathers larger batches from several calls.
SQS_MAX_PER_RECEIVE = 10


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that the handler (Powertools) reads."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    _deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, *, region: str = REGION) -> dict[str, Any]:
    """Lambda's SQS event for received messages (the shape of ``aws:sqs`` records)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


@dataclass
class BatchOutcome:
    """Counts of one receive-invoke-delete cycle."""

    received: int = 0
    deleted: int = 0
    failed: int = 0


class QueueWorker:
    """Polls one queue and invokes one handler, batch after batch."""

    def __init__(
        self,
        *,
        sqs: Any,
        resources: LocalResources,
        config: PipelineConfig,
        handler: LambdaHandler,
        wait_s: int = 1,
        queue: tuple[str, str] | None = None,
        timeout_s: int | None = None,
    ) -> None:
        self.sqs = sqs
        self.resources = resources
        self.config = config
        self.handler = handler
        self.wait_s = wait_s
        #: (URL, ARN) of the queue polled: the inference queue unless another is given.
        self.queue_url, self.queue_arn = queue or (resources.queue_url, resources.queue_arn)
        self.timeout_s = timeout_s or config.timeout_s

    def _receive(self) -> list[dict[str, Any]]:
        """Up to ``batch_size`` messages: one long poll, then more only while the batching window is open."""
        messages: list[dict[str, Any]] = []
        window_ends = time.monotonic() + self.config.batching_window_s
        while len(messages) < self.config.batch_size:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(SQS_MAX_PER_RECEIVE, self.config.batch_size - len(messages)),
                WaitTimeSeconds=0 if messages else self.wait_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            got = response.get("Messages", [])
            messages += got
            if not got or time.monotonic() >= window_ends:
                break
        return messages

    def poll_once(self) -> BatchOutcome:
        """One receive-invoke-delete cycle."""
        messages = self._receive()
        outcome = BatchOutcome(received=len(messages))
        if not messages:
            return outcome
        context = LambdaContext(
            function_name=f"{self.config.name}-local",
            memory_limit_in_mb=self.config.memory_mb,
            timeout_s=self.timeout_s,
            aws_request_id=str(uuid.uuid4()),
            invoked_function_arn=f"arn:aws:lambda:{REGION}:000000000000:function:{self.config.name}-local",
            _deadline=time.monotonic() + self.timeout_s,
        )
        try:
            response = self.handler(sqs_event(messages, self.queue_arn), context) or {}
        except Exception:
            # Lambda treats a raised invocation as a failure of the whole batch: nothing is deleted.
            log.exception("invocation failed; %d messages return to the queue", len(messages))
            outcome.failed = len(messages)
            return outcome
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_MAX_PER_RECEIVE):
            chunk = done[start : start + SQS_MAX_PER_RECEIVE]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        outcome.deleted, outcome.failed = len(done), len(failed)
        return outcome

    def run(
        self, stop: threading.Event, *, tick: Callable[[], object] | None = None, tick_every_s: float = 5.0
    ) -> None:
        """Poll until ``stop`` is set, or until the process that started this one is gone.

        ``tick``, where given, runs every ``tick_every_s`` between polls (what a schedule would invoke).
        """
        parent = os.getppid()
        next_tick = time.monotonic() + tick_every_s
        while not stop.is_set() and os.getppid() == parent:
            try:
                self.poll_once()
                if tick is not None and time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + tick_every_s
                    tick()
            except Exception:  # the embedded AWS going away, mostly; keep polling until told to stop
                log.exception("poll failed")
                time.sleep(0.5)


def build_handler(
    config: PipelineConfig, resources: LocalResources, *, wrap_s3: Callable[[Any], Any] | None = None
) -> LambdaHandler:
    """The function's handler as ``agegender.function`` builds it for Lambda, with the environment the stack
    gives the function and clients pointed at the embedded AWS (``wrap_s3`` may wrap the S3 client).
    """
    env = config.handler_environment(
        results_bucket=resources.results_bucket,
        results_topic_arn=resources.results_topic_arn,
        camera_topic_arn=resources.camera_topic_arn,
    )
    settings = Settings.from_env(env)
    s3 = client("s3", resources.endpoint)
    processor = build_processor(settings, s3=wrap_s3(s3) if wrap_s3 else s3, sns=client("sns", resources.endpoint))
    return create_handler(processor, settings)


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``/proc/self/status`` VmHWM, not ``getrusage``: after fork+exec,
    ``ru_maxrss`` still counts the parent's memory at fork time.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # not Linux


def serve(config: PipelineConfig, resources: LocalResources, *, throttle_rate: float = 0.0) -> None:
    """Run one worker in this process until SIGINT/SIGTERM (``agegender local worker``).

    ``throttle_rate`` > 0 answers that share of the handler's result writes with S3 ``SlowDown``.
    On exit it prints one JSON line with its peak memory and the faults it injected.
    """
    injector = None
    if throttle_rate:
        from local_pipeline.faults import ThrottleInjector

        injector = ThrottleInjector(throttle_rate, seed=os.getpid())
    handler = build_handler(config, resources, wrap_s3=injector.attach if injector else None)
    worker = QueueWorker(sqs=client("sqs", resources.endpoint), resources=resources, config=config, handler=handler)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    worker.run(stop)
    report = {
        "message": "worker stopped",
        "pid": os.getpid(),
        "peak_rss_mb": peak_rss_mb(),
        "throttled_writes": injector.injected if injector else 0,
        "passed_writes": injector.passed if injector else 0,
    }
    print(json.dumps(report), flush=True)


#: How often the local audience worker runs the sweep that a schedule runs every minute in AWS.
LOCAL_SWEEP_EVERY_S = 2.0


def build_audience_handlers(config: PipelineConfig, resources: LocalResources) -> dict[str, LambdaHandler]:
    """The audience function's handlers as the stack configures them, on the embedded AWS."""
    if not (resources.state_table and resources.decisions_topic_arn):
        raise ValueError("the audience stage is not provisioned (audience_stage is off)")
    env = config.audience_environment(
        table=resources.state_table,
        results_bucket=resources.results_bucket,
        decisions_topic_arn=resources.decisions_topic_arn,
    )
    settings = AudienceSettings.from_env(env)
    endpoint = resources.endpoint
    stage = build_stage(
        settings, s3=client("s3", endpoint), dynamodb=client("dynamodb", endpoint), sns=client("sns", endpoint)
    )
    return create_handlers(stage, settings)


def serve_audience(config: PipelineConfig, resources: LocalResources) -> None:
    """Run the audience function's FIFO poller and its sweep in this process until SIGINT/SIGTERM."""
    handlers = build_audience_handlers(config, resources)
    if not (resources.audience_queue_url and resources.audience_queue_arn):
        raise ValueError("the audience queue is not provisioned")
    worker = QueueWorker(
        sqs=client("sqs", resources.endpoint),
        resources=resources,
        config=config,
        handler=handlers["frames"],
        queue=(resources.audience_queue_url, resources.audience_queue_arn),
        timeout_s=config.audience_timeout_s,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    context = LambdaContext(f"{config.name}-audience-local", 256, config.audience_timeout_s)
    worker.run(stop, tick=lambda: handlers["sweep"]({}, context), tick_every_s=LOCAL_SWEEP_EVERY_S)
    print(json.dumps({"message": "audience worker stopped", "pid": os.getpid(), "peak_rss_mb": peak_rss_mb()}),
          flush=True)  # fmt: skip
