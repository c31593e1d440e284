"""The result document (one per input image), shaped like Rekognition's DetectFaces response.

Fields marked "ours" in ``shared/design/PRODUCT.md`` are additions; everything else keeps
Rekognition's names and units (ratios of the image for boxes and landmarks, 0-100
confidences). Landmark left/right are from the viewer's side: ``eyeLeft`` is the eye on the
image's left, the subject's right eye, as in Rekognition's sample responses.
"""

from __future__ import annotations

from typing import Any

from agegender.classifier import FaceAttributes
from agegender.detector import Detection
from agegender.exceptions import AgeGenderError
from agegender.labels import AgeGroupTable
from agegender.pose import Pose

SCHEMA_VERSION = "1"
#: Detector keypoint index (``agegender.detector.KEYPOINTS``) -> Rekognition landmark type,
#: left/right from the viewer's side: YuNet's index 0 is the subject's right eye, which the
#: viewer sees on the left, and index 3 the subject's right mouth corner.
LANDMARK_TYPES = {0: "eyeLeft", 1: "eyeRight", 2: "nose", 3: "mouthLeft", 4: "mouthRight"}


def _ratio(value: float) -> float:
    return round(min(1.0, max(0.0, float(value))), 5)


def face_detail(
    detection: Detection,
    attributes: FaceAttributes | None,
    *,
    pose: Pose | None,
    attentive: bool | None,
    age_groups: AgeGroupTable,
    landmarks: bool = True,
    quality: dict[str, float] | None = None,
) -> dict[str, Any]:
    """One ``FaceDetails`` entry; ``attributes`` None means the face was too small to classify."""
    left, top, right, bottom = detection.box
    detail: dict[str, Any] = {
        "BoundingBox": {
            "Width": _ratio(right - left),
            "Height": _ratio(bottom - top),
            "Left": _ratio(left),
            "Top": _ratio(top),
        },
        "Confidence": round(100.0 * detection.score, 3),
    }
    if attributes is not None:
        low, high = attributes.age_range
        gender, confidence = attributes.gender
        detail["AgeRange"] = {"Low": low, "High": high}
        detail["Age"] = {"Value": round(attributes.age, 1)}
        detail["AgeGroup"] = age_groups.group_of(attributes.age)
        detail["Gender"] = {"Value": gender, "Confidence": round(confidence, 3)}
    detail["Classified"] = attributes is not None
    if landmarks:
        detail["Landmarks"] = [
            {"Type": name, "X": _ratio(detection.keypoints[index][0]), "Y": _ratio(detection.keypoints[index][1])}
            for index, name in LANDMARK_TYPES.items()
        ]
    if pose is not None:
        detail["Pose"] = {"Roll": round(pose.roll, 2), "Yaw": round(pose.yaw, 2), "Pitch": round(pose.pitch, 2)}
    if attentive is not None:
        detail["Attention"] = {"Value": attentive}
    if quality is not None:
        detail["Quality"] = quality
    return detail


def result_document(
    *,
    source: dict[str, Any],
    model: dict[str, Any],
    image: dict[str, Any] | None = None,
    faces: list[dict[str, Any]] | None = None,
    error: AgeGenderError | None = None,
    camera: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole result: an analysis (``image`` and ``faces``) or a typed ``error``; ``Camera`` for camera frames."""
    document = {
        "SchemaVersion": SCHEMA_VERSION,
        "Source": source,
        "Image": image,
        "Model": model,
        "FaceDetails": [] if faces is None else faces,
        "Error": None if error is None else {"Code": error.code, "Message": str(error)},
    }
    if camera is not None:
        document["Camera"] = camera
    return document
