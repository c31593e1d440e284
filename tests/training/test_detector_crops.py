"""Training faces as the Lambda crops them (training.detector_crops)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from training.detector_crops import (
    EVALUATION_FAULTS,
    FRAME_SIDE,
    CameraFaults,
    camera_view,
    cluttered_frame,
    detector_views,
    padded,
    runtime_crop,
)


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_a_camera_view_is_a_jpeg_frame_holding_the_face_smaller(sample_portrait):
    view = Image.open(io.BytesIO(camera_view(sample_portrait, np.random.default_rng(0))))
    assert view.format == "JPEG"
    assert view.size == (FRAME_SIDE, FRAME_SIDE)


def test_the_runtime_crops_a_real_face_and_finds_none_in_a_blank(sample_portrait):
    crop = runtime_crop(jpeg(sample_portrait), 64)
    assert crop is not None
    assert crop.shape == (64, 64, 3)
    assert crop.dtype == np.uint8
    assert runtime_crop(jpeg(Image.new("RGB", (200, 200), (90, 90, 90))), 64) is None


def test_views_keep_their_source_names_and_record_misses(sample_portrait, tmp_path):
    items = [("face.jpg", jpeg(sample_portrait)), ("blank.jpg", jpeg(Image.new("RGB", (200, 200), (90, 90, 90))))]
    views = detector_views(
        items, 32, views=2, seed=3, workers=1, cache=tmp_path / "views.npz", faults=EVALUATION_FAULTS
    )
    assert views.names.tolist() == ["face.jpg", "face.jpg"]
    assert views.images.shape == (2, 32, 32, 3)
    assert views.misses == ["blank.jpg", "blank.jpg"]
    again = detector_views([], 32, views=2, seed=3, cache=tmp_path / "views.npz")  # from the cache
    np.testing.assert_array_equal(again.images, views.images)


def test_tight_crops_get_a_blurred_mirror_border(sample_portrait):
    framed = padded(sample_portrait)
    assert framed.width > 1.5 * sample_portrait.width
    inner = framed.crop((int(0.3 * sample_portrait.width), int(0.3 * sample_portrait.height),
                         int(1.3 * sample_portrait.width), int(1.3 * sample_portrait.height)))  # fmt: skip
    np.testing.assert_array_equal(np.asarray(inner), np.asarray(sample_portrait))


def test_camera_faults_reach_the_frame(sample_portrait):
    grey = CameraFaults(side=(100, 100), grey_chance=1.0, colour_chance=0.0, blur_chance=0.0, noise_chance=0.0)
    frame = np.asarray(Image.open(io.BytesIO(camera_view(sample_portrait, np.random.default_rng(1), grey))))
    assert np.abs(frame[..., 0].astype(int) - frame[..., 2]).max() <= 8  # grey, up to JPEG's chroma rounding
    plain = {"jpeg_quality": (95, 96), "blur_chance": 0.0, "noise_chance": 0.0, "colour_chance": 0.0}
    for seed in range(3):
        small = camera_view(sample_portrait, np.random.default_rng(seed), CameraFaults(side=(24, 24), **plain))
        large = camera_view(sample_portrait, np.random.default_rng(seed), CameraFaults(side=(200, 200), **plain))
        assert len(small) < len(large) / 2  # a low-resolution face: far less detail in the frame


def test_a_pasted_view_keeps_the_photo_hard_edged_on_a_cluttered_frame():
    flat = Image.new("RGB", (100, 100), (128, 128, 128))
    plain = {"side": (100, 100), "jpeg_quality": (95, 96), "blur_chance": 0.0, "noise_chance": 0.0}
    plain |= {"colour_chance": 0.0}
    padded_frame = np.asarray(
        Image.open(io.BytesIO(camera_view(flat, np.random.default_rng(0), CameraFaults(**plain))))
    )
    assert padded_frame.std() < 3  # the photo, its mirror border and a frame of its border colour
    faults = CameraFaults(pasted_chance=1.0, **plain)
    pasted_frame = np.asarray(Image.open(io.BytesIO(camera_view(flat, np.random.default_rng(0), faults))))
    assert pasted_frame.std() > 20
    grey = (np.abs(pasted_frame.astype(int) - 128) <= 6).all(axis=2)
    assert grey.sum() >= 0.9 * 100 * 100  # the photo itself, unpadded


def test_a_cluttered_frame_is_a_varied_scene_fixed_by_its_seed():
    frame = np.asarray(cluttered_frame(np.random.default_rng(4), 160))
    assert frame.shape == (160, 160, 3)
    assert frame.reshape(-1, 3).std(axis=0).min() > 10
    np.testing.assert_array_equal(frame, np.asarray(cluttered_frame(np.random.default_rng(4), 160)))
