import pytest

from agegender.events import S3ObjectRef
from agegender.frame_message import frame_id
from agegender.summary import FramePublisher, camera_id, result_summary


@pytest.mark.parametrize(
    ("key", "expected"),
    [("cameras/door-2/f.jpg", "door-2"), ("cameras/x/y/z.jpg", "x"), ("cameras/f.jpg", None), ("uploads/a.jpg", None)],
)
def test_camera_id_comes_from_the_key(key, expected):
    assert camera_id(key) == expected


BOX = {"Width": 0.1, "Height": 0.2, "Left": 0.3, "Top": 0.4}
DOCUMENT = {
    "SchemaVersion": "1",
    "Camera": {"Id": "c1", "CapturedAt": "2026-11-27T12:00:00.000Z", "CapturedAtSource": "key"},
    "FaceDetails": [
        {
            "BoundingBox": BOX,
            "AgeGroup": "adult",
            "AgeRange": {"Low": 27, "High": 35},
            "Gender": {"Value": "Female", "Confidence": 97.0},
            "Age": {"Value": 31.2},
            "Classified": True,
            "Pose": {"Roll": 1.0, "Yaw": -12.5, "Pitch": 3.0},
            "Attention": {"Value": True},
            "Landmarks": [{"Type": "nose", "X": 0.35, "Y": 0.5}],
            "Quality": {"Sharpness": 12.0},
        },
        {"BoundingBox": BOX, "Classified": False},
    ],
    "Error": None,
}


def test_summary_keeps_demographics_position_and_attention_and_drops_landmarks():
    summary = result_summary(DOCUMENT, source=S3ObjectRef("in", "cameras/c1/a.jpg"), result_bucket="r", result_key="k")
    assert summary["FaceCount"] == 2
    assert summary["Faces"][0] == {
        "AgeGroup": "adult", "Gender": "Female", "GenderConfidence": 97.0, "Age": 31.2,
        "AgeRange": {"Low": 27, "High": 35}, "Classified": True, "BoundingBox": BOX, "Attention": True, "Yaw": -12.5,
    }  # fmt: skip
    assert summary["Faces"][1]["Classified"] is False
    assert summary["Faces"][1]["Gender"] is None
    assert summary["CameraId"] == "c1"
    assert summary["Camera"]["CapturedAt"] == "2026-11-27T12:00:00.000Z"
    assert summary["Error"] is None
    assert "Landmarks" not in str(summary)
    assert "Quality" not in str(summary)


class RecordingSns:
    def __init__(self):
        self.messages = []

    def publish(self, **message):
        self.messages.append(message)


def test_frames_go_to_the_fifo_topic_grouped_by_camera_and_deduplicated_by_frame():
    sns = RecordingSns()
    publisher = FramePublisher(sns, "arn:aws:sns:eu-west-1:1:frames.fifo")
    frame = S3ObjectRef("in", "cameras/c1/a.jpg", version_id="v1", sequencer="0A")
    summary = result_summary(DOCUMENT, source=frame, result_bucket="r", result_key="k")
    publisher.publish(summary)
    publisher.publish(result_summary(DOCUMENT, source=frame, result_bucket="r", result_key="k"))  # a redelivery
    publisher.publish(result_summary(DOCUMENT, source=S3ObjectRef("in", "uploads/a.jpg"), result_bucket="r",
                                     result_key="k"))  # fmt: skip
    assert len(sns.messages) == 2  # the upload outside cameras/ is not a frame
    assert {m["MessageGroupId"] for m in sns.messages} == {"c1"}
    assert sns.messages[0]["MessageDeduplicationId"] == sns.messages[1]["MessageDeduplicationId"] == frame_id(summary)
    newer = result_summary(DOCUMENT, source=S3ObjectRef("in", "cameras/c1/a.jpg", version_id="v2", sequencer="0B"),
                           result_bucket="r", result_key="k")  # fmt: skip
    assert frame_id(newer) != frame_id(summary)


def test_summary_of_an_error_result_names_the_code():
    document = {"SchemaVersion": "1", "FaceDetails": [], "Error": {"Code": "InvalidImageFormat", "Message": "m"}}
    summary = result_summary(document, source=S3ObjectRef("in", "a.jpg"), result_bucket="r", result_key="k")
    assert summary["Error"] == "InvalidImageFormat"
    assert summary["CameraId"] is None
