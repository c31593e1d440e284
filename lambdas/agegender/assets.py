"""Where the shipped models live, in a source checkout and in the Lambda function package.

Source checkout: ``<repo>/models`` beside ``lambdas/``. Function package (``/var/task``):
``models/`` beside the ``agegender`` package. ``MODELS_DIR`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def models_dir() -> Path:
    """The models folder: ``$MODELS_DIR``, else the first of the function-package and checkout layouts that exists."""
    override = os.environ.get("MODELS_DIR", "").strip()
    if override:
        return Path(override)
    function_package = _PACKAGE_DIR.parent / "models"
    checkout = _PACKAGE_DIR.parents[1] / "models"
    return function_package if function_package.is_dir() else checkout


MODELS_DIR = models_dir()
DETECTOR_DIR = MODELS_DIR / "detector"
DEFAULT_MODEL_PATH = MODELS_DIR / "agegender.tflite"
