"""Build floor: the Lambda layer and function packages, built without Docker."""

from agegender.assets import REPO_ROOT

#: Built artefacts (layer, function folder, sample images); ignored by git.
BUILD_DIR = REPO_ROOT / "build"
