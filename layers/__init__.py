"""Build floor: the Lambda layer and function packages, and files taken from PyPI wheels."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Built artefacts (layer, function folder, sample images); ignored by git.
BUILD_DIR = REPO_ROOT / "build"
