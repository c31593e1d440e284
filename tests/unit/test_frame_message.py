"""The camera frame message: read defensively, usable numbers or a typed reason to skip it (agegender.frame_message)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agegender.events import S3ObjectRef
from agegender.frame_message import MAX_FACES, NotAFrameError, parse_frame
from agegender.summary import FramePublisher, result_summary


def summary(**changes) -> dict:
    message = {
        "FrameId": "f1",
        "Camera": {"Id": "door-2", "CapturedAt": "2026-11-27T12:00:05Z"},
        "Error": None,
        "Source": {"Key": "cameras/door-2/a.jpg"},
        "Faces": [
            {
                "BoundingBox": {"Left": 0.4, "Top": 0.3, "Width": 0.1, "Height": 0.12},
                "Classified": True,
                "Gender": "Female",
                "GenderConfidence": 96.0,
                "Age": 30.0,
                "AgeRange": {"Low": 24, "High": 36},
                "AgeGroup": "adult",
                "Attention": True,
            }
        ],
    }
    message.update(changes)
    return message


def test_a_frame_and_its_face():
    frame = parse_frame(json.dumps(summary()))
    (face,) = frame.faces
    assert (frame.camera, frame.frame_id, frame.faces_dropped) == ("door-2", "f1", 0)
    assert (face.age, face.age_low, face.age_known, face.gender_confidence) == (30.0, 24.0, True, 96.0)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "NotJson"),
        (b"\xff\xfe{", "NotJson"),
        ("[1, 2]", "NotAnObject"),
        ("null", "NotAnObject"),
        (json.dumps({"Type": "Notification", "Message": "{", "TopicArn": "t"}), "NotJson"),
        (json.dumps(summary(Camera=None)), "NotACameraFrame"),
        (json.dumps(summary(Camera="door")), "NotACameraFrame"),
        (json.dumps(summary(Camera={"Id": "a/b", "CapturedAt": "2026-11-27T12:00:05Z"})), "InvalidCameraId"),
        (json.dumps(summary(Camera={"Id": "lobby cam", "CapturedAt": "2026-11-27T12:00:05Z"})), "InvalidCameraId"),
        (json.dumps(summary(Camera={"Id": "caméra<", "CapturedAt": "2026-11-27T12:00:05Z"})), "InvalidCameraId"),
        (json.dumps(summary(Camera={"Id": "c" * 129, "CapturedAt": "2026-11-27T12:00:05Z"})), "InvalidCameraId"),
        (json.dumps(summary(Camera={"Id": 7, "CapturedAt": "2026-11-27T12:00:05Z"})), "InvalidCameraId"),
        (json.dumps(summary(Camera={"Id": "c"})), "NoCaptureTime"),
        (json.dumps(summary(Camera={"Id": "c", "CapturedAt": 12})), "NoCaptureTime"),
        (json.dumps(summary(Camera={"Id": "c", "CapturedAt": "yesterday"})), "BadCaptureTime"),
        (json.dumps(summary(Camera={"Id": "c", "CapturedAt": "0001-01-01T00:00:00+01:00"})), "BadCaptureTime"),
        (json.dumps(summary(Camera={"Id": "c", "CapturedAt": "2026-11-27T12:00:05"})), "BadCaptureTime"),
        (json.dumps(summary(Error="InvalidImageFormat")), "AnalysisFailed"),
        (json.dumps(summary(Faces={"a": 1})), "BadFaces"),
        ("x" * 300_000, "TooLarge"),
    ],
)
def test_unusable_messages_have_a_typed_reason(body, reason):
    with pytest.raises(NotAFrameError) as raised:
        parse_frame(body)
    assert raised.value.reason == reason


def test_numbers_are_finite_and_in_range():
    bad = {
        "BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.1, "Height": 0.1},
        "Classified": True,
        "GenderConfidence": 1e308,
        "Age": float("nan"),
        "AgeRange": {"Low": float("-inf")},
        "Gender": ["Female"],
        "Attention": "yes",
    }
    (face,) = parse_frame(json.dumps(summary(Faces=[bad]))).faces  # json.dumps writes NaN as NaN: Python reads it
    assert face.gender_confidence == 100.0
    assert face.age is None
    assert face.age_low is None
    assert not face.age_known  # an unknown age: a possible minor
    assert face.gender is None
    assert face.attentive is False


def test_faces_without_a_usable_box_are_left_out_and_counted():
    faces = [{"BoundingBox": {"Left": "a"}}, {"BoundingBox": None}, 5, {"BoundingBox": {"Left": 0, "Top": 0,
             "Width": 0, "Height": 0.1}}]  # fmt: skip
    frame = parse_frame(json.dumps(summary(Faces=faces)))
    assert frame.faces == ()
    assert frame.faces_dropped == 4


def test_a_crowd_keeps_the_largest_faces():
    faces = [
        {"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 0.0004 * (i + 1), "Height": 0.0004 * (i + 1)}}
        for i in range(2_000)
    ]
    frame = parse_frame(json.dumps(summary(Faces=faces)))
    assert len(frame.faces) == MAX_FACES
    assert frame.faces_dropped == 2_000 - MAX_FACES
    assert min(f.height for f in frame.faces) == pytest.approx(0.0004 * (2_000 - MAX_FACES + 1))
    # The inference function sends the largest faces of a crowd and their total: the rest count as left out.
    assert parse_frame(json.dumps(summary(FaceCount=10_000))).faces_dropped == 9_999


FIXTURE = Path(__file__).resolve().parents[1] / "data" / "frame_message.json"


class _Sns:
    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish(self, **kwargs) -> None:
        self.published.append(kwargs)


def _published_frame() -> dict:
    """What the inference function's publisher sends for one camera frame (the fixture, without its time)."""
    document = {
        "SchemaVersion": "1",
        "Image": {"Width": 1280, "Height": 720, "Format": "JPEG"},
        "FaceDetails": [
            {
                "BoundingBox": {"Width": 0.09, "Height": 0.2, "Left": 0.46, "Top": 0.29},
                "AgeRange": {"Low": 22, "High": 39},
                "Age": {"Value": 30.9},
                "AgeGroup": "adult",
                "Gender": {"Value": "Female", "Confidence": 94.3},
                "Classified": True,
                "Pose": {"Roll": -5.0, "Yaw": 10.2, "Pitch": -10.0},
                "Attention": {"Value": True},
            }
        ],
        "Error": None,
        "Camera": {"Id": "lobby", "CapturedAt": "2026-11-27T13:58:12.000Z", "CapturedAtSource": "key"},
    }
    ref = S3ObjectRef("in", "cameras/lobby/2026-11-27T13:58:12Z.jpg", "v1", "e1", 1, None, None, "0A")
    summary = result_summary(document, source=ref, result_bucket="r", result_key="k", appearance=[[2] * 24])
    sns = _Sns()
    FramePublisher(sns, "arn:aws:sns:us-east-1:1:frames.fifo").publish(summary)
    (published,) = sns.published
    assert published["MessageGroupId"] == "lobby"
    message = json.loads(published["Message"])
    message.pop("Time")
    return message


def test_the_publisher_writes_the_committed_fixture_and_the_stage_reads_it():
    message = _published_frame()
    assert message == json.loads(FIXTURE.read_text()), "the frame message changed: update tests/data and SCHEMA"
    frame = parse_frame(FIXTURE.read_text())
    (face,) = frame.faces
    assert (frame.camera, frame.frame_id, frame.uploaded_key) == ("lobby", message["FrameId"], message["Source"]["Key"])
    assert (face.gender, face.age, face.age_low, face.attentive, face.appearance) == ("Female", 30.9, 22, True,
                                                                                       (2,) * 24)  # fmt: skip


def test_an_unknown_schema_is_skipped():
    with pytest.raises(NotAFrameError) as raised:
        parse_frame(json.dumps(summary(Schema="agegender.frame/99")))
    assert raised.value.reason == "UnknownSchema"
