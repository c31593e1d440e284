"""The compact result summary published for real-time consumers (smart displays, ad services).

A display needs, within a second, how many faces and their age group and gender; the audience
stage also needs where each face is (to follow it between frames), whether it looked at the
camera and how sure the classifier was. The summary carries those, the frame's ``Camera``
(capture time) and where the full result is; no landmarks, pixels or embeddings. Its
``camera_id`` (from a ``cameras/<id>/...`` key) is also a message attribute, so a display's
SNS subscription can filter on its own camera.

Camera frames may also go to a FIFO topic (``FramePublisher``) as ``agegender.frame_message``
messages, with the camera as the message group and a deduplication id fixed by the upload's
version, so the audience stage sees each camera's frames one at a time and a redelivered upload's
frame once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from agegender.capture import camera_id, camera_id_problem
from agegender.events import S3ObjectRef
from agegender.frame_message import frame_message


def _face_summary(face: dict[str, Any]) -> dict[str, Any]:
    gender = face.get("Gender") or {}
    return {
        "AgeGroup": face.get("AgeGroup"),
        "Gender": gender.get("Value"),
        "GenderConfidence": gender.get("Confidence"),
        "Age": (face.get("Age") or {}).get("Value"),
        "AgeRange": face.get("AgeRange"),
        "Classified": face.get("Classified", False),
        "BoundingBox": face.get("BoundingBox"),
        "Attention": (face.get("Attention") or {}).get("Value"),
        "Yaw": (face.get("Pose") or {}).get("Yaw"),
    }


#: Faces a summary carries, the largest first (``FaceCount`` stays the total): an SNS message holds 256 KB.
MAX_SUMMARY_FACES = 64


def _height(face: dict[str, Any]) -> float:
    box = face.get("BoundingBox") or {}
    return -float(box.get("Height") or 0.0)


def result_summary(
    document: dict[str, Any],
    *,
    source: S3ObjectRef,
    result_bucket: str,
    result_key: str,
    appearance: list[list[int]] | None = None,
) -> dict:
    """Source, camera, face count, the largest faces (``_face_summary``), and the time, from one result document.

    ``appearance``: each face's colour histograms (``agegender.appearance``), for the camera frames' summary
    only; they link detections between frames and are never part of a result.
    """
    details = document["FaceDetails"]
    order = sorted(range(len(details)), key=lambda i: _height(details[i]))[:MAX_SUMMARY_FACES]
    if len(details) <= MAX_SUMMARY_FACES:
        order = list(range(len(details)))
    faces = [_face_summary(details[i]) for i in order]
    if appearance is not None and len(appearance) == len(details):
        for face, i in zip(faces, order, strict=True):
            face["Appearance"] = appearance[i]
    error = document.get("Error")
    camera = camera_id(source.key)
    return {
        "SchemaVersion": document["SchemaVersion"],
        "Source": {
            "Bucket": source.bucket,
            "Key": source.key,
            "VersionId": source.version_id,
            "ETag": source.etag,
            "Sequencer": source.sequencer,
        },
        # An id that cannot name a message group or a partition is not sent on (the result says why).
        "CameraId": camera if camera and not camera_id_problem(camera) else None,
        "Camera": document.get("Camera"),
        "Image": document.get("Image"),
        "Result": {"Bucket": result_bucket, "Key": result_key},
        "FaceCount": len(details),
        "Faces": faces,
        "Error": error["Code"] if error else None,
        "Time": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }


class SummaryPublisher:
    """Publishes summaries to an SNS topic (the client and topic are passed in, so tests use fakes)."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn

    def publish(self, summary: dict[str, Any]) -> None:
        """One SNS message; raises on failure so the queue retries (the result write is idempotent)."""
        attributes = {"face_count": {"DataType": "Number", "StringValue": str(summary["FaceCount"])}}
        if summary["CameraId"]:
            attributes["camera_id"] = {"DataType": "String", "StringValue": summary["CameraId"]}
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(summary, ensure_ascii=False),
            MessageAttributes=attributes,
        )


class FramePublisher(SummaryPublisher):
    """Publishes camera frames' summaries to a FIFO topic: one message group per camera, deduplicated per frame."""

    def publish(self, summary: dict[str, Any]) -> None:
        """One FIFO message for a camera frame (other objects are not frames: nothing is sent)."""
        if not summary["CameraId"]:
            return
        message = frame_message(summary)
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(message, ensure_ascii=False, allow_nan=False),
            MessageGroupId=summary["CameraId"],
            MessageDeduplicationId=message["FrameId"],
        )
