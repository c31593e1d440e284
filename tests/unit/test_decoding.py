import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from agegender.decoding import DecodeBudget, decode_image
from agegender.exceptions import ImageTooLargeError, InvalidImageFormatError


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def photo(width: int = 64, height: int = 48) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims width x height (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("fmt", "image", "params"),
    [
        ("JPEG", photo(), {}),
        ("PNG", photo(), {}),
        ("WEBP", photo(), {}),
        ("BMP", photo(), {}),
        ("TIFF", photo(), {}),
        ("GIF", photo().convert("P"), {}),
        ("PNG", photo().convert("L"), {}),
        ("PNG", photo().convert("RGBA"), {}),
        ("PNG", photo().convert("P"), {}),
        ("JPEG", photo().convert("CMYK"), {}),
        ("PNG", Image.fromarray(np.full((48, 64), 50000, dtype=np.uint16)), {}),
    ],
)
def test_decodes_formats_and_modes_to_rgb(fmt, image, params):
    decoded = decode_image(encode(image, fmt, **params))
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == (64, 48)
    assert (decoded.width, decoded.height) == (64, 48)
    assert decoded.format == fmt


def test_animated_gif_and_multipage_tiff_use_the_first_frame():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    for fmt in ("GIF", "TIFF"):
        data = encode(frames[0], fmt, save_all=True, append_images=frames[1:])
        pixel = decode_image(data).image.getpixel((8, 8))
        assert pixel[0] > 200, fmt
        assert pixel[2] < 50, fmt


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    decoded = decode_image(encode(photo(40, 20), "JPEG", exif=exif.tobytes()))
    assert decoded.image.size == (20, 40)
    assert (decoded.width, decoded.height) == (20, 40)


def test_large_jpegs_decode_at_reduced_scale_but_report_their_size():
    decoded = decode_image(encode(photo(4000, 3000), "JPEG"), DecodeBudget(decode_side=1000))
    assert 1000 <= max(decoded.image.size) < 4000
    assert (decoded.width, decoded.height) == (4000, 3000)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, this is text\n" * 10, "not an image"),
        (np.random.default_rng(1).bytes(5000), "not an image"),
        (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF", "not an image"),
        (b"<!doctype html><html><body>hi</body></html>", "not an image"),
        (encode(photo(), "JPEG")[:300], "truncated"),
        (encode(photo(), "PNG")[:200], "truncated"),
    ],
)
def test_bad_bytes_are_invalid_image_format(data, message):
    with pytest.raises(InvalidImageFormatError, match=message):
        decode_image(data)


def test_limits():
    with pytest.raises(ImageTooLargeError, match="bytes"):
        decode_image(encode(photo(), "PNG"), DecodeBudget(max_bytes=100))
    with pytest.raises(ImageTooLargeError, match="decompression bomb"):
        decode_image(png_declaring(30000, 30000))  # caught by pillow's own guard while opening
    with pytest.raises(ImageTooLargeError, match="8000x8000"):
        decode_image(png_declaring(8000, 8000))  # under pillow's guard (89 MP), over ours (40 MP)
    with pytest.raises(ImageTooLargeError, match="pixels"):
        decode_image(encode(photo(), "PNG"), DecodeBudget(max_pixels=1000))
