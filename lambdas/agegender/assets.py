"""Where the shipped models live, in a source checkout and in the Lambda function package.

Function package (``/var/task``): ``models/`` beside the ``agegender`` package. Source checkout:
``<repo>/models`` beside ``lambdas/``. The classifier can be replaced through ``Settings``
(``MODEL_PATH``); the folder itself follows the layout only.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
#: The source checkout's root (``lambdas/`` sits in it): every floor's one anchor for repository paths.
#: In the function package there is no checkout, and nothing there uses it.
REPO_ROOT = _PACKAGE_DIR.parents[1]


def models_dir() -> Path:
    """The first of the function-package and checkout layouts that exists."""
    function_package = _PACKAGE_DIR.parent / "models"
    checkout = REPO_ROOT / "models"
    return function_package if function_package.is_dir() else checkout


MODELS_DIR = models_dir()
DETECTOR_DIR = MODELS_DIR / "detector"
DEFAULT_MODEL_PATH = MODELS_DIR / "agegender.tflite"
#: The accurate option: HSE's faceres-deep behind the same contract (``scripts/convert_teacher.py``).
ACCURATE_MODEL_PATH = MODELS_DIR / "accurate" / "faceres_deep_f16.tflite"
#: The shipped classifiers by the name a stack (``PipelineConfig.classifier``) and ``predict`` choose them by.
CLASSIFIERS = {"small": DEFAULT_MODEL_PATH, "accurate": ACCURATE_MODEL_PATH}
