"""A face's surroundings as coarse colour histograms, so the audience stage can tell two people apart
between frames without knowing who anyone is.

Two regions beside each face box: the hair above it and the clothing below it. Each is summarised as
12 numbers: 8 hue bins for coloured pixels and 4 brightness bins for grey ones, scaled to sum to 50,
so a descriptor is 24 small integers. That is far too little to recognise a person, and it says
nothing about the face itself (no face pixels, no embedding): it only says "a red jacket under dark
hair". It travels in the camera frame's summary, lives only in the stage's live tracks, and is never
written to a result, a record or a log.
"""

from __future__ import annotations

import numpy as np

HUE_BINS, GREY_BINS = 8, 4
#: Each region's bins sum to this (two regions: 100 in all).
REGION_TOTAL = 50
#: Pixels sampled from a region at most (a stride keeps the cost per face flat).
SAMPLES = 400
#: Regions relative to the face box (left, top, width, height, in face widths and heights).
HAIR = (-0.1, -0.45, 1.2, 0.45)
CLOTHING = (-0.1, 1.25, 1.2, 1.1)


def _region(image: np.ndarray, box: tuple[float, float, float, float], shape: tuple[float, ...]) -> np.ndarray:
    """The pixels (N x 3, sampled) of a region placed relative to a face box (pixels), clipped to the image."""
    left, top, width, height = box
    dx, dy, dw, dh = shape
    x0, y0 = int(max(0, left + dx * width)), int(max(0, top + dy * height))
    x1 = int(min(image.shape[1], left + (dx + dw) * width))
    y1 = int(min(image.shape[0], top + (dy + dh) * height))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((0, 3), dtype=np.uint8)
    crop = image[y0:y1, x0:x1, :3]
    step = max(1, int(np.sqrt(crop.shape[0] * crop.shape[1] / SAMPLES)))
    return crop[::step, ::step].reshape(-1, 3)


def _histogram(pixels: np.ndarray) -> list[int]:
    """Hue bins of the coloured pixels and brightness bins of the grey ones, scaled to ``REGION_TOTAL``."""
    if len(pixels) == 0:  # off the frame: an even spread, no evidence either way
        return [round(REGION_TOTAL / (HUE_BINS + GREY_BINS))] * (HUE_BINS + GREY_BINS)
    rgb = pixels.astype(np.float32) / 255.0
    high, low = rgb.max(axis=1), rgb.min(axis=1)
    chroma = high - low
    coloured = (chroma > 0.15) & (high > 0.2)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    safe = np.where(chroma > 0, chroma, 1.0)
    hue = np.where(high == r, ((g - b) / safe) % 6, np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    counts = np.concatenate(
        [
            np.bincount(np.minimum((hue[coloured] * HUE_BINS).astype(int), HUE_BINS - 1), minlength=HUE_BINS),
            np.bincount(np.minimum((high[~coloured] * GREY_BINS).astype(int), GREY_BINS - 1), minlength=GREY_BINS),
        ]
    )
    return [round(float(v)) for v in counts * REGION_TOTAL / max(1, counts.sum())]


def describe(image: np.ndarray, box: tuple[float, float, float, float]) -> list[int]:
    """The 24-number descriptor of the face at ``box`` (left, top, width, height in pixels) in an RGB image."""
    return _histogram(_region(image, box, HAIR)) + _histogram(_region(image, box, CLOTHING))
