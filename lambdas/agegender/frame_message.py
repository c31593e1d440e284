"""The camera frame message, both ways: what the inference function publishes for each camera frame and
what the audience stage reads from it. The one owner of its schema (``SCHEMA``) and its parsing.

The message is the frame's result summary (``agegender.summary.result_summary``: camera, capture time,
each face's box, classifier output, attention, and the colour histograms beside it) plus ``Schema`` and
a ``FrameId`` fixed by the upload's version (``frame_message``). Plain Python: the audience stage, which
carries no numpy, imports it.

Every message is read defensively: whatever its body, ``parse_frame`` returns a ``Frame`` whose
numbers are finite and in range, or raises ``NotAFrameError`` with a typed ``reason`` (the stage
skips the message and counts it). A frame keeps at most ``MAX_FACES`` faces, the largest, and says
how many it left out, so one crowded or hostile frame cannot outgrow the stage's state.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agegender.capture import EARLIEST, camera_id_problem
from agegender.events import sns_payload

#: The message's schema; ``parse_frame`` reads this one (and messages from before it had a name).
SCHEMA = "agegender.frame/2"

#: Faces of one frame the stage follows (the largest); a frame with more is crowded (``Frame.faces_dropped``).
MAX_FACES = 32
#: Capture times from this year on are not real (records are partitioned by date).
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
#: The longest appearance descriptor read (``agegender.appearance`` makes 24 numbers).
APPEARANCE_LENGTH = 48
#: The largest message the stage reads (an SNS message is at most 256 KB).
MAX_MESSAGE_BYTES = 262_144


@dataclass(frozen=True)
class Face:
    """One face of a frame: where (ratios of the frame), and what the classifier said, if anything."""

    left: float
    top: float
    width: float
    height: float
    classified: bool
    gender: str | None = None
    gender_confidence: float = 0.0  # 0-100
    age: float | None = None
    age_group: str | None = None
    attentive: bool = False
    age_low: float | None = None  # the low end of the face's AgeRange
    #: Colour histograms of the hair and clothing beside the face (``agegender.appearance``); links detections only.
    appearance: tuple[int, ...] = ()

    @property
    def centre(self) -> tuple[float, float]:
        """The box centre (ratios of the frame)."""
        return self.left + self.width / 2, self.top + self.height / 2

    @property
    def age_known(self) -> bool:
        """Classified with an age estimate: anything less counts as a possible minor."""
        return self.classified and self.age is not None


@dataclass(frozen=True)
class Frame:
    """One analysed frame of one camera."""

    camera: str
    frame_id: str
    captured_at: float  # epoch seconds
    faces: tuple[Face, ...]
    uploaded_key: str = ""  # the upload's key, named in decision events as their cause
    faces_dropped: int = 0  # faces beyond MAX_FACES, left out (the frame was crowded)
    aspect: float = 16 / 9  # width over height: boxes are ratios of each, distances need both


class NotAFrameError(ValueError):
    """The message is not a camera frame the stage can use; ``reason`` names why, for the skip metric."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _number(value: Any, low: float, high: float) -> float | None:
    """A finite number clamped to [low, high]; None for anything else (booleans, strings, NaN, infinities)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return min(high, max(low, float(value)))


def _text(value: Any, limit: int = 64) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _face(item: Any) -> Face | None:
    """A face from its summary, or None where its box is unusable (it is left out, not guessed)."""
    if not isinstance(item, dict):
        return None
    box = item.get("BoundingBox")
    if not isinstance(box, dict):
        return None
    left, top = _number(box.get("Left"), -1.0, 2.0), _number(box.get("Top"), -1.0, 2.0)
    width, height = _number(box.get("Width"), 0.0, 2.0), _number(box.get("Height"), 0.0, 2.0)
    if left is None or top is None or not width or not height:
        return None
    raw_range = item.get("AgeRange")
    age_range: dict[str, Any] = raw_range if isinstance(raw_range, dict) else {}
    age = _number(item.get("Age"), 0.0, 120.0)
    classified = item.get("Classified") is True
    return Face(
        left=left,
        top=top,
        width=width,
        height=height,
        classified=classified,
        gender=_text(item.get("Gender")),
        gender_confidence=_number(item.get("GenderConfidence"), 0.0, 100.0) or 0.0,
        age=age if classified else None,
        age_group=_text(item.get("AgeGroup")),
        attentive=item.get("Attention") is True,
        age_low=_number(age_range.get("Low"), 0.0, 120.0) if classified else None,
        appearance=_appearance(item.get("Appearance")),
    )


def _appearance(value: Any) -> tuple[int, ...]:
    """A descriptor of at most ``APPEARANCE_LENGTH`` small whole numbers, else none."""
    if not isinstance(value, list) or len(value) > APPEARANCE_LENGTH:
        return ()
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100 for v in value):
        return ()
    return tuple(value)


def _captured_at(camera: dict[str, Any]) -> float:
    raw = camera.get("CapturedAt")
    if not isinstance(raw, str):
        raise NotAFrameError("NoCaptureTime", "the frame has no capture time")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError("no time zone")
        if not EARLIEST <= moment < LATEST:
            raise ValueError(f"outside {EARLIEST.year}-{LATEST.year - 1}")
        return moment.timestamp()
    except (ValueError, OverflowError) as exc:
        raise NotAFrameError("BadCaptureTime", f"{raw[:64]!r}: {exc}") from exc


def _message(body: str | bytes | dict[str, Any]) -> dict[str, Any]:
    if isinstance(body, str | bytes) and len(body) > MAX_MESSAGE_BYTES:
        raise NotAFrameError("TooLarge", f"{len(body)} bytes")
    try:
        message = sns_payload(json.loads(body) if isinstance(body, str | bytes) else body)
    except (ValueError, TypeError, RecursionError) as exc:
        raise NotAFrameError("NotJson", str(exc)[:200]) from exc
    if not isinstance(message, dict):
        raise NotAFrameError("NotAnObject", f"a JSON {type(message).__name__}")
    if message.get("Schema", SCHEMA) != SCHEMA:
        raise NotAFrameError("UnknownSchema", str(message.get("Schema"))[:64])
    return message


def frame_id(summary: dict[str, Any]) -> str:
    """The id of the frame a summary describes: the same for every delivery of one upload's version."""
    source = summary["Source"]
    parts = (source.get(name) or "" for name in ("Bucket", "Key", "VersionId", "ETag", "Sequencer"))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def frame_message(summary: dict[str, Any]) -> dict[str, Any]:
    """The message published for a camera frame's summary: the summary, its schema and its frame id."""
    return {**summary, "Schema": SCHEMA, "FrameId": frame_id(summary)}


