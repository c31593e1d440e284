"""cdk-nag (AwsSolutions) and cfn-lint on the synthesized templates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.config import PipelineConfig
from tests.conftest import REPO_ROOT
from tests.infra.conftest import ALL_OPTIONS, synthesize


@pytest.mark.parametrize("config", [PipelineConfig(), ALL_OPTIONS], ids=["defaults", "all-options"])
def test_cdk_nag_and_cfn_lint_are_clean(config, packages, tmp_path):
    template = synthesize(config, packages, tmp_path / "cdk.out")  # raises on any unacknowledged cdk-nag finding
    path = tmp_path / "AgeGenderPipeline.template.json"
    path.write_text(json.dumps(template, indent=1))
    # The CLI from the repository root reads .cfnlintrc.yaml (the one justified exception, W3005).
    lint = subprocess.run(
        [Path(sys.executable).with_name("cfn-lint"), str(path)], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
