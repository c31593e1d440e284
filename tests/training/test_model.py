"""The network's building blocks: moving weights to a new input size, the augmentation layers."""

import keras
import numpy as np
import pytest

from training.augment import CameraTexture, RandomAffine, build_augmenter, similarity_transforms
from training.model import at_input_size, build_model


def test_weights_move_to_a_larger_input():
    keras.utils.set_random_seed(5)
    small = build_model("resnet_small", 32, width=0.25)
    large = at_input_size(small, "resnet_small", 40, width=0.25, dropout=0.3)
    assert large.input_shape[1:] == (40, 40, 3)
    for a, b in zip(small.get_weights(), large.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert at_input_size(small, "resnet_small", 32, width=0.25, dropout=0.3) is small


@pytest.mark.parametrize(("arch", "width"), [("plain_cnn", 0.25), ("resnet_small", 0.5)])
def test_weights_that_do_not_fit_are_an_error(arch, width):
    small = build_model(arch, 32, width=0.25)
    with pytest.raises(ValueError, match="does not fit"):
        at_input_size(small, arch, 64, width=width, dropout=0.3)  # plain_cnn flattens a 4x4 map, not 2x2


def test_camera_texture_softens_or_adds_noise_to_some_faces_only_when_training():
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (200, 24, 24, 3)).astype("float32")  # pure texture: any softening shows
    layer = CameraTexture(low_res_rate=0.5, noise_rate=0.0, seed=1)
    np.testing.assert_array_equal(np.asarray(layer(faces, training=False)), faces)
    out = np.asarray(layer(faces, training=True))
    assert out.shape == faces.shape
    assert out.min() >= 0.0
    assert out.max() <= 255.0
    softened = np.std(out, axis=(1, 2, 3)) < 0.8 * np.std(faces, axis=(1, 2, 3))
    unchanged = np.all(out == faces, axis=(1, 2, 3))
    assert softened.sum() + unchanged.sum() == len(faces)
    assert 0.35 < softened.mean() < 0.65
    noisy = np.asarray(CameraTexture(low_res_rate=0.0, noise_rate=1.0, max_noise=6.0, seed=2)(faces, training=True))
    assert 0.5 < np.abs(noisy - faces).mean() < 6.0


def test_the_augmenter_keeps_shape_and_range():
    faces = np.full((4, 32, 32, 3), 128.0, dtype="float32")
    out = np.asarray(build_augmenter(32, seed=7)(faces, training=True))
    assert out.shape == faces.shape
    assert out.min() >= 0.0
    assert out.max() <= 255.0


def _map(transform: np.ndarray, x: float, y: float) -> tuple[float, float]:
    """The input point ``affine_transform`` samples for output pixel (x, y)."""
    a0, a1, a2, b0, b1, b2 = transform[:6]
    return a0 * x + a1 * y + a2, b0 * x + b1 * y + b2


def test_similarity_transforms_turn_scale_and_shift_about_the_centre():
    rows = np.asarray(
        similarity_transforms(
            np.array([1.0, 0.5, 1.0], "float32"),
            np.array([0.0, 0.0, np.pi / 2], "float32"),
            np.array([[0.0, 0.0], [0.0, 0.0], [2.0, -1.0]], "float32"),
            size=9,
        )
    )
    np.testing.assert_allclose(_map(rows[0], 3.0, 7.0), (3.0, 7.0), atol=1e-5)  # identity
    np.testing.assert_allclose(_map(rows[1], 0.0, 0.0), (2.0, 2.0), atol=1e-5)  # zoomed in 2x on the centre (4, 4)
    np.testing.assert_allclose(_map(rows[1], 4.0, 4.0), (4.0, 4.0), atol=1e-5)
    np.testing.assert_allclose(_map(rows[2], 4.0, 4.0), (6.0, 3.0), atol=1e-5)  # the centre moves by the shift only
    np.testing.assert_allclose(_map(rows[2], 8.0, 4.0), (6.0, 7.0), atol=1e-5)  # a quarter turn about it


def test_random_affine_is_the_identity_at_inference_and_with_no_range_and_moves_faces_when_training():
    rng = np.random.default_rng(3)
    faces = rng.integers(0, 256, (64, 24, 24, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(RandomAffine(seed=1)(faces, training=False)), faces)
    still = RandomAffine(min_scale=1.0, max_zoom=0.0, max_degrees=0.0, max_shift=0.0, seed=1)
    np.testing.assert_allclose(np.asarray(still(faces, training=True)), faces, atol=1e-3)
    moved = np.asarray(RandomAffine(seed=1)(faces, training=True))
    assert moved.shape == faces.shape
    changed = np.abs(moved - faces).mean(axis=(1, 2, 3)) > 1.0
    assert changed.mean() > 0.9  # every face gets its own transform
    assert moved.min() >= 0.0
    assert moved.max() <= 255.0
    layer = RandomAffine(min_scale=0.9, max_degrees=5.0, seed=4)
    assert RandomAffine.from_config(layer.get_config()).get_config() == layer.get_config()
