"""A camera frame as the audience stage receives it: the inference function's frame summary."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any


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

    @property
    def centre(self) -> tuple[float, float]:
        """The box centre (ratios of the frame)."""
        return self.left + self.width / 2, self.top + self.height / 2


@dataclass(frozen=True)
class Frame:
    """One analysed frame of one camera."""

    camera: str
    frame_id: str
    captured_at: float  # epoch seconds
    faces: tuple[Face, ...]
    uploaded_key: str = ""  # the upload's key, named in decision events as their cause


class NotAFrameError(ValueError):
    """The message is not a camera frame the stage can use (no camera, no capture time, an error result)."""


def _face(item: dict[str, Any]) -> Face:
    box = item.get("BoundingBox") or {}
    return Face(
        left=float(box.get("Left", 0.0)),
        top=float(box.get("Top", 0.0)),
        width=float(box.get("Width", 0.0)),
        height=float(box.get("Height", 0.0)),
        classified=bool(item.get("Classified")),
        gender=item.get("Gender"),
        gender_confidence=float(item.get("GenderConfidence") or 0.0),
        age=None if item.get("Age") is None else float(item["Age"]),
        age_group=item.get("AgeGroup"),
        attentive=bool(item.get("Attention")),
    )


def parse_frame(body: str | dict[str, Any]) -> Frame:
    """The frame a summary message describes (raw or in an SNS envelope); raises ``NotAFrameError``."""
    message = json.loads(body) if isinstance(body, str) else body
    if "Message" in message and "TopicArn" in message:  # an SNS envelope (no raw delivery)
        message = json.loads(message["Message"])
    camera = message.get("Camera") or {}
    if not camera.get("Id") or not camera.get("CapturedAt"):
        raise NotAFrameError(f"not a camera frame with a capture time: {message.get('Source')}")
    if message.get("Error"):
        raise NotAFrameError(f"the frame's analysis failed ({message['Error']}): {message.get('Source')}")
    captured = datetime.fromisoformat(camera["CapturedAt"].replace("Z", "+00:00")).timestamp()
    return Frame(
        camera=camera["Id"],
        frame_id=message.get("FrameId") or f"{camera['Id']}@{captured}",
        captured_at=captured,
        faces=tuple(_face(face) for face in message.get("Faces", [])),
        uploaded_key=(message.get("Source") or {}).get("Key", ""),
    )
