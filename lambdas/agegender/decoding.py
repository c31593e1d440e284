"""Safe image decoding: limits checked before any pixel is decoded, typed errors, EXIF applied.

Formats: whatever pillow opens (JPEG, PNG, WebP, GIF and other multi-frame formats use their
first frame, BMP, TIFF...). Every mode is converted to 8-bit RGB by the shared
``preprocessing.to_rgb``.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from agegender.exceptions import ImageTooLargeError, InvalidImageFormatError
from agegender.preprocessing import to_rgb

DEFAULT_MAX_BYTES = 15 * 1024 * 1024  # Rekognition's limit for images in S3
DEFAULT_MAX_PIXELS = 40_000_000
#: JPEGs larger than this on their long side are decoded at 1/2, 1/4 or 1/8 scale (DCT
#: scaling, much cheaper), never below it: faces keep enough pixels for classification.
DEFAULT_DECODE_SIDE = 2048


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB image and facts about the source."""

    image: Image.Image
    format: str
    width: int  # of the upright source image, before any reduced-scale decoding
    height: int


def decode_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    decode_side: int = DEFAULT_DECODE_SIDE,
) -> DecodedImage:
    """Decode ``data`` into an upright RGB image, or raise a typed error.

    Raises:
        ImageTooLargeError: more than ``max_bytes`` bytes, or a header declaring more than
            ``max_pixels`` pixels (decompression bombs are refused before decoding).
        InvalidImageFormatError: empty, unrecognised, truncated or corrupt data.
    """
    if len(data) == 0:
        raise InvalidImageFormatError("the object is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"the object is {len(data)} bytes; the limit is {max_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format or "UNKNOWN"
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLargeError(f"the image declares {width}x{height} pixels; the limit is {max_pixels}")
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)
            if image_format == "JPEG" and max(width, height) > decode_side:
                ratio = decode_side / max(width, height)
                image.draft("RGB", (max(1, int(width * ratio)), max(1, int(height * ratio))))
            image.load()
            upright = _upright(image)
            swapped = upright.size != image.size  # a 90-degree EXIF orientation
            return DecodedImage(to_rgb(upright), image_format, *((height, width) if swapped else (width, height)))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"the image is a decompression bomb: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImageFormatError("the object is not an image format that can be decoded") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImageFormatError(f"the image is corrupt or truncated: {exc}") from exc


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block leaves the image as stored."""
    try:
        return ImageOps.exif_transpose(image) or image
    except (OSError, ValueError, KeyError, TypeError, SyntaxError):
        return image
