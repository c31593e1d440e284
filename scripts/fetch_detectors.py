"""Build step: extract MediaPipe's BlazeFace models from the mediapipe==0.10.14 wheel into models/detector/.

    python scripts/fetch_detectors.py

Downloads the wheel from the package index with pip (no other network access), extracts
the two face-detection ``.tflite`` files and checks their sha256 against
``agegender.detector``; files already present with the right checksum are kept.
The models are Apache-2.0 licensed, like MediaPipe.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "lambdas"))

from agegender.assets import DETECTOR_DIR  # noqa: E402
from agegender.detector import DETECTORS  # noqa: E402

WHEEL = "mediapipe==0.10.14"
MEMBER_DIR = "mediapipe/modules/face_detection/"
# Any one platform's wheel carries the same model files; pin one so the download is deterministic.
PLATFORM_ARGS = ["--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def missing() -> list:
    return [spec for spec in DETECTORS.values() if not spec.path.exists() or sha256(spec.path) != spec.sha256]


def main() -> int:
    todo = missing()
    if not todo:
        print(f"detectors present and verified in {DETECTOR_DIR}")
        return 0
    DETECTOR_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             *PLATFORM_ARGS, "--dest", tmp, WHEEL],
            check=True,
        )  # fmt: skip
        wheel = next(Path(tmp).glob("mediapipe-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for spec in todo:
                data = archive.read(MEMBER_DIR + spec.filename)
                digest = hashlib.sha256(data).hexdigest()
                if digest != spec.sha256:
                    print(f"{spec.filename}: sha256 {digest} != expected {spec.sha256}", file=sys.stderr)
                    return 1
                spec.path.write_bytes(data)
                print(f"extracted {spec.filename} ({len(data)} bytes, sha256 ok)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
