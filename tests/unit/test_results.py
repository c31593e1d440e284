import numpy as np

from agegender.classifier import FaceAttributes
from agegender.detector import Detection
from agegender.exceptions import InvalidImageFormatError
from agegender.labels import DEFAULT_AGE_GROUPS
from agegender.pose import Pose
from agegender.results import SCHEMA_VERSION, face_detail, result_document


def detection():
    keypoints = np.array([[0.40, 0.30], [0.50, 0.31], [0.45, 0.40], [0.41, 0.45], [0.49, 0.46]])
    return Detection((0.3, 0.2, 0.6, 0.7), 0.9876, keypoints)


def test_face_detail_in_rekognition_shape():
    attributes = FaceAttributes(0.8, 27.44, 3.2)
    pose = Pose(1.0, 2.0, 5.71)
    detail = face_detail(detection(), attributes, pose=pose, attentive=True, age_groups=DEFAULT_AGE_GROUPS)
    assert detail["BoundingBox"] == {"Width": 0.3, "Height": 0.5, "Left": 0.3, "Top": 0.2}
    assert detail["Confidence"] == 98.76
    assert detail["AgeRange"] == {"Low": 24, "High": 31}
    assert detail["Age"] == {"Value": 27.4}
    assert detail["AgeGroup"] == "adult"
    assert detail["Gender"] == {"Value": "Female", "Confidence": 80.0}
    assert detail["Classified"] is True
    assert detail["Pose"] == {"Roll": 5.71, "Yaw": 1.0, "Pitch": 2.0}
    assert detail["Attention"] == {"Value": True}
    landmarks = {lm["Type"]: (lm["X"], lm["Y"]) for lm in detail["Landmarks"]}
    assert landmarks["eyeLeft"] == (0.40, 0.30)  # the viewer's left: the detector's subject-right eye
    assert landmarks["eyeRight"] == (0.50, 0.31)
    assert landmarks["mouthLeft"] == (0.41, 0.45)
    assert set(landmarks) == {"eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"}  # Rekognition's names


def test_too_small_faces_are_reported_without_guesses():
    detail = face_detail(detection(), None, pose=None, attentive=None, age_groups=DEFAULT_AGE_GROUPS)
    assert detail["Classified"] is False
    assert not {"AgeRange", "Age", "AgeGroup", "Gender"} & set(detail)
    assert "BoundingBox" in detail


def test_result_documents():
    ok = result_document(source={"Path": "a.jpg"}, model={"Name": "m"}, image={"Width": 1}, faces=[{"x": 1}])
    assert ok == {
        "SchemaVersion": SCHEMA_VERSION, "Source": {"Path": "a.jpg"}, "Image": {"Width": 1},
        "Model": {"Name": "m"}, "FaceDetails": [{"x": 1}], "Error": None,
    }  # fmt: skip
    bad = result_document(source={"Path": "b"}, model={}, error=InvalidImageFormatError("not an image"))
    assert bad["Error"] == {"Code": "InvalidImageFormat", "Message": "not an image"}
    assert bad["FaceDetails"] == []
    assert bad["Image"] is None
