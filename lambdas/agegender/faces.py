"""Turn a detection into a face crop framed like the training crops, plus pose and quality.

UTKFace's aligned crops (what the classifier learnt from) put the five keypoints, as the
detector locates them, at ``TEMPLATE`` (fractions of the crop side): the medians of
``python -m bench.face_template`` (YuNet-n on 600 training-split crops; eye midpoint
(0.487, 0.289), eye distance 0.392, interquartile 0.377-0.406, roll -1.45 degrees). A detected
face is mapped onto that template by the least-squares similarity (scale, rotation,
translation) of all five points, which is steadier than the two eye points alone, at UTKFace's
200 px, and then goes through the shared ``prepare_face`` exactly as the training crops did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from agegender.detector import Detection

#: Keypoints (``agegender.detector.KEYPOINTS`` order) on the training crops, fractions of the side.
TEMPLATE = np.array([[0.292, 0.293], [0.684, 0.284], [0.491, 0.527], [0.327, 0.677], [0.674, 0.670]])
CROP_SIDE = 200
#: Where the crop reaches past the image edge (faces at the border), neutral grey.
OUTSIDE_FILL = (128, 128, 128)
#: Faces whose eyes are closer than this (source pixels) are reported without age/gender.
DEFAULT_MIN_EYE_DISTANCE = 8.0


@dataclass(frozen=True)
class AlignedFace:
    """A crop ready for ``prepare_face`` and what was measured on the way."""

    crop: Image.Image
    eye_distance_px: float
    roll_degrees: float
    #: The crop's side relative to ``TEMPLATE``'s framing (``ModelContract.crop_scale``).
    scale: float = 1.0

    @property
    def template_crop(self) -> Image.Image:
        """The central part of ``crop`` framed like ``TEMPLATE`` (what ``quality`` measures)."""
        if self.scale == 1.0:
            return self.crop
        side = self.crop.width
        inner = side / self.scale
        margin = (side - inner) / 2
        return self.crop.crop((round(margin), round(margin), round(margin + inner), round(margin + inner)))


def eye_geometry(detection: Detection, width: int, height: int) -> tuple[np.ndarray, float, float]:
    """Eye midpoint (pixels), eye distance (pixels) and roll (degrees, positive = clockwise in the image)."""
    right_eye = detection.keypoints[0] * (width, height)  # the subject's right: image left
    left_eye = detection.keypoints[1] * (width, height)
    delta = left_eye - right_eye
    return (right_eye + left_eye) / 2, float(np.hypot(*delta)), math.degrees(math.atan2(delta[1], delta[0]))


def similarity_to(template: np.ndarray, points: np.ndarray) -> tuple[float, float, float, float]:
    """Least-squares similarity mapping ``template`` onto ``points`` (both ``(N, 2)``):
    ``x = a*u - b*v + tx``, ``y = b*u + a*v + ty``; returns ``(a, b, tx, ty)``.
    """
    mu_t, mu_p = template.mean(axis=0), points.mean(axis=0)
    t, p = template - mu_t, points - mu_p
    norm = float((t**2).sum()) or 1.0
    a = float((t[:, 0] * p[:, 0] + t[:, 1] * p[:, 1]).sum()) / norm
    b = float((t[:, 0] * p[:, 1] - t[:, 1] * p[:, 0]).sum()) / norm
    tx = float(mu_p[0] - (a * mu_t[0] - b * mu_t[1]))
    ty = float(mu_p[1] - (b * mu_t[0] + a * mu_t[1]))
    return a, b, tx, ty


def align_face(
    image: Image.Image, detection: Detection, *, scale: float = 1.0, crop_side: int = CROP_SIDE
) -> AlignedFace:
    """Crop the face so its keypoints sit where UTKFace's do (``TEMPLATE``), at ``crop_side`` px.

    ``scale`` widens the crop around its centre (``ModelContract.crop_scale``): 1.33 shows what a
    network trained on the detector box's 1.12x square sees.
    """
    width, height = image.size
    _, distance, roll = eye_geometry(detection, width, height)
    points = detection.keypoints * (width, height)
    template = (0.5 + (TEMPLATE - 0.5) / scale) * crop_side
    # Crop pixel (u, v) -> source pixel (x, y).
    a, b, tx, ty = similarity_to(template, points)
    side = math.hypot(a, b) * crop_side  # crop side in source pixels
    center = np.array([a * crop_side / 2 - b * crop_side / 2 + tx, b * crop_side / 2 + a * crop_side / 2 + ty])
    # Shrink large faces with an antialiased resize first; the affine warp itself only
    # samples bilinearly and would alias when reducing more than about 2x.
    reduce = max(1.0, side / (1.5 * crop_side))
    source, offset, scale_back = image, np.zeros(2), np.ones(2)
    if reduce > 1.0:
        reach = side * 0.75  # half-diagonal of the crop plus a margin, around its centre
        left, top = max(0, int(center[0] - reach)), max(0, int(center[1] - reach))
        right, bottom = min(width, int(center[0] + reach) + 1), min(height, int(center[1] + reach) + 1)
        region = image.crop((left, top, right, bottom))
        size = (max(1, round(region.width / reduce)), max(1, round(region.height / reduce)))
        source = region.resize(size, Image.Resampling.BILINEAR)
        offset = np.array([left, top], dtype=float)
        scale_back = np.array([region.width / size[0], region.height / size[1]])
    # Expressed in the (possibly reduced) source's pixel grid.
    coefficients = (
        a / scale_back[0],
        -b / scale_back[0],
        (tx - offset[0]) / scale_back[0],
        b / scale_back[1],
        a / scale_back[1],
        (ty - offset[1]) / scale_back[1],
    )
    crop = source.transform(
        (crop_side, crop_side),
        Image.Transform.AFFINE,
        coefficients,
        resample=Image.Resampling.BILINEAR,
        fillcolor=OUTSIDE_FILL,
    )
    return AlignedFace(crop, distance, roll, scale)


def align_for_model(image: Image.Image, detection: Detection, input_size: int, crop_scale: float) -> AlignedFace:
    """``align_face`` as a model with this input side and contract ``crop_scale`` needs it: at ``CROP_SIDE`` px,
    or at the input side where that is larger (a crop is never enlarged for the model to use).
    """
    return align_face(image, detection, scale=crop_scale, crop_side=max(CROP_SIDE, input_size))


#: Laplacian variance at which Sharpness is 50. Measured on the centres of 200 UTKFace crops:
#: median variance 35 as distributed (Sharpness 70), 14 after a 1 px Gaussian blur (49),
#: 5.4 after 2 px (26), 2.6 after 4 px (15).
SHARPNESS_HALF_POINT = 15.0


def quality(crop: Image.Image) -> dict[str, float]:
    """Rekognition-style ``Quality`` (0-100) of an aligned face crop, from its central region.

    ``Brightness`` is the mean luminance; ``Sharpness`` grows with the variance of the
    Laplacian (edge energy) and is 50 at ``SHARPNESS_HALF_POINT``.
    """
    grey = np.asarray(crop.convert("L"), dtype=np.float32)
    h, w = grey.shape
    centre = grey[h // 5 : h - h // 5, w // 5 : w - w // 5]
    lap = -4 * centre[1:-1, 1:-1] + centre[:-2, 1:-1] + centre[2:, 1:-1] + centre[1:-1, :-2] + centre[1:-1, 2:]
    variance = float(lap.var())
    return {
        "Brightness": round(float(centre.mean()) / 255.0 * 100.0, 2),
        "Sharpness": round(100.0 * variance / (variance + SHARPNESS_HALF_POINT), 2),
    }
