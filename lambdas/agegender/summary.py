"""The compact result summary published for real-time consumers (smart displays, ad services).

A display needs, within a second, how many faces and their age group and gender; it does not
need boxes or landmarks. The summary carries those plus where the full result is. Its
``camera_id`` (from a ``cameras/<id>/...`` key) is also a message attribute, so a display's
SNS subscription can filter on its own camera.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from agegender.events import S3ObjectRef

CAMERA_PREFIX = "cameras/"


def camera_id(key: str) -> str | None:
    """``cameras/<id>/...`` -> ``<id>``; None for other keys."""
    if not key.startswith(CAMERA_PREFIX):
        return None
    camera, sep, _rest = key[len(CAMERA_PREFIX) :].partition("/")
    return camera if sep and camera else None


def result_summary(document: dict[str, Any], *, source: S3ObjectRef, result_bucket: str, result_key: str) -> dict:
    """Source, camera, face count, age group / gender / age per face, and the time, from one result document."""
    faces = [
        {
            "AgeGroup": face.get("AgeGroup"),
            "Gender": face.get("Gender", {}).get("Value"),
            "Age": face.get("Age", {}).get("Value"),
        }
        for face in document["FaceDetails"]
    ]
    error = document.get("Error")
    return {
        "SchemaVersion": document["SchemaVersion"],
        "Source": {"Bucket": source.bucket, "Key": source.key},
        "CameraId": camera_id(source.key),
        "Result": {"Bucket": result_bucket, "Key": result_key},
        "FaceCount": len(faces),
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
