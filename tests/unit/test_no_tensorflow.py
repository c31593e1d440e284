"""The Lambda's library must never pull in TensorFlow or Keras (the layer does not have them)."""

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_runtime_library_imports_without_tensorflow():
    code = (
        "import sys, pkgutil, importlib, agegender\n"
        "for m in pkgutil.iter_modules(agegender.__path__): importlib.import_module('agegender.' + m.name)\n"
        "from agegender.classifier import AgeGenderClassifier\n"
        "AgeGenderClassifier()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
