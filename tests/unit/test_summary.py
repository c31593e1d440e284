import pytest

from agegender.events import S3ObjectRef
from agegender.summary import camera_id, result_summary


@pytest.mark.parametrize(
    ("key", "expected"),
    [("cameras/door-2/f.jpg", "door-2"), ("cameras/x/y/z.jpg", "x"), ("cameras/f.jpg", None), ("uploads/a.jpg", None)],
)
def test_camera_id_comes_from_the_key(key, expected):
    assert camera_id(key) == expected


def test_summary_keeps_demographics_and_drops_geometry():
    document = {
        "SchemaVersion": "1",
        "FaceDetails": [
            {
                "BoundingBox": {},
                "AgeGroup": "adult",
                "Gender": {"Value": "Female", "Confidence": 97.0},
                "Age": {"Value": 31.2},
            },
            {"BoundingBox": {}, "Classified": False},
        ],
        "Error": None,
    }
    summary = result_summary(document, source=S3ObjectRef("in", "cameras/c1/a.jpg"), result_bucket="r", result_key="k")
    assert summary["FaceCount"] == 2
    assert summary["Faces"] == [
        {"AgeGroup": "adult", "Gender": "Female", "Age": 31.2},
        {"AgeGroup": None, "Gender": None, "Age": None},
    ]
    assert summary["CameraId"] == "c1"
    assert summary["Error"] is None
    assert "BoundingBox" not in str(summary)


def test_summary_of_an_error_result_names_the_code():
    document = {"SchemaVersion": "1", "FaceDetails": [], "Error": {"Code": "InvalidImageFormat", "Message": "m"}}
    summary = result_summary(document, source=S3ObjectRef("in", "a.jpg"), result_bucket="r", result_key="k")
    assert summary["Error"] == "InvalidImageFormat"
    assert summary["CameraId"] is None