def parse_frame(body: str | bytes | dict[str, Any]) -> Frame:
    """The frame a summary message describes (raw or in an SNS envelope); raises ``NotAFrameError``."""
    message = _message(body)
    camera = message.get("Camera")
    if not isinstance(camera, dict) or not camera.get("Id"):
        raise NotAFrameError("NotACameraFrame", "no Camera.Id")
    camera_id = camera["Id"]
    if not isinstance(camera_id, str) or camera_id_problem(camera_id):
        raise NotAFrameError("InvalidCameraId", repr(camera_id)[:200])
    if message.get("Error"):
        raise NotAFrameError("AnalysisFailed", str(message["Error"])[:200])
    captured = _captured_at(camera)
    raw_faces = message.get("Faces", [])
    if not isinstance(raw_faces, list):
        raise NotAFrameError("BadFaces", f"Faces is a {type(raw_faces).__name__}")
    faces = [face for face in map(_face, raw_faces[: MAX_FACES * 64]) if face is not None]
    kept = sorted(faces, key=lambda f: -f.height)[:MAX_FACES]
    count = message.get("FaceCount")
    total = max(len(raw_faces), count if isinstance(count, int) and not isinstance(count, bool) else 0)
    raw_image = message.get("Image")
    image: dict[str, Any] = raw_image if isinstance(raw_image, dict) else {}
    width, height = _number(image.get("Width"), 1, 1e6), _number(image.get("Height"), 1, 1e6)
    frame_id = message.get("FrameId")
    raw_source = message.get("Source")
    source: dict[str, Any] = raw_source if isinstance(raw_source, dict) else {}
    return Frame(
        camera=camera_id,
        frame_id=frame_id[:128] if isinstance(frame_id, str) and frame_id else f"{camera_id}@{captured}",
        captured_at=captured,
        faces=tuple(kept),
        uploaded_key=_text(source.get("Key"), 1024) or "",
        faces_dropped=total - len(kept),
        aspect=min(5.0, max(0.2, width / height)) if width and height else 16 / 9,
    )
