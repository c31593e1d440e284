"""Safe image decoding within a budget: limits checked before any pixel is decoded, typed errors, EXIF applied.

Formats: whatever pillow opens (JPEG, PNG, WebP, GIF, TIFF, BMP, AVIF...). Only the first
frame or page is ever touched: counting the frames of a multi-page TIFF walks every page, and a
small file can hold 100,000 of them. The budget (``DecodeBudget``) bounds the work a file can
cause before decoding starts: bytes, declared pixels, decoded bytes (pixels x bytes per pixel of
the stored mode, so a 16-bit or float image counts at its real size), progressive-JPEG scans
(each scan re-decodes the whole image), and a deadline checked between the decoding steps.
Every mode is converted to 8-bit RGB by the shared ``preprocessing.to_rgb``.

Any exception pillow raises on a bad file (including the struct, index, type and runtime errors
of corrupt EXIF blocks, truncated multi-frame files and broken AVIF data) becomes
``InvalidImageFormatError``; exceeding the budget is ``ImageTooLargeError``.
"""

from __future__ import annotations

import io
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime

from PIL import Image, ImageOps, UnidentifiedImageError

from agegender import capture
from agegender.exceptions import DecodeBudgetExceededError, ImageTooLargeError, InvalidImageFormatError
from agegender.preprocessing import to_rgb

DEFAULT_MAX_BYTES = 15 * 1024 * 1024  # Rekognition's limit for images in S3
DEFAULT_MAX_PIXELS = 40_000_000
#: Decoded size of the stored image (before conversion): 40 MP of 8-bit RGB, or fewer of wider modes.
DEFAULT_MAX_DECODED_BYTES = 3 * DEFAULT_MAX_PIXELS
#: Progressive JPEGs from cameras and encoders have about 10 scans; each scan costs a pass over the image.
DEFAULT_MAX_JPEG_SCANS = 100
#: Decoding a 40 MP JPEG takes about 1 s here; anything slower is refused at the next check.
DEFAULT_DEADLINE_S = 5.0
#: JPEGs larger than this on their long side are decoded at 1/2, 1/4 or 1/8 scale (DCT
#: scaling, much cheaper), never below it: faces keep enough pixels for classification.
DEFAULT_DECODE_SIDE = 2048
#: Bytes per pixel of pillow's stored modes (anything not listed counts as 4).
MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2,
              "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "RGBa": 4, "RGBX": 4, "CMYK": 4, "I": 4,
              "F": 4}  # fmt: skip
_SOS = b"\xff\xda"  # JPEG start-of-scan marker; entropy-coded data never contains it (0xFF is stuffed)


@dataclass(frozen=True)
class DecodeBudget:
    """How much work one file may cause."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES
    max_jpeg_scans: int = DEFAULT_MAX_JPEG_SCANS
    deadline_s: float = DEFAULT_DEADLINE_S
    decode_side: int = DEFAULT_DECODE_SIDE


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB image and facts about the source."""

    image: Image.Image
    format: str
    width: int  # of the upright source image, before any reduced-scale decoding
    height: int
    captured_at: datetime | None = None  # EXIF DateTimeOriginal, where the file has a readable one


@dataclass
class _Clock:
    budget: DecodeBudget
    started: float = field(default_factory=time.monotonic)

    def check(self, step: str) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.budget.deadline_s:
            raise DecodeBudgetExceededError(
                f"decoding took {elapsed:.1f} s by {step}; the deadline is {self.budget.deadline_s:g} s"
            )


def decode_image(data: bytes, budget: DecodeBudget | None = None) -> DecodedImage:
    """Decode ``data`` into an upright RGB image, or raise a typed error.

    Raises:
        ImageTooLargeError: over a limit of ``budget`` (bytes, declared pixels, decoded bytes,
            progressive scans, deadline); decompression bombs are refused before decoding.
        InvalidImageFormatError: empty, unrecognised, truncated or corrupt data.
    """
    budget = budget or DecodeBudget()
    if len(data) == 0:
        raise InvalidImageFormatError("the object is empty (0 bytes)")
    if len(data) > budget.max_bytes:
        raise ImageTooLargeError(f"the object is {len(data)} bytes; the limit is {budget.max_bytes}")
    clock = _Clock(budget)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format or "UNKNOWN"
            _check_declared(image, image_format, data, budget)
            width, height = image.size
            if image_format == "JPEG" and max(width, height) > budget.decode_side:
                ratio = budget.decode_side / max(width, height)
                image.draft("RGB", (max(1, int(width * ratio)), max(1, int(height * ratio))))
            image.load()  # the first frame or page only: nothing here asks for the others
            clock.check("the pixel data")
            captured_at = _exif_capture_time(image)
            upright = _upright(image)
            swapped = upright.size != image.size  # a 90-degree EXIF orientation
            rgb = to_rgb(upright)
            clock.check("the RGB conversion")
            size = (height, width) if swapped else (width, height)
            return DecodedImage(rgb, image_format, *size, captured_at=captured_at)
    except ImageTooLargeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"the image is a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImageFormatError("the object is not an image format that can be decoded") from exc
    except MemoryError as exc:
        raise ImageTooLargeError("the image does not fit in the function's memory") from exc
    except Exception as exc:  # pillow's plugins raise many kinds on corrupt files; each is a bad file
        raise InvalidImageFormatError(f"the image is corrupt or truncated: {type(exc).__name__}: {exc}") from exc


def _check_declared(image: Image.Image, image_format: str, data: bytes, budget: DecodeBudget) -> None:
    """Refuse, from the header alone, images whose decoding would exceed the budget."""
    width, height = image.size
    if width * height > budget.max_pixels:
        raise ImageTooLargeError(f"the image declares {width}x{height} pixels; the limit is {budget.max_pixels}")
    decoded = width * height * MODE_BYTES.get(image.mode, 4)
    if decoded > budget.max_decoded_bytes:
        raise ImageTooLargeError(
            f"the image declares {width}x{height} {image.mode} pixels ({decoded} bytes decoded); "
            f"the limit is {budget.max_decoded_bytes} bytes"
        )
    if image_format == "JPEG":
        scans = data.count(_SOS)  # an upper bound: an embedded EXIF thumbnail adds its own few
        if scans > budget.max_jpeg_scans:
            raise DecodeBudgetExceededError(
                f"the JPEG has {scans} scans; the limit is {budget.max_jpeg_scans} (each scan re-decodes the image)"
            )


#: EXIF tags of the capture time: the Exif IFD pointer, DateTimeOriginal, SubSecTimeOriginal, OffsetTimeOriginal.
_EXIF_IFD, _DATETIME_ORIGINAL, _SUBSEC_ORIGINAL, _OFFSET = 0x8769, 0x9003, 0x9291, 0x9011


def _exif_capture_time(image: Image.Image) -> datetime | None:
    """EXIF DateTimeOriginal with its sub-seconds and offset; None when absent or unreadable."""
    try:
        tags = image.getexif().get_ifd(_EXIF_IFD)
        original, subsec, offset = (
            str(tags[tag]) if tags.get(tag) else None for tag in (_DATETIME_ORIGINAL, _SUBSEC_ORIGINAL, _OFFSET)
        )
        return capture.exif_time(original, subsec, offset)
    except Exception:  # a broken EXIF block only loses the time, never the image
        return None


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block (any error reading it) leaves the image as stored."""
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # mistyped or truncated EXIF tags raise struct, attribute, key, type... errors
        return image
