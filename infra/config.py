"""The pipeline's deployment settings: defaults in one place, overridable from ``cdk.json`` context.

One frozen object feeds both the CDK stack (``infra/stacks``) and the local pipeline
(``local_pipeline``), so the queue settings, filters and function environment the tests exercise
locally are the ones that get deployed. Plain Python: no CDK import, so the local pipeline
and the Lambda-free tests can use it; values the function also knows come from ``agegender``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agegender import METRICS_NAMESPACE
from agegender.assets import CLASSIFIERS
from agegender.capture import DEFAULT_MAX_CAPTURE_AHEAD_S
from agegender.labels import DEFAULT_AGE_GROUPS, AgeGroupTable
from agegender.locations import DEFAULT_RESULTS_PREFIX, prefix_problem
from agegender.settings import DEFAULT_TIME_RESERVE_MS
from audience.camera import CameraSettings
from audience.rules import DEFAULT_RULES_KEY, MINOR_AGE

#: cdk.json / ``-c`` context key holding the overrides.
CONTEXT_KEY = "agegender"
ARCHITECTURES = ("arm64", "x86_64")
PYTHON_VERSIONS = ("3.12", "3.13", "3.14")
#: CloudWatch Logs retention periods the stack offers (days).
LOG_RETENTION_DAYS = (1, 7, 14, 30, 90, 180, 365)
_AUDIENCE = CameraSettings()
#: Where the Athena workgroup writes query results in the results bucket.
ATHENA_RESULTS_PREFIX = "athena-results/"
#: Lambda gives a function one full vCPU at 1,769 MB; the pipeline runs one inference thread.
ONE_VCPU_MB = 1769


class ConfigError(ValueError):
    """An override in the context is unknown or out of range (the message says which and why)."""


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that shapes a deployment; every field can be set in ``cdk.json`` under ``"agegender"``."""

    name: str = "agegender"
    """Prefix of resource names (the local pipeline's buckets, topic and queues; CloudWatch names)."""
    architecture: str = "arm64"
    """Lambda architecture: ``arm64`` (about 20% cheaper per GB-second) or ``x86_64``."""
    python_version: str = "3.14"
    """Lambda Python runtime of both functions."""
    memory_mb: int = ONE_VCPU_MB
    """One full vCPU: less memory = less CPU (same cost, slower); more gains one thread nothing."""
    timeout_s: int = 60
    """The inference function's timeout; a batch of 10 frames takes about a second."""
    batch_size: int = 10
    """Messages per invocation (event source mapping); above 10 needs ``batching_window_s``."""
    batching_window_s: int = 0
    """0 = invoke as soon as messages arrive (a display waits on the result)."""
    max_concurrency: int = 50
    """Event source mapping ``MaximumConcurrency``: caps concurrent invocations (2-1000)."""
    max_receive_count: int = 5
    """Receives before a message moves to the dead-letter queue."""
    visibility_timeout_factor: int = 6
    """Queue visibility timeout = this x the function timeout (AWS's advice: at least 6)."""
    retention_days: int = 14
    """How long the queue and the dead-letter queue keep a message."""
    upload_expiry_days: int = 7
    """Raw uploads are deleted after this many days (privacy by design); 0 keeps them."""
    results_expiry_days: int = 90
    """Result JSON files are deleted after this many days (they hold face boxes and apparent age and
    gender per upload: keep them no longer than reports need); 0 keeps them."""
    key_prefix: str = ""
    """Only uploads whose key starts with this are analysed (e.g. ``cameras/``)."""
    key_suffix: str = ""
    """Only uploads whose key ends with this are analysed (e.g. ``.jpg``)."""
    results_prefix: str = DEFAULT_RESULTS_PREFIX
    """Key prefix of the results in the results bucket: empty or ending with ``/``."""
    delete_source: bool = False
    """Delete each upload once its result is written (keep nothing but demographics)."""
    results_topic: bool = False
    """Publish a compact summary per result to an SNS topic (smart displays subscribe)."""
    alarm_email: str = ""
    """Subscribe this address to the alarm topic (empty: subscribe later)."""
    access_logs: bool = True
    """S3 server access logs for both buckets, into a log bucket."""
    log_retention_days: int = 30
    """How long CloudWatch keeps the functions' logs (one of ``LOG_RETENTION_DAYS``)."""
    retain_data: bool = True
    """Keep the buckets on ``cdk destroy`` (set false for throw-away test stacks)."""
    oldest_message_alarm_s: int = 300
    """Alarm when the oldest queued message is older than this."""
    classifier: str = "small"
    """The age/gender classifier: ``small`` (the default) or ``accurate`` (HSE's faceres-deep: larger and
    slower; ``models/accurate/MODEL_CARD.md``)."""
    function_environment: Mapping[str, str] = field(default_factory=dict)
    """Extra analyzer settings for the handler (``MIN_FACE_CONFIDENCE``, ``AGE_GROUPS``, ...)."""
    audience_stage: bool = True
    """The smart-display stage for ``cameras/<id>/...`` frames: tracks, audience records, ad decisions
    (a FIFO topic and queue, a state table, a function, a decisions topic; nothing runs while no camera sends)."""
    audience_reorder_window_s: int = int(_AUDIENCE.reorder_window_s)
    """Frames wait this long for earlier ones before they are counted: redelivered and mildly reordered frames
    count once, in capture order. Decisions do not wait."""
    audience_presence_s: int = int(_AUDIENCE.presence_s)
    """A face counts towards a display's decision while its track was seen this recently."""
    track_max_gap_s: int = int(_AUDIENCE.tracker.max_gap_s)
    """A track ends when its face has not been seen for this long (a camera at 1 frame/s misses a few)."""
    rules_key: str = DEFAULT_RULES_KEY
    """Where in the results bucket the rules document lives (``agegender displays put-rules FILE``)."""
    audience_timeout_s: int = 30
    """The audience function's timeout (it reads and writes a few small items per frame)."""
    max_capture_ahead_s: int = int(DEFAULT_MAX_CAPTURE_AHEAD_S)
    """A frame's capture time further than this ahead of its upload (or, at the audience stage, of its
    arrival) is a wrong clock: the upload time is used, so one future-dated frame cannot hold a camera back."""
    audience_records_expiry_days: int = 730
    """Audience records (``audience/``: per-track and per-minute counts, no pixels) are deleted after this
    many days; 0 keeps them."""
    athena_results_expiry_days: int = 30
    """Athena query results (``athena-results/``) are deleted after this many days; 0 keeps them."""

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ConfigError("invalid agegender configuration: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        found = []
        if self.architecture not in ARCHITECTURES:
            found.append(f"architecture={self.architecture!r} must be one of {ARCHITECTURES}")
        if self.classifier not in CLASSIFIERS:
            found.append(f"classifier={self.classifier!r} must be one of {sorted(CLASSIFIERS)}")
        if self.python_version not in PYTHON_VERSIONS:
            found.append(f"python_version={self.python_version!r} must be one of {PYTHON_VERSIONS}")
        ranges = {
            "memory_mb": (128, 10240),
            "timeout_s": (1, 900),
            "batch_size": (1, 10000),
            "batching_window_s": (0, 300),
            "max_concurrency": (2, 1000),
            "max_receive_count": (1, 1000),
            "visibility_timeout_factor": (6, 100),
            "retention_days": (1, 14),
            "upload_expiry_days": (0, 3650),
            "results_expiry_days": (0, 3650),
            "oldest_message_alarm_s": (60, 1209600),
            "audience_reorder_window_s": (1, 60),
            "audience_presence_s": (1, 60),
            "track_max_gap_s": (1, 600),
            "audience_timeout_s": (3, 900),
            "max_capture_ahead_s": (0, 86400),
            "audience_records_expiry_days": (0, 3650),
            "athena_results_expiry_days": (0, 3650),
        }
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if not low <= value <= high:
                found.append(f"{name}={value} must be between {low} and {high}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            found.append(f"log_retention_days={self.log_retention_days} must be one of {LOG_RETENTION_DAYS}")
        if self.batch_size > 10 and self.batching_window_s < 1:
            found.append("batch_size above 10 needs batching_window_s of at least 1 (an SQS rule)")
        if self.visibility_timeout_s > 43200:
            found.append(f"visibility timeout {self.visibility_timeout_s} s exceeds SQS's 12 hours")
        if problem := prefix_problem(self.results_prefix):
            found.append(f"results_prefix: {problem}")
        if self.results_expiry_days and not self.results_prefix:
            found.append(
                "results_expiry_days needs a results_prefix (an expiry of the whole results bucket would "
                "delete the rules document and the audience records)"
            )
        if not self.name.replace("-", "").isalnum() or not self.name.islower():
            found.append(f"name={self.name!r} must be lower-case letters, digits and dashes")
        reserved = set(self.function_environment) & {
            "RESULTS_BUCKET",
            "RESULTS_PREFIX",
            "RESULTS_TOPIC_ARN",
            "CAMERA_TOPIC_ARN",
            "TIME_RESERVE_MS",
        }
        if reserved:
            found.append(f"function_environment may not set {sorted(reserved)} (the stack sets them)")
        return found

    @property
    def time_reserve_ms(self) -> int:
        """Invocation time a message must have left to be started: the function's default, at most a
        quarter of the timeout (a short test timeout must still let messages start).
        """
        return min(DEFAULT_TIME_RESERVE_MS, self.timeout_s * 1000 // 4)

    @property
    def visibility_timeout_s(self) -> int:
        """Queue visibility timeout: long enough that a slow batch is never delivered twice."""
        return self.timeout_s * self.visibility_timeout_factor

    @property
    def input_bucket_name(self) -> str:
        """Input bucket name in the local pipeline (the stack lets CloudFormation name its buckets)."""
        return f"{self.name}-input"

    @property
    def results_bucket_name(self) -> str:
        return f"{self.name}-results"

    @property
    def uploads_topic_name(self) -> str:
        return f"{self.name}-uploads"

    @property
    def results_topic_name(self) -> str:
        return f"{self.name}-results"

    @property
    def camera_topic_name(self) -> str:
        return f"{self.name}-camera-frames.fifo"

    @property
    def audience_queue_name(self) -> str:
        return f"{self.name}-audience.fifo"

    @property
    def audience_dlq_name(self) -> str:
        return f"{self.name}-audience-dlq.fifo"

    @property
    def state_table_name(self) -> str:
        return f"{self.name}-audience-state"

    @property
    def decisions_topic_name(self) -> str:
        return f"{self.name}-decisions"

    @property
    def queue_name(self) -> str:
        return f"{self.name}-inference"

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-inference-dlq"

    def handler_environment(
        self, *, results_bucket: str, results_topic_arn: str | None, camera_topic_arn: str | None = None
    ) -> dict[str, str]:
        """The function's environment variables (``agegender.settings`` reads them)."""
        env = {
            "RESULTS_BUCKET": results_bucket,
            "RESULTS_PREFIX": self.results_prefix,
            "DELETE_SOURCE": "true" if self.delete_source else "false",
            "NUM_THREADS": "1",
            "CLASSIFIER": self.classifier,
            "TIME_RESERVE_MS": str(self.time_reserve_ms),
            "MAX_CAPTURE_AHEAD_S": str(self.max_capture_ahead_s),
            "POWERTOOLS_SERVICE_NAME": self.name,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            **self.function_environment,
        }
        if results_topic_arn:
            env["RESULTS_TOPIC_ARN"] = results_topic_arn
        if camera_topic_arn:
            env["CAMERA_TOPIC_ARN"] = camera_topic_arn
        return env

    @property
    def age_groups(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The inference function's age-group names, and those that hold people under 18 (never targeted)."""
        table = AgeGroupTable.parse(self.function_environment.get("AGE_GROUPS", DEFAULT_AGE_GROUPS.spec()))
        return table.names, tuple(g.name for g in table.groups if g.low < MINOR_AGE)

    def audience_environment(self, *, table: str, results_bucket: str, decisions_topic_arn: str) -> dict[str, str]:
        """The audience function's environment variables (``audience.function.AudienceSettings`` reads them)."""
        names, minors = self.age_groups
        return {
            "STATE_TABLE": table,
            "RESULTS_BUCKET": results_bucket,
            "RULES_BUCKET": results_bucket,
            "RULES_KEY": self.rules_key,
            "DECISIONS_TOPIC_ARN": decisions_topic_arn,
            "AGE_GROUP_NAMES": ",".join(names),
            "MINOR_AGE_GROUPS": ",".join(minors),
            "MAX_CAPTURE_AHEAD_S": str(self.max_capture_ahead_s),
            "REORDER_WINDOW_S": str(self.audience_reorder_window_s),
            "PRESENCE_S": str(self.audience_presence_s),
            "TRACK_MAX_GAP_S": str(self.track_max_gap_s),
            "POWERTOOLS_SERVICE_NAME": f"{self.name}-audience",
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | str | None) -> PipelineConfig:
        """Defaults overridden by the context value (a mapping, or JSON text as ``cdk -c`` passes it)."""
        if context is None:
            return cls()
        if isinstance(context, str):
            try:
                context = json.loads(context)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"context {CONTEXT_KEY!r} is not valid JSON: {exc}") from exc
        if not isinstance(context, Mapping):
            raise ConfigError(f"context {CONTEXT_KEY!r} must be an object of settings")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(context) - set(fields))
        if unknown:
            raise ConfigError(f"unknown agegender settings {unknown}; known: {sorted(fields)}")
        values = {name: _coerce(name, value, type(getattr(cls(), name))) for name, value in context.items()}
        return cls(**values)


def _coerce(name: str, value: Any, kind: type) -> Any:
    """Context values may arrive as strings (``-c``); turn them into the field's type or say why not."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: str(v) for k, v in value.items()}
    raise ConfigError(f"{name}={value!r} is not a {kind.__name__}")
