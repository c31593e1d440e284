"""One image in, its faces out: decode, detect, align, classify (the core the Lambda and CLI share)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from agegender import decoding
from agegender.classifier import AgeGenderClassifier
from agegender.detector import FULL_RANGE, SHORT_RANGE, Detection, FaceDetector
from agegender.faces import DEFAULT_MIN_EYE_DISTANCE, align_face, quality
from agegender.labels import DEFAULT_AGE_GROUPS, AgeGroupTable
from agegender.preprocessing import prepare_face
from agegender.results import face_detail


@dataclass(frozen=True)
class AnalyzerSettings:
    """Thresholds and limits; the Lambda reads them from its environment."""

    min_confidence: float = 0.6
    min_eye_distance: float = DEFAULT_MIN_EYE_DISTANCE
    age_groups: AgeGroupTable = field(default=DEFAULT_AGE_GROUPS)
    max_bytes: int = decoding.DEFAULT_MAX_BYTES
    max_pixels: int = decoding.DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class Analysis:
    """The ``Image`` facts and ``FaceDetails`` of one result."""

    image: dict[str, Any]
    faces: list[dict[str, Any]]


class ImageAnalyzer:
    """Holds the models (load once per process) and analyses images."""

    def __init__(
        self,
        classifier: AgeGenderClassifier | None = None,
        detectors: list[FaceDetector] | None = None,
        settings: AnalyzerSettings | None = None,
    ) -> None:
        self.settings = settings or AnalyzerSettings()
        self.classifier = classifier or AgeGenderClassifier()
        # Full range first (camera frames, small faces); short range when it finds nothing
        # (close-up photos, where the full-range model is less sure).
        self.detectors = (
            detectors
            if detectors is not None
            else [
                FaceDetector(FULL_RANGE, min_score=self.settings.min_confidence),
                FaceDetector(SHORT_RANGE, min_score=self.settings.min_confidence),
            ]
        )

    @property
    def model_info(self) -> dict[str, str]:
        contract = self.classifier.contract
        return {
            "Name": contract.name,
            "Version": contract.version,
            "Detector": "+".join(d.spec.name for d in self.detectors),
        }

    def _decode(self, data: bytes) -> decoding.DecodedImage:
        return decoding.decode_image(data, max_bytes=self.settings.max_bytes, max_pixels=self.settings.max_pixels)

    def detect(self, image: Image.Image) -> list[Detection]:
        for detector in self.detectors:
            faces = detector.detect(image)
            if faces:
                return faces
        return []

    def analyze(self, data: bytes) -> Analysis:
        """Decode and analyse one image; raises the decoder's typed errors."""
        decoded = self._decode(data)
        image = decoded.image
        detections = self.detect(image)
        aligned = [align_face(image, d) for d in detections]
        usable = [i for i, a in enumerate(aligned) if a.eye_distance_px >= self.settings.min_eye_distance]
        inputs = (
            np.stack([prepare_face(aligned[i].crop, self.classifier.input_size) for i in usable])
            if usable
            else np.zeros((0, self.classifier.input_size, self.classifier.input_size, 3), dtype=np.uint8)
        )
        attributes = dict(zip(usable, self.classifier.predict_inputs(inputs).faces(), strict=True))
        faces = [
            face_detail(
                d,
                attributes.get(i),
                roll_degrees=aligned[i].roll_degrees,
                age_groups=self.settings.age_groups,
                quality=quality(aligned[i].crop),
            )
            for i, d in enumerate(detections)
        ]
        return Analysis(_image_facts(decoded), faces)

    def analyze_face_crop(self, data: bytes) -> Analysis:
        """Treat the whole image as one aligned face crop (``predict --no-detect``)."""
        decoded = self._decode(data)
        attributes = self.classifier.predict_faces([decoded.image])[0]
        whole = Detection((0.0, 0.0, 1.0, 1.0), 1.0, np.zeros((6, 2)))
        detail = face_detail(
            whole,
            attributes,
            roll_degrees=None,
            age_groups=self.settings.age_groups,
            landmarks=False,
            quality=quality(decoded.image),
        )
        return Analysis(_image_facts(decoded), [detail])


def _image_facts(decoded: decoding.DecodedImage) -> dict[str, Any]:
    return {"Width": decoded.width, "Height": decoded.height, "Format": decoded.format}
