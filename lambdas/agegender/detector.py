"""YuNet-n face detection (libfacedetection.train's model, run by LiteRT), decoded in numpy.

The ONNX model is converted once to fixed-shape float32 TFLite files (``scripts/convert_yunet.py``,
committed under ``models/detector/`` with their provenance); nothing is downloaded at run time.

Pipeline, for each input shape the analyzer asks for: fit the image into that canvas (aspect
ratio kept, top-left, zero padding: how OpenCV's ``FaceDetectorYN`` feeds it), run the model,
decode the anchor-free outputs of strides 8, 16 and 32 (one prediction per feature-map cell:
box centre and log size relative to the cell and stride, five keypoints, score =
sqrt(cls x obj)), then non-maximum suppression.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from agegender.assets import DETECTOR_DIR
from agegender.exceptions import ModelContractError
from agegender.runtime import TFLiteModel

#: Keypoint order of YuNet's output. "Right"/"left" are the subject's: the subject's right eye
#: appears on the image's left in a frontal photo.
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "right_mouth_corner", "left_mouth_corner")
#: The converted models' input (a ``serving_default`` signature; outputs named as in the ONNX model).
INPUT_NAME = "image"
#: Resampling of the image into a detector canvas, after a whole-factor box reduction where the
#: image is REDUCING_GAP times larger or more.
CANVAS_RESAMPLE = Image.Resampling.BILINEAR
REDUCING_GAP = 2.0
#: Score (sqrt(cls x obj)) at or above which a candidate is a face. On 200 camera-like frames of
#: 510 unseen faces (python -m bench.detection_recall --min-score N): 0.4 found 98.8% with 7 false
#: detections, 0.45 98.8% with 2, 0.5 98.6% with 1, 0.6 98.2% with none (OpenCV's demo default,
#: 0.9, loses small faces).
DEFAULT_MIN_SCORE = 0.5
#: Two boxes are one face when their IoU is above SAME_FACE_IOU, or when the smaller lies at least
#: SAME_FACE_CONTAINMENT inside the larger (a large face is sometimes found whole and in part).
SAME_FACE_IOU = 0.3
SAME_FACE_CONTAINMENT = 0.7


@dataclass(frozen=True)
class DetectorSpec:
    """One detector: its files (one per fixed input shape), strides and version."""

    name: str
    version: str
    stem: str
    strides: tuple[int, ...]
    #: The (width, height) input shapes shipped as files; each a multiple of the largest stride.
    shapes: tuple[tuple[int, int], ...]

    def filename(self, width: int, height: int) -> str:
        """``yunet_n_1024x576.tflite``."""
        return f"{self.stem}_{width}x{height}.tflite"

    def path(self, width: int, height: int) -> Path:
        """Where the file for one input shape lives."""
        return DETECTOR_DIR / self.filename(width, height)


YUNET_N = DetectorSpec(
    name="yunet-n",
    version="libfacedetection.train-02246e7",
    stem="yunet_n",
    strides=(8, 16, 32),
    shapes=((1024, 576), (1024, 768), (768, 1024), (576, 1024), (320, 320)),
)


@dataclass(frozen=True)
class Detection:
    """One face: box and keypoints as ratios of the original image, score in 0..1."""

    box: tuple[float, float, float, float]  # left, top, right, bottom
    score: float
    keypoints: np.ndarray  # (5, 2) x, y in KEYPOINTS order

    @property
    def width(self) -> float:
        """Box width as a ratio of the image width."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        """Box height as a ratio of the image height."""
        return self.box[3] - self.box[1]


def _overlap(box: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IoU of one box ``(4,)`` with each of ``others`` ``(N, 4)``, and the share of the smaller box inside the other."""
    left = np.maximum(box[0], others[:, 0])
    top = np.maximum(box[1], others[:, 1])
    right = np.minimum(box[2], others[:, 2])
    bottom = np.minimum(box[3], others[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12), inter / np.maximum(np.minimum(area, areas), 1e-12)


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of one box ``(4,)`` with each of ``others`` ``(N, 4)`` (left, top, right, bottom)."""
    return _overlap(box, others)[0]


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float = SAME_FACE_IOU,
    containment: float = SAME_FACE_CONTAINMENT,
) -> list[int]:
    """Indices kept by greedy non-maximum suppression, highest score first: a box that overlaps a kept
    one by more than ``iou_threshold``, or lies at least ``containment`` inside it, is suppressed.
    """
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    while order.size:
        best, rest = int(order[0]), order[1:]
        kept.append(best)
        overlap, inside = _overlap(boxes[best], boxes[rest])
        order = rest[(overlap <= iou_threshold) & (inside < containment)]
    return kept


def overlaps(a: Detection, b: Detection, iou_threshold: float = SAME_FACE_IOU) -> bool:
    """Whether two detections' boxes overlap by more than ``iou_threshold`` (IoU)."""
    return bool(iou(np.array(a.box), np.array([b.box]))[0] > iou_threshold)


def same_face(
    a: Detection, b: Detection, iou_threshold: float = SAME_FACE_IOU, containment: float = SAME_FACE_CONTAINMENT
) -> bool:
    """Whether two detections are one face, by the rule ``nms`` applies: overlapping, or one inside the other."""
    overlap, inside = _overlap(np.array(a.box), np.array([b.box]))
    return bool(overlap[0] > iou_threshold or inside[0] >= containment)


def grid_cells(width: int, height: int, strides: tuple[int, ...]) -> list[np.ndarray]:
    """Per stride, the (col, row) of every feature-map cell in the model's output order (row-major)."""
    cells = []
    for stride in strides:
        rows, cols = height // stride, width // stride
        ys, xs = np.mgrid[:rows, :cols]
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32))
    return cells


