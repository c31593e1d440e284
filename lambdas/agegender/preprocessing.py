"""The one definition of how a face crop becomes the classifier's input.

Training (``training.dataset``) and inference (``agegender.classifier``) both call
``prepare_face``; nothing else resizes or normalises faces. Normalisation (scaling
pixels to [-1, 1]) lives inside the model graph, so the model's input contract is just
"RGB, uint8 0..255, INPUT_SIZE x INPUT_SIZE".
"""

from __future__ import annotations

import numpy as np
from PIL import Image

COLOR_ORDER = "RGB"
#: Pillow's bilinear resize is antialiased (its support widens when shrinking).
RESAMPLE = Image.Resampling.BILINEAR
#: Transparent pixels are composited over this colour before classification.
BACKGROUND_RGB = (255, 255, 255)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any pillow image mode to 8-bit RGB.

    Alpha (RGBA, LA, palette transparency) is composited over ``BACKGROUND_RGB``;
    16/32-bit integer and float greyscale are scaled to 8 bits rather than clipped;
    CMYK, YCbCr, LAB, HSV, bilevel and palette go through pillow's conversions.
    """
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _wide_grey_to_rgb(image)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, BACKGROUND_RGB)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


#: Rows converted at a time from wide greyscale modes: bounds the float temporaries (a 40 MP
#: 16-bit image as one float64 array would need 320 MB per copy).
WIDE_GREY_CHUNK_ROWS = 256


def _wide_grey_to_rgb(image: Image.Image) -> Image.Image:
    """16/32-bit integer or float greyscale -> 8-bit, scaled to its range, a band of rows at a time."""
    pixels = np.asarray(image)
    if image.mode == "F":
        finite = pixels[np.isfinite(pixels)] if not np.isfinite(pixels).all() else pixels
        lo, hi = float(finite.min(initial=0.0)), float(finite.max(initial=1.0))
        offset, scale = lo, 255.0 / (hi - lo if hi > lo else 1.0)
    else:
        # 16-bit data (pillow keeps "I;16" values as 0..65535, "I" may be wider).
        peak = float(pixels.max(initial=0))
        offset, scale = 0.0, 255.0 / (65535.0 if peak <= 65535 else peak)
    grey = np.empty(pixels.shape, dtype=np.uint8)
    for start in range(0, pixels.shape[0], WIDE_GREY_CHUNK_ROWS):
        band = (pixels[start : start + WIDE_GREY_CHUNK_ROWS].astype(np.float32) - offset) * scale
        np.nan_to_num(band, copy=False)
        grey[start : start + WIDE_GREY_CHUNK_ROWS] = np.clip(np.rint(band), 0, 255)
    return Image.fromarray(grey, mode="L").convert("RGB")


def center_square(image: Image.Image) -> Image.Image:
    """The largest centred square of ``image`` (face crops are square; others are trimmed, not squashed)."""
    width, height = image.size
    if width == height:
        return image
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def prepare_face(face: Image.Image, size: int) -> np.ndarray:
    """Turn one face crop into the model input: ``(size, size, 3)`` uint8 RGB.

    Args:
        face: a face crop framed like the training crops (UTKFace's aligned faces).
        size: the model's input side, from its contract.
    """
    rgb = center_square(to_rgb(face))
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), RESAMPLE)
    return np.asarray(rgb, dtype=np.uint8)


def mirror_views(inputs: np.ndarray, resolution: float = 1.0) -> np.ndarray:
    """The second view of each prepared input ``(N, S, S, 3)``: its left-right mirror image, seen at
    ``resolution`` of the side (reduced with ``RESAMPLE``, which antialiases, and enlarged back) when below 1.
    """
    if resolution >= 1.0 or len(inputs) == 0:
        return np.ascontiguousarray(inputs[:, :, ::-1])
    size = inputs.shape[1]
    low = max(1, round(size * resolution))
    views = np.empty_like(inputs)
    for index, face in enumerate(inputs):  # PIL mirrors in C: a fifth faster than a numpy flip first
        mirrored = Image.fromarray(face).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        views[index] = np.asarray(mirrored.resize((low, low), RESAMPLE).resize((size, size), RESAMPLE))
    return views


def prepare_faces(faces: list[Image.Image], size: int) -> np.ndarray:
    """Batch version of ``prepare_face``: ``(N, size, size, 3)`` uint8."""
    if not faces:
        return np.zeros((0, size, size, 3), dtype=np.uint8)
    return np.stack([prepare_face(face, size) for face in faces])
