"""The ``Camera`` block: camera id from the key, capture time from key, metadata, EXIF or upload, in that order."""

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from agegender import decoding
from agegender.capture import camera_block, exif_time, iso, parse_time, time_from_key

UPLOADED = datetime(2026, 11, 27, 13, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("cameras/door/2026-11-27T12:00:05.250Z.jpg", "2026-11-27T12:00:05.250Z"),
        ("cameras/door/20261127T120005250Z.jpg", "2026-11-27T12:00:05.250Z"),
        ("cameras/door/2026/11/27/2026-11-27_12-00-05.jpg", "2026-11-27T12:00:05.000Z"),
        ("cameras/door/frame-2026-11-27T13:00:05+01:00.jpg", "2026-11-27T12:00:05.000Z"),
        ("cameras/door/1795780805250.jpg", "2026-11-27T12:00:05.250Z"),
        ("cameras/door/frame-0001.jpg", None),
        ("cameras/door/2026-13-45T99-00-00.jpg", None),  # not a date
    ],
)
def test_capture_time_from_the_key(key, expected):
    moment = time_from_key(key)
    assert (moment and iso(moment)) == expected


def test_metadata_times_in_iso_or_epoch():
    assert parse_time("2026-11-27T12:00:05.250Z") == datetime(2026, 11, 27, 12, 0, 5, 250000, tzinfo=UTC)
    assert parse_time("1795780805") == datetime(2026, 11, 27, 12, 0, 5, tzinfo=UTC)
    assert parse_time("1795780805250") == datetime(2026, 11, 27, 12, 0, 5, 250000, tzinfo=UTC)
    assert parse_time("soon") is None
    assert parse_time("12") is None  # not a plausible capture time


def test_exif_time_with_subseconds_and_offset():
    assert exif_time("2026:11:27 13:00:05", "25", "+01:00") == datetime(2026, 11, 27, 12, 0, 5, 250000, tzinfo=UTC)
    assert exif_time("0000:00:00 00:00:00") is None
    assert exif_time(None) is None


def test_the_sources_in_order():
    metadata = {"captured-at": "2026-11-27T12:30:00Z"}
    exif = datetime(2026, 11, 27, 12, 45, tzinfo=UTC)
    by_key = camera_block("cameras/c/2026-11-27T12:00:00Z.jpg", metadata, exif, UPLOADED)
    assert by_key == {"Id": "c", "CapturedAt": "2026-11-27T12:00:00.000Z", "CapturedAtSource": "key"}
    assert camera_block("cameras/c/f.jpg", metadata, exif, UPLOADED)["CapturedAtSource"] == "metadata"
    assert camera_block("cameras/c/f.jpg", {}, exif, UPLOADED)["CapturedAt"] == "2026-11-27T12:45:00.000Z"
    assert camera_block("cameras/c/f.jpg", None, None, UPLOADED)["CapturedAtSource"] == "upload"
    assert camera_block("cameras/c/f.jpg", None, None, None) == {"Id": "c", "CapturedAt": None,
                                                                 "CapturedAtSource": None}  # fmt: skip
    assert camera_block("uploads/f.jpg", metadata, exif, UPLOADED) is None


def test_the_decoder_reads_the_exif_capture_time():
    image = Image.new("RGB", (16, 16))
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: "2026:11:27 12:00:05", 0x9291: "5", 0x9011: "+00:00"})
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    decoded = decoding.decode_image(buffer.getvalue())
    assert decoded.captured_at == datetime(2026, 11, 27, 12, 0, 5, 500000, tzinfo=UTC)
    plain = io.BytesIO()
    image.save(plain, format="PNG")
    assert decoding.decode_image(plain.getvalue()).captured_at is None


def test_a_capture_time_far_ahead_of_the_upload_gives_way_to_the_upload_time():
    ahead = "cameras/skew-cam/2099-01-01T00-00-00Z.jpg"
    block = camera_block(ahead, None, None, UPLOADED)
    assert block == {"Id": "skew-cam", "CapturedAt": iso(UPLOADED), "CapturedAtSource": "upload:key-ahead"}
    # Within the bound the key wins; beyond it the next source in order that is not ahead.
    near = "cameras/c/2026-11-27T13:04:00Z.jpg"
    assert camera_block(near, None, None, UPLOADED)["CapturedAtSource"] == "key"
    assert camera_block(near, None, None, UPLOADED, max_ahead_s=60)["CapturedAtSource"] == "upload:key-ahead"
    metadata = {"captured-at": "2026-11-27T12:59:58Z"}
    assert camera_block(ahead, metadata, None, UPLOADED)["CapturedAtSource"] == "metadata"
    assert camera_block("cameras/c/f.jpg", {"captured-at": "4000000000"}, None, UPLOADED)["CapturedAtSource"] == (
        "upload:metadata-ahead"
    )


@pytest.mark.parametrize("camera", ["lobby cam", "caméra", "a<b", "c" * 129, "..", "x:y", "a%2Fb"])
def test_an_id_that_cannot_be_a_camera_id_gets_a_typed_error_and_is_not_sent_on(camera):
    from agegender.events import S3ObjectRef
    from agegender.summary import result_summary

    key = f"cameras/{camera}/2026-11-27T12:00:00Z.jpg"
    block = camera_block(key, None, None, UPLOADED)
    assert block["Error"]["Code"] == "InvalidCameraId"
    assert block["CapturedAt"] is None
    document = {"SchemaVersion": "1", "FaceDetails": [], "Camera": block}
    ref = S3ObjectRef("in", key)
    assert result_summary(document, source=ref, result_bucket="r", result_key="k")["CameraId"] is None


@pytest.mark.parametrize("camera", ["door-2", "Lobby_1", "a.b", "c" * 128])
def test_ids_of_letters_digits_dots_dashes_and_underscores_are_camera_ids(camera):
    assert "Error" not in camera_block(f"cameras/{camera}/f.jpg", None, None, UPLOADED)
