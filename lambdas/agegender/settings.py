"""Function configuration from environment variables, validated once at cold start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agegender import METRICS_NAMESPACE, SERVICE_NAME
from agegender.analyzer import AnalyzerSettings
from agegender.assets import CLASSIFIERS
from agegender.capture import DEFAULT_MAX_CAPTURE_AHEAD_S
from agegender.decoding import DEFAULT_DEADLINE_S
from agegender.detector import YUNET_N
from agegender.exceptions import InvalidConfigurationError
from agegender.labels import AgeGroupTable
from agegender.locations import DEFAULT_RESULTS_PREFIX, prefix_problem
from agegender.pose import AttentionLimits

_ANALYZER = AnalyzerSettings()
#: Twice the decode deadline: a message started with this much left finishes before the timeout.
DEFAULT_TIME_RESERVE_MS = int(2 * 1000 * DEFAULT_DEADLINE_S)
#: Variable -> (meaning, default); RESULTS_BUCKET has no default. Analyzer defaults are AnalyzerSettings'.
VARIABLES = {
    "RESULTS_BUCKET": ("bucket the result JSON files are written to", None),
    "RESULTS_PREFIX": ("key prefix of the results: empty or ending with '/'", DEFAULT_RESULTS_PREFIX),
    "RESULTS_TOPIC_ARN": ("SNS topic for result summaries (smart displays); empty: none", ""),
    "CAMERA_TOPIC_ARN": (
        "SNS FIFO topic for camera frames' summaries (the audience stage; group = camera); empty: none",
        "",
    ),
    "ATTENTION_YAW_DEG": ("faces turned further (yaw) are not attentive", f"{_ANALYZER.attention.yaw:g}"),
    "ATTENTION_PITCH_DEG": (
        "faces tilted further (pitch) are not attentive",
        f"{_ANALYZER.attention.pitch:g}",
    ),
    "DELETE_SOURCE": ("delete each upload once its result is written: true | false", "false"),
    "CLASSIFIER": (f"the shipped classifier: {' | '.join(CLASSIFIERS)}", "small"),
    "MODEL_PATH": ("a classifier .tflite of your own (contract beside it); empty: CLASSIFIER's", ""),
    "NUM_THREADS": ("TFLite threads", "1"),
    "MAX_IMAGE_BYTES": ("larger objects get an ImageTooLarge result", str(_ANALYZER.max_bytes)),
    "MAX_IMAGE_PIXELS": ("images declaring more pixels get an ImageTooLarge result", str(_ANALYZER.max_pixels)),
    "MIN_FACE_CONFIDENCE": ("detection confidence threshold, 0-100", f"{_ANALYZER.min_confidence * 100:g}"),
    "DETECTION_CLOSE_UP_SIDE": (
        "side (px) of the detector's close-up pass (a shipped square input); 0 turns it off",
        str(_ANALYZER.close_up_side),
    ),
    "MIN_EYE_DISTANCE_PX": ("smaller faces are reported without age/gender", str(_ANALYZER.min_eye_distance)),
    "AGE_GROUPS": ("AgeGroup table, NAME:LOW-HIGH,...,NAME:LOW-", _ANALYZER.age_groups.spec()),
    "MAX_CAPTURE_AHEAD_S": (
        "a camera frame's capture time further than this after its upload is a wrong clock: the upload time is used",
        f"{DEFAULT_MAX_CAPTURE_AHEAD_S:g}",
    ),
    "TIME_RESERVE_MS": (
        "messages are not started with less of the invocation left (they return to the queue)",
        str(DEFAULT_TIME_RESERVE_MS),
    ),
    "POWERTOOLS_SERVICE_NAME": ("service name in logs and metrics", SERVICE_NAME),
    "POWERTOOLS_METRICS_NAMESPACE": ("CloudWatch namespace of the metrics", METRICS_NAMESPACE),
}


@dataclass(frozen=True)
class Settings:
    """Everything the handler needs to know about its environment."""

    results_bucket: str
    results_prefix: str
    results_topic_arn: str | None
    delete_source: bool
    model_path: Path
    num_threads: int
    analyzer: AnalyzerSettings
    service_name: str = SERVICE_NAME
    metrics_namespace: str = METRICS_NAMESPACE
    time_reserve_ms: int = DEFAULT_TIME_RESERVE_MS
    camera_topic_arn: str | None = None
    max_capture_ahead_s: float = DEFAULT_MAX_CAPTURE_AHEAD_S

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and validate; raises one InvalidConfigurationError naming every problem."""
        problems: list[str] = []

        def get(name: str) -> str:
            return env.get(name, VARIABLES[name][1] or "").strip()

        def number(name: str, kind: type, low: float, high: float | None = None) -> float:
            raw = get(name)
            try:
                value = kind(raw)
            except ValueError:
                problems.append(f"{name}={raw!r} is not a {kind.__name__} ({VARIABLES[name][0]})")
                return kind(VARIABLES[name][1])
            if value < low or (high is not None and value > high):
                problems.append(f"{name}={raw} must be between {low} and {high if high is not None else 'any'}")
            return value

        bucket = get("RESULTS_BUCKET")
        if not bucket:
            problems.append(f"RESULTS_BUCKET is required ({VARIABLES['RESULTS_BUCKET'][0]})")
        prefix = get("RESULTS_PREFIX")
        if problem := prefix_problem(prefix):
            problems.append(f"RESULTS_PREFIX: {problem}")
        delete_source = get("DELETE_SOURCE").lower()
        if delete_source not in ("true", "false"):
            problems.append(f"DELETE_SOURCE={delete_source!r} must be true or false")
        topic_arn = get("RESULTS_TOPIC_ARN")
        if topic_arn and not topic_arn.startswith("arn:"):
            problems.append(f"RESULTS_TOPIC_ARN={topic_arn!r} is not an ARN")
        camera_topic_arn = get("CAMERA_TOPIC_ARN")
        if camera_topic_arn and not (camera_topic_arn.startswith("arn:") and camera_topic_arn.endswith(".fifo")):
            problems.append(f"CAMERA_TOPIC_ARN={camera_topic_arn!r} is not the ARN of a FIFO topic (.fifo)")
        classifier = get("CLASSIFIER")
        if classifier not in CLASSIFIERS:
            problems.append(f"CLASSIFIER={classifier!r} must be one of {sorted(CLASSIFIERS)}")
        model_path = Path(get("MODEL_PATH") or CLASSIFIERS.get(classifier, CLASSIFIERS["small"]))
        if not model_path.exists():
            problems.append(f"MODEL_PATH={model_path} does not exist")
        try:
            groups = AgeGroupTable.parse(get("AGE_GROUPS"))
        except InvalidConfigurationError as exc:
            problems.append(f"AGE_GROUPS: {exc}")
            groups = _ANALYZER.age_groups
        threads = int(number("NUM_THREADS", int, 1, 64))
        reserve = int(number("TIME_RESERVE_MS", int, 0, 900_000))
        max_ahead = number("MAX_CAPTURE_AHEAD_S", float, 0, 86_400)
        close_up_side = int(number("DETECTION_CLOSE_UP_SIDE", int, 0, 4096))
        squares = sorted(width for width, height in YUNET_N.shapes if width == height)
        if close_up_side and close_up_side not in squares:
            problems.append(f"DETECTION_CLOSE_UP_SIDE={close_up_side} must be 0 or a shipped square input: {squares}")
        analyzer = AnalyzerSettings(
            min_confidence=number("MIN_FACE_CONFIDENCE", float, 0, 100) / 100.0,
            close_up_side=close_up_side,
            min_eye_distance=number("MIN_EYE_DISTANCE_PX", float, 0),
            age_groups=groups,
            attention=AttentionLimits(
                yaw=number("ATTENTION_YAW_DEG", float, 0, 90), pitch=number("ATTENTION_PITCH_DEG", float, 0, 90)
            ),
            max_bytes=int(number("MAX_IMAGE_BYTES", int, 1)),
            max_pixels=int(number("MAX_IMAGE_PIXELS", int, 1)),
        )
        if problems:
            raise InvalidConfigurationError("invalid configuration: " + "; ".join(problems))
        return cls(
            bucket,
            prefix,
            topic_arn or None,
            delete_source == "true",
            model_path,
            threads,
            analyzer,
            service_name=get("POWERTOOLS_SERVICE_NAME"),
            metrics_namespace=get("POWERTOOLS_METRICS_NAMESPACE"),
            time_reserve_ms=reserve,
            camera_topic_arn=camera_topic_arn or None,
            max_capture_ahead_s=max_ahead,
        )
