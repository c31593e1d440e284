"""One image in, its faces out: decode, detect, align, classify (the core the Lambda and CLI share)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from PIL import Image

from agegender import decoding
from agegender.appearance import describe
from agegender.classifier import AgeGenderClassifier
from agegender.detector import DEFAULT_MIN_SCORE, KEYPOINTS, YUNET_N, Detection, FaceDetector, same_face
from agegender.faces import DEFAULT_MIN_EYE_DISTANCE, align_for_model, quality
from agegender.labels import DEFAULT_AGE_GROUPS, AgeGroupTable
from agegender.pose import AttentionLimits, estimate_pose
from agegender.preprocessing import prepare_faces
from agegender.results import face_detail


@dataclass(frozen=True)
class AnalyzerSettings:
    """Thresholds and limits; the Lambda reads them from its environment."""

    #: Detection score threshold (``agegender.detector.DEFAULT_MIN_SCORE`` says how it was chosen).
    min_confidence: float = DEFAULT_MIN_SCORE
    #: Side of an optional second pass, the whole image fitted into this shipped square. Off: on
    #: 150-700 px faces in 1280x720 frames the scan alone found 100% (python -m bench.detection_recall
    #: --min-side 150 --max-side 700 --close-up-side 0), as it did faces filling a portrait photo;
    #: the pass cost about 9 ms a frame.
    close_up_side: int = 0
    min_eye_distance: float = DEFAULT_MIN_EYE_DISTANCE
    age_groups: AgeGroupTable = field(default=DEFAULT_AGE_GROUPS)
    attention: AttentionLimits = field(default_factory=AttentionLimits)
    max_bytes: int = decoding.DEFAULT_MAX_BYTES
    max_pixels: int = decoding.DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class Analysis:
    """The ``Image`` facts and ``FaceDetails`` of one result."""

    image: dict[str, Any]
    faces: list[dict[str, Any]]
    captured_at: datetime | None = None  # from the image's EXIF, for a camera frame's ``Camera``
    #: Per face, the colour histograms beside it (``agegender.appearance``): for the audience stage's frame
    #: summary only, never written to the result.
    appearance: list[list[int]] = field(default_factory=list)


def fit_scale(size: tuple[int, int], canvas: tuple[int, int]) -> float:
    """The scale at which an image of ``size`` fits ``canvas`` (aspect kept), never above 1."""
    return min(1.0, canvas[0] / size[0], canvas[1] / size[1])


class ImageAnalyzer:
    """Holds the models (load once per process) and analyses images."""

    def __init__(
        self,
        classifier: AgeGenderClassifier | None = None,
        detector: FaceDetector | None = None,
        settings: AnalyzerSettings | None = None,
        *,
        detect_faces: bool = True,
    ) -> None:
        self.settings = settings or AnalyzerSettings()
        self.classifier = classifier or AgeGenderClassifier()
        s = self.settings
        self.budget = decoding.DecodeBudget(
            max_bytes=s.max_bytes, max_pixels=s.max_pixels, max_decoded_bytes=decoding.MODE_BYTES["RGB"] * s.max_pixels
        )
        threads = self.classifier.model.num_threads  # one thread setting for every model
        self.detector: FaceDetector | None = None
        if detect_faces:
            self.detector = detector or FaceDetector(
                YUNET_N, min_score=self.settings.min_confidence, num_threads=threads
            )

    @property
    def model_info(self) -> dict[str, str | None]:
        """The result's ``Model``: classifier name and version, detector name and version (None without one)."""
        contract = self.classifier.contract
        spec = self.detector.spec if self.detector else None
        return {
            "Name": contract.name,
            "Version": contract.version,
            "Detector": f"{spec.name} {spec.version}" if spec else None,
        }

    def _decode(self, data: bytes) -> decoding.DecodedImage:
        return decoding.decode_image(data, self.budget)

    def pass_shapes(self, size: tuple[int, int]) -> list[tuple[int, int]]:
        """The detector canvases for an image of ``size``: the scan, then the optional close-up pass.

        The scan is the shipped canvas that holds the image largest (never enlarged), the smallest
        such canvas on a tie: a 1280x720 frame goes into 1024x576, a 200x200 crop into 320x320.
        The close-up pass (``close_up_side``) adds the whole image at that square size where the
        scan saw it larger.
        """
        if self.detector is None:
            return []
        shapes = self.detector.spec.shapes
        scan = max(shapes, key=lambda shape: (fit_scale(size, shape), -shape[0] * shape[1]))
        passes = [scan]
        close_up = (self.settings.close_up_side, self.settings.close_up_side)
        if self.settings.close_up_side and close_up != scan and fit_scale(size, scan) > fit_scale(size, close_up):
            passes.append(close_up)
        return passes

    def detect(self, image: Image.Image) -> list[Detection]:
        """Faces from every pass, highest score first, each reported once.

        Each pass's detections are distinct faces already (the detector's NMS); passes run in order,
        the scan first, and a later pass adds only faces that are not the same face (the detector's
        rule) as one kept, so a face found by both keeps the scan's detection, seen at the higher
        resolution: its eye points are as precise or better at every face size
        (``python -m bench.keypoint_precision``).
        """
        if self.detector is None:
            return []
        faces: list[Detection] = []
        for shape in self.pass_shapes(image.size):
            found = self.detector.detect(image, shape)
            faces += [face for face in found if not any(same_face(face, kept) for kept in faces)]
        return sorted(faces, key=lambda face: -face.score)

    def analyze(self, data: bytes, *, appearance: bool = False) -> Analysis:
        """Decode and analyse one image; raises the decoder's typed errors. ``appearance``: also describe each
        face's surroundings (only camera frames bound for the audience stage need it: 3 ms a 1080p frame).
        """
        decoded = self._decode(data)
        image = decoded.image
        detections = self.detect(image)
        contract = self.classifier.contract
        aligned = [align_for_model(image, d, contract.input_size, contract.crop_scale) for d in detections]
        usable = [i for i, a in enumerate(aligned) if a.eye_distance_px >= self.settings.min_eye_distance]
        inputs = prepare_faces([aligned[i].crop for i in usable], self.classifier.input_size)
        attributes = dict(zip(usable, self.classifier.predict_inputs(inputs).faces(), strict=True))
        poses = [estimate_pose(d.keypoints * image.size) for d in detections]
        faces = [
            face_detail(
                d,
                attributes.get(i),
                pose=poses[i],
                attentive=self.settings.attention.attentive(poses[i]),
                age_groups=self.settings.age_groups,
                quality=quality(aligned[i].template_crop),
            )
            for i, d in enumerate(detections)
        ]
        described = self._appearance(image, detections) if appearance else []
        return Analysis(_image_facts(decoded), faces, decoded.captured_at, described)

    @staticmethod
    def _appearance(image: Image.Image, detections: list[Detection]) -> list[list[int]]:
        pixels = np.asarray(image)
        width, height = image.size
        return [
            describe(pixels, (d.box[0] * width, d.box[1] * height, d.width * width, (d.box[3] - d.box[1]) * height))
            for d in detections
        ]

    def analyze_face_crop(self, data: bytes) -> Analysis:
        """Treat the whole image as one aligned face crop (``predict --no-detect``)."""
        decoded = self._decode(data)
        attributes = self.classifier.predict_faces([decoded.image])[0]
        whole = Detection((0.0, 0.0, 1.0, 1.0), 1.0, np.zeros((len(KEYPOINTS), 2)))
        detail = face_detail(
            whole,
            attributes,
            pose=None,
            attentive=None,
            age_groups=self.settings.age_groups,
            landmarks=False,
            quality=quality(decoded.image),
        )
        return Analysis(_image_facts(decoded), [detail], decoded.captured_at)


def _image_facts(decoded: decoding.DecodedImage) -> dict[str, Any]:
    return {"Width": decoded.width, "Height": decoded.height, "Format": decoded.format}
