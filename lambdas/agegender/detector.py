"""BlazeFace face detection (MediaPipe's short- and full-range TFLite models), decoded in numpy.

The models come from the ``mediapipe==0.10.14`` wheel (Apache-2.0), extracted and
sha256-checked by ``scripts/fetch_detectors.py``; nothing is downloaded at run time.

Pipeline: letterbox the image into the model's square input (aspect ratio kept), run the
model, decode the SSD anchors into boxes and 6 keypoints, then MediaPipe's weighted
non-maximum suppression (overlapping boxes are averaged, weighted by score).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from agegender.assets import DETECTOR_DIR
from agegender.exceptions import ModelContractError
from agegender.runtime import TFLiteModel

#: Resampling for the small-face scan, after any whole-factor box reduction: nearest neighbour,
#: as MediaPipe feeds BlazeFace without antialiasing. Pillow's antialiased BILINEAR took 8-11 ms
#: per 1280x720 frame (NEAREST 0.3 ms) and found no more faces, with no fewer false detections,
#: in bench/detection_recall.py (--frames 200, and --frames 300 --seed 11).
SCAN_RESAMPLE = Image.Resampling.NEAREST
#: Large reductions (frame -> 128/192 px) first shrink by an integer factor (fast), then resample.
REDUCING_GAP = 2.0

#: Keypoint order of BlazeFace's output. "Right"/"left" are the subject's, so the subject's
#: right eye appears on the image's left in a frontal photo.
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")


@dataclass(frozen=True)
class DetectorSpec:
    """One BlazeFace variant: file, checksum, input size and SSD anchor layout."""

    name: str
    filename: str
    sha256: str
    input_size: int
    strides: tuple[int, ...]
    anchors_per_layer: int  # 2 with MediaPipe's interpolated scale, 1 without
    resizable: bool  # fully convolutional: runs on any input size that is a multiple of the largest stride
    #: Face box side (model input pixels) at which the keypoints are most precise; where several
    #: passes find a face, the one that saw it nearest this size (in log scale) is kept.
    #: bench/keypoint_precision.py: short-range eye error is lowest for boxes of about 50-95 px
    #: and equally poor (0.17 eye distances) at 22 and 144 px, around 60; full-range's is
    #: lowest from 36 to 73 px.
    best_face_px: float

    @property
    def path(self) -> Path:
        return DETECTOR_DIR / self.filename


SHORT_RANGE = DetectorSpec(
    name="blazeface-short-range",
    filename="face_detection_short_range.tflite",
    sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    input_size=128,
    strides=(8, 16, 16, 16),
    anchors_per_layer=2,
    resizable=True,
    best_face_px=60.0,
)
FULL_RANGE = DetectorSpec(
    name="blazeface-full-range-sparse",
    filename="face_detection_full_range_sparse.tflite",
    sha256="2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    input_size=192,
    strides=(4,),
    anchors_per_layer=1,
    resizable=False,  # XNNPACK cannot reshape its sparse layers
    best_face_px=50.0,
)
DETECTORS = {spec.name: spec for spec in (SHORT_RANGE, FULL_RANGE)}
#: Interpreters kept per detector for non-native input shapes, the least recently used dropped.
#: Each holds its activations (tens of MB for an 880x496 scan) and saves an XNNPACK re-plan
#: whenever its shape comes back: two serve a stream of camera frames mixed with uploads of one
#: other shape (the local demo's mix).
MAX_SCAN_SHAPES = 2


def ssd_anchor_centers(spec: DetectorSpec, height: int | None = None, width: int | None = None) -> np.ndarray:
    """Anchor centres ``(N, 2)`` as (x, y) in [0, 1] of the model input, in the model's output order.

    BlazeFace uses fixed-size anchors (width = height = 1), so only centres matter.
    Consecutive layers with the same stride share one feature map, their anchors
    interleaved per cell, as MediaPipe's SsdAnchorsCalculator lays them out. ``height``
    and ``width`` default to the native square input.
    """
    height, width = height or spec.input_size, width or spec.input_size
    centers = []
    layer = 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        same = 0
        while layer + same < len(spec.strides) and spec.strides[layer + same] == stride:
            same += 1
        rows, cols = int(np.ceil(height / stride)), int(np.ceil(width / stride))
        ys, xs = np.meshgrid((np.arange(rows) + 0.5) / rows, (np.arange(cols) + 0.5) / cols, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centers.append(np.repeat(grid, same * spec.anchors_per_layer, axis=0))
        layer += same
    return np.concatenate(centers).astype(np.float32)


@dataclass(frozen=True)
class Detection:
    """One face: box and keypoints as ratios of the original image, score in 0..1."""

    box: tuple[float, float, float, float]  # left, top, right, bottom
    score: float
    keypoints: np.ndarray  # (6, 2) x, y in KEYPOINTS order

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    left = np.maximum(box[0], others[:, 0])
    top = np.maximum(box[1], others[:, 1])
    right = np.minimum(box[2], others[:, 2])
    bottom = np.minimum(box[3], others[:, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, iou_threshold: float
) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """MediaPipe's WEIGHTED suppression: each cluster of overlapping boxes becomes their score-weighted mean."""
    order = np.argsort(-scores)
    boxes, scores, keypoints = boxes[order], scores[order], keypoints[order]
    remaining = np.ones(len(scores), dtype=bool)
    kept = []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        candidates = np.flatnonzero(remaining)
        cluster = candidates[_iou(boxes[i], boxes[candidates]) > iou_threshold]
        cluster = np.union1d(cluster, [i])
        weights = scores[cluster] / scores[cluster].sum()
        kept.append(
            (
                (boxes[cluster] * weights[:, None]).sum(axis=0),
                float(scores[i]),
                (keypoints[cluster] * weights[:, None, None]).sum(axis=0),
            )
        )
        remaining[cluster] = False
    return kept


