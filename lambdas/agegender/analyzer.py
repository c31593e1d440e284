"""One image in, its faces out: decode, detect, align, classify (the core the Lambda and CLI share)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from agegender import decoding
from agegender.classifier import AgeGenderClassifier
from agegender.detector import SHORT_RANGE, Detection, FaceDetector, merge_detections, overlaps
from agegender.faces import DEFAULT_MIN_EYE_DISTANCE, align_face, quality
from agegender.labels import DEFAULT_AGE_GROUPS, AgeGroupTable
from agegender.preprocessing import prepare_faces
from agegender.results import face_detail


@dataclass(frozen=True)
class AnalyzerSettings:
    """Thresholds and limits; the Lambda reads them from its environment."""

    min_confidence: float = 0.6
    #: Long side (px) at which the short-range detector scans the whole image: at 880 it finds
    #: faces of about 30-200 px in a 1280x720 frame (0.69 scale keeps them at 21-138 px; the
    #: model needs about 20). The scan dominates the cost (bench/detector_cost.py times the
    #: model call per scan size); bench/detection_recall.py --scan-long-side N gives the recall
    #: for each size: 880 found more faces than 800 and 960, with fewer false detections.
    #: 0 turns it off, leaving only the letterboxed pass (faces of about a sixth of the long
    #: side and up: close-up photos).
    scan_long_side: int = 880
    #: Scan candidates at or above this are faces; lower ones (down to scan_min_score) are
    #: verified by a close-up look. On composite frames, true faces scored >= 0.75 close up
    #: and textured-background false alarms <= 0.69 (bench/detection_recall.py).
    scan_min_score: float = 0.5
    scan_accept_score: float = 0.85
    verify_min_score: float = 0.72
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
        threads = self.classifier.model.num_threads  # one thread setting for every model
        # The short-range model in two passes, merged: a scan of the whole image at
        # scan_long_side for small and medium faces, then the letterboxed image at the model's
        # native 128 px for faces that fill much of it. On 150-720 px faces in 1280x720 frames
        # this found more faces, with fewer false detections, than the full-range model in the
        # second pass (bench/detection_recall.py --min-side 150 --max-side 700, and README).
        self.detectors = (
            detectors
            if detectors is not None
            else [FaceDetector(SHORT_RANGE, min_score=self.settings.min_confidence, num_threads=threads)]
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
        """Faces from every pass of every detector, highest score first.

        Each detector looks at the image letterboxed at its native size and, if it is
        resizable and the scan is on, scans it at ``scan_long_side``. Where passes find the
        same face, the detection from the pass that saw the face nearest the detector's
        ``best_face_px`` wins, because keypoint precision (and so the crop) depends on the
        face's size in the model input: the scan's keypoints are good up to about 200 px faces
        in a 1280x720 frame and poor beyond, where the letterboxed pass's are good.
        """
        width, height = image.size
        long_side = max(width, height)
        ranked: list[tuple[float, Detection]] = []
        for detector in self.detectors:
            passes = [(detector.spec.input_size / long_side, detector.detect(image))]
            if detector.spec.resizable and self.settings.scan_long_side > 0:
                scan_scale = min(self.settings.scan_long_side, long_side) / long_side
                passes.append((scan_scale, self._scan(detector, image)))
            for scale, found in passes:
                for face in merge_detections(found):
                    face_px = max(face.width * width, face.height * height, 1e-3) * scale
                    ranked.append((abs(math.log(face_px / detector.spec.best_face_px)), face))
        faces: list[Detection] = []
        for _, face in sorted(ranked, key=lambda item: item[0]):
            if not any(overlaps(face, kept) for kept in faces):
                faces.append(face)
        return sorted(faces, key=lambda face: -face.score)

    def _scan(self, detector: FaceDetector, image: Image.Image) -> list[Detection]:
        """Short-range scan at ``scan_long_side``; unsure candidates must pass a close-up look."""
        s = self.settings
        candidates = detector.detect(
            image, long_side=min(s.scan_long_side, max(image.size)), min_score=s.scan_min_score
        )
        accepted = []
        for candidate in candidates:
            if candidate.score >= s.scan_accept_score:
                accepted.append(candidate)
                continue
            verified = self._close_up_score(detector, image, candidate)
            if verified >= s.verify_min_score:
                accepted.append(Detection(candidate.box, max(candidate.score, verified), candidate.keypoints))
        return accepted

    @staticmethod
    def _close_up_score(detector: FaceDetector, image: Image.Image, candidate: Detection) -> float:
        """The detector's score for a face near the centre of a square crop 2.2x the candidate's box."""
        width, height = image.size
        left, top, right, bottom = np.array(candidate.box) * (width, height, width, height)
        cx, cy = (left + right) / 2, (top + bottom) / 2
        half = 1.1 * max(right - left, bottom - top)
        crop = image.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
        return detector.centre_score(crop, tolerance=0.2)

    def analyze(self, data: bytes) -> Analysis:
        """Decode and analyse one image; raises the decoder's typed errors."""
        decoded = self._decode(data)
        image = decoded.image
        detections = self.detect(image)
        aligned = [align_face(image, d) for d in detections]
        usable = [i for i, a in enumerate(aligned) if a.eye_distance_px >= self.settings.min_eye_distance]
        inputs = prepare_faces([aligned[i].crop for i in usable], self.classifier.input_size)
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
