"""Build step: extract MediaPipe's BlazeFace models from the mediapipe==0.10.14 wheel into models/detector/.

    python scripts/fetch_detectors.py

Downloads the wheel from the package index with pip (no other network access), extracts
the two face-detection ``.tflite`` files and checks their sha256 against
``agegender.detector``; files already present with the right checksum are kept.
The models are Apache-2.0 licensed, like MediaPipe.
"""

from __future__ import annotations

import sys

from agegender.assets import DETECTOR_DIR
from agegender.detector import DETECTORS
from layers.wheel_assets import ChecksumError, WheelMember, fetch

WHEEL = "mediapipe==0.10.14"
MEMBER_DIR = "mediapipe/modules/face_detection/"


def main() -> int:
    """Extract and verify the detector files."""
    members = [WheelMember(MEMBER_DIR + spec.filename, spec.path, spec.sha256) for spec in DETECTORS.values()]
    try:
        written = fetch(WHEEL, members)
    except ChecksumError as exc:
        print(exc, file=sys.stderr)
        return 1
    if not written:
        print(f"detectors present and verified in {DETECTOR_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
