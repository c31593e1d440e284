import numpy as np
import pytest
from PIL import Image

from agegender.preprocessing import center_square, mirror_views, prepare_face, prepare_faces, to_rgb


def _modes():
    rgb = Image.new("RGB", (20, 20), (10, 120, 240))
    return {
        "L": rgb.convert("L"),
        "1": rgb.convert("1"),
        "P": rgb.convert("P"),
        "CMYK": rgb.convert("CMYK"),
        "RGBA": rgb.convert("RGBA"),
        "LA": rgb.convert("LA"),
        "YCbCr": rgb.convert("YCbCr"),
        "I;16": Image.fromarray(np.full((20, 20), 40000, dtype=np.uint16)),
        "I": Image.fromarray(np.full((20, 20), 40000, dtype=np.int32)),
        "F": Image.fromarray(np.linspace(0, 1, 400, dtype=np.float32).reshape(20, 20)),
    }


@pytest.mark.parametrize("mode", list(_modes()))
def test_to_rgb_handles_every_mode(mode):
    out = to_rgb(_modes()[mode])
    assert out.mode == "RGB"
    assert out.size == (20, 20)


def test_sixteen_bit_is_scaled_not_clipped():
    out = np.asarray(to_rgb(Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16))))
    assert 120 <= out[0, 0, 0] <= 135  # half of full scale, not saturated at 255


def test_alpha_is_composited_over_white():
    transparent = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert np.asarray(to_rgb(transparent))[0, 0].tolist() == [255, 255, 255]


def test_center_square_trims_the_long_side():
    image = Image.new("RGB", (30, 20))
    assert center_square(image).size == (20, 20)
    assert center_square(Image.new("RGB", (20, 50))).size == (20, 20)


def test_prepare_face_gives_uint8_rgb_of_model_size():
    face = Image.new("RGB", (200, 200), (50, 100, 150))
    out = prepare_face(face, 64)
    assert out.shape == (64, 64, 3)
    assert out.dtype == np.uint8
    assert out[32, 32].tolist() == [50, 100, 150]


def test_prepare_face_is_deterministic_and_batches():
    rng = np.random.default_rng(0)
    face = Image.fromarray(rng.integers(0, 255, (90, 70, 3), dtype=np.uint8))
    np.testing.assert_array_equal(prepare_face(face, 32), prepare_face(face, 32))
    batch = prepare_faces([face, face.convert("L")], 32)
    assert batch.shape == (2, 32, 32, 3)
    assert prepare_faces([], 32).shape == (0, 32, 32, 3)


def test_mirror_views_mirror_and_optionally_soften():
    rng = np.random.default_rng(0)
    inputs = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(mirror_views(inputs), inputs[:, :, ::-1])
    soft = mirror_views(inputs, 0.5)
    assert soft.shape == inputs.shape
    assert soft.dtype == np.uint8
    # Seen at 8 px and enlarged back: the noise's fine detail is gone, its mean level kept.
    assert soft.std() < 0.7 * inputs.std()
    assert abs(float(soft.mean()) - float(inputs.mean())) < 3.0
    first = np.asarray(Image.fromarray(inputs[0][:, ::-1]).resize((8, 8), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(
        soft[0], np.asarray(Image.fromarray(first).resize((16, 16), Image.Resampling.BILINEAR))
    )
    assert mirror_views(inputs[:0], 0.5).shape == (0, 16, 16, 3)
