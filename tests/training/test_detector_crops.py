"""Training faces as the Lambda crops them (training.detector_crops)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from training.detector_crops import FRAME_SIDE, camera_view, detector_views, runtime_crop


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
    views = detector_views(items, 32, views=2, seed=3, workers=1, cache=tmp_path / "views.npz")
    assert views.names.tolist() == ["face.jpg", "face.jpg"]
    assert views.images.shape == (2, 32, 32, 3)
    assert views.misses == ["blank.jpg", "blank.jpg"]
    again = detector_views([], 32, views=2, seed=3, cache=tmp_path / "views.npz")  # from the cache
    np.testing.assert_array_equal(again.images, views.images)
