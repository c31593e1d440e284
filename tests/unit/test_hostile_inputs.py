"""Hostile and unlucky inputs: a typed error or a decoded image, never an uncaught exception or unbounded work."""

from __future__ import annotations

import io
import os
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps, TiffImagePlugin

from agegender.decoding import DecodeBudget, DecodedImage, decode_image
from agegender.exceptions import AgeGenderError, ImageTooLargeError, InvalidImageFormatError
from agegender.preprocessing import to_rgb
from bench.corpus import many_page_tiff, many_scan_jpeg, truncated_animated_gif, zeroed_avif

#: 300 cases in the suite; AGEGENDER_FUZZ_EXAMPLES=10000 for the full run.
FUZZ_EXAMPLES = int(os.environ.get("AGEGENDER_FUZZ_EXAMPLES", "300"))


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def test_only_the_first_page_is_touched(monkeypatch):
    """Counting a TIFF's pages walks all of them (quadratic in pillow): decoding must never ask."""

    def refuse(self):
        raise AssertionError("n_frames walks every page")

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "n_frames", property(refuse))
    decoded = decode_image(many_page_tiff(5_000))
    assert decoded.image.size == (1, 1)


def test_a_jpeg_with_too_many_progressive_scans_is_refused_before_decoding():
    with pytest.raises(ImageTooLargeError, match="scans"):
        decode_image(many_scan_jpeg(64, 500))
    assert decode_image(encode(Image.new("RGB", (64, 64)), "JPEG", progressive=True)).width == 64


def test_decoded_size_counts_the_stored_mode():
    pixels = np.zeros((300, 300), dtype=np.float32)  # 4 bytes a pixel
    data = encode(Image.fromarray(pixels), "TIFF")
    with pytest.raises(ImageTooLargeError, match="bytes decoded"):
        decode_image(data, DecodeBudget(max_decoded_bytes=300 * 300 * 3))
    assert decode_image(data, DecodeBudget(max_decoded_bytes=300 * 300 * 4)).image.mode == "RGB"


def test_wide_greyscale_is_scaled_a_band_at_a_time_exactly():
    rng = np.random.default_rng(1)
    sixteen = rng.integers(0, 65536, (700, 90), dtype=np.uint16)
    got = np.asarray(to_rgb(Image.fromarray(sixteen)))[:, :, 0]
    np.testing.assert_array_equal(got, np.clip(np.rint(sixteen / 65535.0 * 255.0), 0, 255).astype(np.uint8))
    floats = rng.normal(0, 1, (600, 50)).astype(np.float32)
    floats[0, 0], floats[1, 1] = np.nan, np.inf
    grey = np.asarray(to_rgb(Image.fromarray(floats)))[:, :, 0]
    finite = floats[np.isfinite(floats)]
    expected = (floats[5, 5] - finite.min()) / (finite.max() - finite.min()) * 255
    assert abs(int(grey[5, 5]) - expected) <= 1
    assert grey.dtype == np.uint8


def test_the_deadline_is_checked_between_steps():
    with pytest.raises(ImageTooLargeError, match="deadline"):
        decode_image(encode(Image.new("RGB", (32, 32)), "PNG"), DecodeBudget(deadline_s=0.0))


def test_corrupt_files_that_used_to_escape_get_invalid_image_format():
    with pytest.raises(InvalidImageFormatError, match="RuntimeError"):
        decode_image(zeroed_avif())
    assert decode_image(truncated_animated_gif()).width == 160  # its first frame is whole


def test_a_broken_exif_block_leaves_the_image_as_stored(monkeypatch):
    def broken(image, **_):
        raise struct.error("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(ImageOps, "exif_transpose", broken)
    assert decode_image(encode(Image.new("RGB", (40, 20)), "JPEG")).image.size == (40, 20)


SEEDS = {
    "JPEG": encode(Image.effect_mandelbrot((48, 40), (-2, -1.5, 1, 1.5), 60).convert("RGB"), "JPEG"),
    "PROGRESSIVE": encode(
        Image.effect_mandelbrot((48, 40), (-2, -1.5, 1, 1.5), 60).convert("RGB"), "JPEG", progressive=True
    ),
    "PNG": encode(Image.effect_noise((40, 30), 40).convert("RGBA"), "PNG"),
    "GIF": encode(
        Image.effect_noise((40, 30), 40).convert("P"),
        "GIF",
        save_all=True,
        append_images=[Image.effect_noise((40, 30), 20).convert("P")],
    ),
    "TIFF": encode(
        Image.effect_noise((40, 30), 40), "TIFF", save_all=True, append_images=[Image.effect_noise((40, 30), 10)]
    ),
    "WEBP": encode(Image.effect_noise((40, 30), 40).convert("RGB"), "WEBP"),
}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real image's bytes, truncated, with bits flipped, or with header bytes overwritten."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "header"]))
        if kind == "truncate" and len(data) > 1:
            del data[draw(st.integers(1, len(data) - 1)) :]
        elif kind == "flip" and data:
            index = draw(st.integers(0, len(data) - 1))
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif data:
            index = draw(st.integers(0, min(len(data), 64) - 1))
            data[index] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pillow's warnings about the corrupt bytes it reads
@settings(max_examples=FUZZ_EXAMPLES, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_images_decode_or_fail_with_a_typed_error(data):
    outcome: AgeGenderError | DecodedImage
    try:
        outcome = decode_image(data)
    except AgeGenderError as exc:
        outcome = exc
    if isinstance(outcome, AgeGenderError):
        assert outcome.code in ("InvalidImageFormat", "ImageTooLarge")
    else:
        assert outcome.image.mode == "RGB"