class FaceDetector:
    """Loads one interpreter per shipped input shape, on first use; finds faces in PIL images."""

    def __init__(
        self,
        spec: DetectorSpec = YUNET_N,
        *,
        min_score: float = DEFAULT_MIN_SCORE,
        num_threads: int | None = None,
    ) -> None:
        self.spec = spec
        self.min_score = min_score
        self._num_threads = num_threads
        self._models: dict[tuple[int, int], TFLiteModel] = {}
        self._cells: dict[tuple[int, int], list[np.ndarray]] = {}
        self._canvases: dict[tuple[int, int], np.ndarray] = {}  # reused input buffers, one per shape
        for width, height in spec.shapes:
            if width % max(spec.strides) or height % max(spec.strides):
                raise ModelContractError(f"{spec.name}: {width}x{height} is not a multiple of {max(spec.strides)}")
            if not spec.path(width, height).exists():
                raise ModelContractError(f"{spec.name}: {spec.path(width, height)} is missing")

    def model(self, shape: tuple[int, int]) -> TFLiteModel:
        """The interpreter for one shipped (width, height), loaded on first use."""
        if shape not in self._models:
            if shape not in self.spec.shapes:
                raise ValueError(f"{self.spec.name} ships no {shape[0]}x{shape[1]} model; it has {self.spec.shapes}")
            model = TFLiteModel(self.spec.path(*shape), num_threads=self._num_threads)
            self._check_outputs(model, shape)
            self._models[shape] = model
            self._cells[shape] = grid_cells(*shape, self.spec.strides)
            self._canvases[shape] = np.zeros((1, shape[1], shape[0], 3), dtype=np.float32)
        return self._models[shape]

    def _check_outputs(self, model: TFLiteModel, shape: tuple[int, int]) -> None:
        width, height = shape
        expected = {
            f"{kind}_{s}": (1, (width // s) * (height // s), size)
            for s in self.spec.strides
            for kind, size in (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10))
        }
        found = {name: tuple(int(d) for d in detail["shape"]) for name, detail in model.output_details.items()}
        if found != expected:
            raise ModelContractError(f"{self.spec.name} {width}x{height}: outputs {found} != {expected}")

    def detect(self, image: Image.Image, shape: tuple[int, int], min_score: float | None = None) -> list[Detection]:
        """Faces in ``image`` fitted into the ``shape`` canvas, highest score first, each once (``nms``)."""
        width, height = image.size
        canvas_w, canvas_h = shape
        scale = min(canvas_w / width, canvas_h / height)
        fitted = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        resized = rgb.resize(fitted, CANVAS_RESAMPLE, reducing_gap=REDUCING_GAP) if fitted != image.size else rgb
        model = self.model(shape)
        tensor = self._canvases[shape]
        tensor[0, : fitted[1], : fitted[0]] = np.asarray(resized)
        tensor[0, fitted[1] :], tensor[0, :, fitted[0] :] = 0.0, 0.0  # zero padding, as OpenCV's FaceDetectorYN
        outputs = {name: value[0] for name, value in model(**{INPUT_NAME: tensor}).items()}
        boxes, scores, points = self._decode(outputs, shape, self.min_score if min_score is None else min_score)
        # Canvas pixels -> ratios of the image (the fitted image spans fitted[0] x fitted[1] canvas pixels).
        boxes /= np.array([fitted[0], fitted[1], fitted[0], fitted[1]], dtype=np.float32)
        points /= np.array(fitted, dtype=np.float32)
        return [Detection(_clipped_box(boxes[i]), float(scores[i]), points[i]) for i in nms(boxes, scores)]

    def _decode(
        self, outputs: dict[str, np.ndarray], shape: tuple[int, int], min_score: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (left, top, right, bottom), scores and keypoints (5, 2), in canvas pixels, above ``min_score``."""
        all_boxes, all_scores, all_points = [], [], []
        for stride, cells in zip(self.spec.strides, self._cells[shape], strict=True):
            cls = np.clip(outputs[f"cls_{stride}"][:, 0], 0.0, 1.0)
            obj = np.clip(outputs[f"obj_{stride}"][:, 0], 0.0, 1.0)
            scores = np.sqrt(cls * obj)
            keep = scores >= min_score
            if not keep.any():
                continue
            cell, bbox, kps = cells[keep], outputs[f"bbox_{stride}"][keep], outputs[f"kps_{stride}"][keep]
            centre = (cell + bbox[:, :2]) * stride
            size = np.exp(np.clip(bbox[:, 2:], -10.0, 10.0)) * stride
            all_boxes.append(np.concatenate([centre - size / 2, centre + size / 2], axis=1))
            all_points.append((kps.reshape(-1, 5, 2) + cell[:, None, :]) * stride)
            all_scores.append(scores[keep])
        if not all_scores:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
        return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_points)


def _clipped_box(values: np.ndarray) -> tuple[float, float, float, float]:
    left, top, right, bottom = (float(v) for v in np.clip(values, 0.0, 1.0))
    return left, top, right, bottom
