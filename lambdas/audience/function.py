"""The audience function's configuration and its three entry points, over injected clients.

* ``frames``: the FIFO queue's batches (one message group per camera), in order. A message that
  is not a usable frame (not JSON, wrong types, a bad camera id or capture time, captured far
  ahead of its arrival) is skipped with a typed reason in the log and the ``FramesSkipped`` and
  ``FramesSkipped.<reason>`` metrics: it can never fail anything. A frame whose processing raises
  (DynamoDB or S3 failing) fails with the rest of its own camera's messages in the batch, which
  return to the queue in order and are retried (after ``max_receive_count`` receives, the camera's
  frame goes to the stage's DLQ and its later frames go on); other cameras' messages in the batch
  succeed (Powertools' FIFO processor with ``skip_group_on_error``).
* ``sweep``: a schedule (every minute) commits, ends and closes what time has settled on
  cameras that went quiet, and lets their displays fall back when the audience left; a camera
  whose sweep fails is logged and counted (``SweepFailures``) and the others go on.
* ``decision``: a function URL (IAM auth) ``GET /displays/<id>`` (percent-decoded) -> the display's
  current decision.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from agegender import METRICS_NAMESPACE
from agegender.capture import camera_id_problem
from agegender.frame_message import NotAFrameError, parse_frame
from audience import SERVICE_NAME
from audience.camera import CameraSettings
from audience.records import RecordWriter
from audience.rules import DEFAULT_RULES_KEY
from audience.stage import AudienceStage, DecisionPublisher, RulesSource
from audience.store import StateStore
from audience.tracker import TrackerSettings

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
_DEFAULTS = CameraSettings()
#: Variable -> (meaning, default); the stack sets the ones without a default.
VARIABLES = {
    "STATE_TABLE": ("DynamoDB table of camera state and the decisions of camera sets", None),
    "RESULTS_BUCKET": ("bucket the audience records are written to (audience/...)", None),
    "RULES_BUCKET": ("bucket holding the rules document", None),
    "RULES_KEY": ("key of the rules document", DEFAULT_RULES_KEY),
    "DECISIONS_TOPIC_ARN": ("SNS topic of decision changes (array attribute display_id); empty: none", ""),
    "AGE_GROUP_NAMES": ("the inference function's age-group names, comma-separated (rules may name only these)", None),
    "MINOR_AGE_GROUPS": ("those of them that hold people under 18, comma-separated (never targeted)", None),
    "MAX_CAPTURE_AHEAD_S": (
        "a frame captured further than this after it arrived is skipped (a wrong clock)",
        f"{_DEFAULTS.max_ahead_s:g}",
    ),
    "REORDER_WINDOW_S": (
        "frames wait this long for earlier ones before they are committed",
        f"{_DEFAULTS.reorder_window_s:g}",
    ),
    "PRESENCE_S": ("a track counts for decisions when seen this recently", f"{_DEFAULTS.presence_s:g}"),
    "TRACK_MAX_GAP_S": ("a track ends when not seen for this long", f"{_DEFAULTS.tracker.max_gap_s:g}"),
    "POWERTOOLS_SERVICE_NAME": ("service name in logs and metrics", SERVICE_NAME),
    "POWERTOOLS_METRICS_NAMESPACE": ("CloudWatch namespace of the metrics", METRICS_NAMESPACE),
}


@dataclass(frozen=True)
class AudienceSettings:
    """Everything the audience function reads from its environment."""

    table: str
    results_bucket: str
    rules_bucket: str
    rules_key: str
    decisions_topic_arn: str | None
    age_groups: tuple[str, ...]
    minor_age_groups: tuple[str, ...]
    camera: CameraSettings
    service_name: str
    metrics_namespace: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AudienceSettings:
        """Read and validate (one ValueError naming every problem)."""
        problems: list[str] = []

        def get(name: str) -> str:
            value = env.get(name, VARIABLES[name][1] or "").strip()
            if not value and VARIABLES[name][1] is None:
                problems.append(f"{name} is required ({VARIABLES[name][0]})")
            return value

        def seconds(name: str, most: float = 600) -> float:
            try:
                value = float(get(name))
            except ValueError:
                value = -1.0
            if not 0 < value <= most:
                problems.append(f"{name} must be seconds between 0 and {most:g}")
                return float(VARIABLES[name][1] or 1)
            return value

        settings = cls(
            table=get("STATE_TABLE"),
            results_bucket=get("RESULTS_BUCKET"),
            rules_bucket=get("RULES_BUCKET"),
            rules_key=get("RULES_KEY"),
            decisions_topic_arn=get("DECISIONS_TOPIC_ARN") or None,
            age_groups=tuple(n.strip() for n in get("AGE_GROUP_NAMES").split(",") if n.strip()),
            minor_age_groups=tuple(n.strip() for n in get("MINOR_AGE_GROUPS").split(",") if n.strip()),
            camera=CameraSettings(
                reorder_window_s=seconds("REORDER_WINDOW_S"),
                presence_s=seconds("PRESENCE_S"),
                max_ahead_s=seconds("MAX_CAPTURE_AHEAD_S", 86_400),
                tracker=TrackerSettings(max_gap_s=seconds("TRACK_MAX_GAP_S")),
            ),
            service_name=get("POWERTOOLS_SERVICE_NAME"),
            metrics_namespace=get("POWERTOOLS_METRICS_NAMESPACE"),
        )
        if problems:
            raise ValueError("invalid audience configuration: " + "; ".join(problems))
        return settings


def build_stage(settings: AudienceSettings, *, s3: Any, dynamodb: Any, sns: Any | None) -> AudienceStage:
    """The stage wired to the given clients."""
    publisher = DecisionPublisher(sns, settings.decisions_topic_arn) if settings.decisions_topic_arn else None
    store = StateStore(dynamodb, settings.table)
    rules = RulesSource(
        s3,
        settings.rules_bucket,
        settings.rules_key,
        store=store,
        age_groups=settings.age_groups,
        minor_groups=settings.minor_age_groups,
    )
    return AudienceStage(store, RecordWriter(s3, settings.results_bucket), rules, publisher, settings.camera)


def create_handlers(stage: AudienceStage, settings: AudienceSettings) -> dict[str, Handler]:
    """``frames``, ``sweep`` and ``decision`` handlers around one stage."""
    logger = Logger(service=settings.service_name)
    metrics = Metrics(namespace=settings.metrics_namespace, service=settings.service_name)
    batch = SqsFifoPartialProcessor(skip_group_on_error=True)

    def count(name: str, value: float = 1) -> None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def record_handler(record: SQSRecord) -> None:
        try:
            frame = parse_frame(record.body)
            outcome = stage.handle_frame(frame)
        except NotAFrameError as exc:
            logger.warning("message skipped", extra={"reason": exc.reason, "detail": str(exc)[:300],
                                                     "message_id": record.message_id})  # fmt: skip
            count("FramesSkipped")
            count(f"FramesSkipped.{exc.reason}")
            return
        for name, value in (
            ("Frames", 1),
            ("FramesDuplicate", outcome.duplicate),
            ("FramesLate", outcome.late),
            ("FacesLeftOut", frame.faces_dropped),
            ("TracksFinished", outcome.tracks_finished),
            ("DecisionChanges", len(outcome.decisions)),
        ):
            count(name, int(value))
        if outcome.rules_status != "ok":
            count("RulesInvalid" if outcome.rules_status == "invalid-kept" else "RulesUnavailable")
        logger.info(
            "frame taken in",
            extra={
                "camera": frame.camera,
                "frame_id": frame.frame_id,
                "duplicate": outcome.duplicate,
                "late": outcome.late,
                "rules": outcome.rules_status,
                "decisions": [d.to_dict() for d in outcome.decisions],
            },
        )

    @logger.inject_lambda_context(log_event=False)
    @metrics.log_metrics
    def frames(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return dict(
            process_partial_response(event=event, record_handler=record_handler, processor=batch, context=context)
        )

    @logger.inject_lambda_context(log_event=False)
    @metrics.log_metrics
    def sweep(event: dict[str, Any], context: Any) -> dict[str, Any]:
        outcomes = stage.sweep()
        finished = sum(o.tracks_finished for o in outcomes)
        failed = [o.camera for o in outcomes if o.failed]
        count("TracksFinished", finished)
        count("SweepFailures", len(failed))
        if any(o.rules_status != "ok" for o in outcomes):
            count("RulesUnavailable")
        logger.info("sweep", extra={"cameras": len(outcomes), "tracks_finished": finished, "failed": failed[:20]})
        return {"cameras": len(outcomes), "tracks_finished": finished, "failed": len(failed)}

    def decision(event: dict[str, Any], context: Any) -> dict[str, Any]:
        method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
        parts = [p for p in event.get("rawPath", "/").split("/") if p]
        if method != "GET":
            return _response(405, {"message": "only GET"})
        if len(parts) != 2 or parts[0] != "displays":
            return _response(404, {"message": "use GET /displays/<display id>"})
        display = urllib.parse.unquote(parts[1])
        if camera_id_problem(display):
            return _response(404, {"message": "no such display: ids are 1-128 letters, digits, '.', '_' or '-'"})
        current = stage.current_decision(display)
        if current is None:
            return _response(404, {"message": f"no decision for display {display!r} yet"})
        return _response(200, current)

    return {"frames": frames, "sweep": sweep, "decision": decision}


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