def overlaps(a: Detection, b: Detection, iou_threshold: float = 0.3) -> bool:
    """Whether two detections are the same face (IoU above ``iou_threshold``)."""
    return bool(_iou(np.array(a.box), np.array([b.box]))[0] > iou_threshold)


def _box(values: np.ndarray) -> tuple[float, float, float, float]:
    left, top, right, bottom = (float(v) for v in values)
    return left, top, right, bottom


def merge_detections(detections: list[Detection], iou_threshold: float = 0.3) -> list[Detection]:
    """Merge detections of the same faces from several passes (weighted NMS over all of them)."""
    if len(detections) < 2:
        return list(detections)
    boxes = np.array([d.box for d in detections])
    scores = np.array([d.score for d in detections])
    keypoints = np.stack([d.keypoints for d in detections])
    return [
        Detection(_box(box), score, points)
        for box, score, points in weighted_nms(boxes, scores, keypoints, iou_threshold)
    ]


def letterbox(image: Image.Image, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit ``image`` into a ``size`` square (aspect ratio kept, black padding), as float32 in [-1, 1].

    Returns the input, the padding (x, y) and the span (x, y) of the image inside the
    square, both as ratios of the square: image ratio = (input ratio - padding) / span.
    """
    width, height = image.size
    scale = size / max(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    left, top = (size - new_w) // 2, (size - new_h) // 2
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = np.asarray(
        image.resize((new_w, new_h), Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP)
    )
    return to_model_range(canvas), np.array([left, top]) / size, np.array([new_w, new_h]) / size


class FaceDetector:
    """Runs one BlazeFace variant on RGB pillow images."""

    def __init__(
        self,
        spec: DetectorSpec = FULL_RANGE,
        *,
        model_path: Path | None = None,
        num_threads: int | None = None,
        min_score: float = 0.6,
        iou_threshold: float = 0.3,
    ) -> None:
        self.spec = spec
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        self._path = model_path or spec.path
        if not self._path.exists():
            raise ModelContractError(f"face detector {self._path} is missing: run `python scripts/fetch_detectors.py`")
        self._num_threads = num_threads
        native = (spec.input_size, spec.input_size)
        self._models: dict[tuple[int, int], TFLiteModel] = {native: self._load()}
        self._anchor_cache = {native: ssd_anchor_centers(spec)}
        model = self._models[native]
        shapes = {name: tuple(d["shape"]) for name, d in model.output_details.items()}
        boxes_name = next((n for n, s in shapes.items() if s[-1] == 16), None)
        scores_name = next((n for n, s in shapes.items() if s[-1] == 1), None)
        anchors = len(self._anchor_cache[native])
        if boxes_name is None or scores_name is None or shapes[boxes_name][1] != anchors:
            raise ModelContractError(f"{self._path}: outputs {shapes} do not match {spec.name} ({anchors} anchors)")
        self._boxes_name, self._scores_name = boxes_name, scores_name

    def _load(self) -> TFLiteModel:
        return TFLiteModel(self._path, num_threads=self._num_threads, signature=None)

    def _model_for(self, height: int, width: int) -> TFLiteModel:
        """One interpreter per input shape: resizing an interpreter re-plans it (XNNPACK), which
        alternating scans and close-ups would pay on every image. The native shape
        stays; at most ``MAX_SCAN_SHAPES`` others are kept, the least recently used dropped.
        """
        key = (height, width)
        model = self._models.pop(key, None) or self._load()
        self._models[key] = model  # most recently used last
        native = (self.spec.input_size, self.spec.input_size)
        scan_shapes = [k for k in self._models if k != native]
        if len(scan_shapes) > MAX_SCAN_SHAPES:
            del self._models[scan_shapes[0]]
        return model

    def _anchors_for(self, height: int, width: int) -> np.ndarray:
        key = (height, width)
        if key not in self._anchor_cache:
            self._anchor_cache[key] = ssd_anchor_centers(self.spec, height, width)
        return self._anchor_cache[key]

    def detect(
        self, image: Image.Image, long_side: int | None = None, min_score: float | None = None
    ) -> list[Detection]:
        """Faces in an RGB image, highest score first, coordinates as ratios of the image.

        By default the image is letterboxed into the model's native square input. With
        ``long_side`` (resizable models only) it is instead resized so its long side is
        about that many pixels, each side a multiple of the largest stride, and run at
        that size: small faces keep enough pixels to be found.
        """
        threshold = self.min_score if min_score is None else min_score
        boxes, scores, keypoints = self._candidates(image, long_side, threshold)
        faces = weighted_nms(boxes, scores, keypoints, self.iou_threshold) if len(scores) else []
        return [Detection(_box(np.clip(box, 0.0, 1.0)), score, points) for box, score, points in faces]

    def centre_score(self, image: Image.Image, tolerance: float) -> float:
        """The highest score of any anchor whose box centre lies within ``tolerance`` (a ratio of
        the image's sides) of the image centre, at the native input size; 0 if none.

        What a close-up check needs, without the suppression that ``detect`` would spend on
        the hundreds of low-scoring boxes of an unthresholded crop.
        """
        boxes, scores, _ = self._candidates(image, None, 0.0)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        near = np.all(np.abs(centres - 0.5) < tolerance, axis=1)
        return float(scores[near].max()) if near.any() else 0.0

    def _candidates(
        self, image: Image.Image, long_side: int | None, min_score: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every anchor scoring at least ``min_score``, decoded: boxes ``(N, 4)``, scores ``(N,)`` and
        keypoints ``(N, 6, 2)``, as ratios of the image (before suppression and clipping).
        """
        if long_side is None:
            tensor, padding, span = letterbox(image, self.spec.input_size)
        else:
            if not self.spec.resizable:
                raise ValueError(f"{self.spec.name} only runs at {self.spec.input_size} px")
            tensor = resize_to_grid(image, long_side, max(self.spec.strides))
            padding, span = np.zeros(2), np.ones(2)
        height, width = tensor.shape[:2]
        anchors = self._anchors_for(height, width)
        model = self._model_for(height, width)
        outputs = model(**{model.input_names[0]: tensor[None]})
        raw = outputs[self._boxes_name][0]
        logits = np.clip(outputs[self._scores_name][0, :, 0], -80.0, 80.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= min_score
        # Offsets and sizes are in input pixels; anchors are ratios of the input.
        raw, scores, anchors = raw[keep] / np.tile([width, height], 8), scores[keep], anchors[keep]
        centers = raw[:, 0:2] + anchors
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centers - half, centers + half], axis=1)
        keypoints = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        boxes = (boxes - np.tile(padding, 2)) / np.tile(span, 2)
        keypoints = (keypoints - padding) / span
        return boxes, scores, keypoints


def resize_to_grid(image: Image.Image, long_side: int, multiple: int) -> np.ndarray:
    """Resize so the long side is about ``long_side`` and both sides are multiples of ``multiple``; [-1, 1].

    Reductions of 2x or more first average whole blocks of pixels (``Image.reduce``), so the
    nearest-neighbour step never skips more than half of the pixels.
    """
    width, height = image.size
    scale = long_side / max(width, height)
    new_w = max(multiple, round(width * scale / multiple) * multiple)
    new_h = max(multiple, round(height * scale / multiple) * multiple)
    factor = int(min(width / new_w, height / new_h))
    if factor >= 2:
        image = image.reduce(factor)
    return to_model_range(np.asarray(image.resize((new_w, new_h), SCAN_RESAMPLE)))


def to_model_range(pixels: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 in [-1, 1], BlazeFace's input range (in place on one new array)."""
    tensor = pixels.astype(np.float32)
    tensor *= 1 / 127.5
    tensor -= 1.0
    return tensor
