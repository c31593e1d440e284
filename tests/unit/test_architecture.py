"""The floors import only downward: the import-linter contracts in pyproject.toml hold, and they can fail."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def run_lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_contract_is_kept():
    result = run_lint_imports(REPO_ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_floors(tmp_path):
    # The runtime importing the local pipeline (the fault this layering removed) must be reported.
    config = (REPO_ROOT / "pyproject.toml").read_text()
    probe = REPO_ROOT / "lambdas" / "agegender" / "_upward_import_probe.py"
    probe.write_text('"""Probe."""\n\nimport local_pipeline.worker  # noqa: F401\n')
    try:
        (tmp_path / "pyproject.toml").write_text(config)
        result = run_lint_imports(tmp_path / "pyproject.toml")
    finally:
        probe.unlink()
    assert result.returncode != 0
    assert "agegender._upward_import_probe -> local_pipeline.worker" in result.stdout


def test_unit_tier_uses_no_aws_emulation():
    """The ``unit`` marker promises no moto: tests that need it live in tests/functional."""
    users = [
        p.name
        for p in (REPO_ROOT / "tests" / "unit").glob("test_*.py")
        if re.search(r"^(from|import) moto", p.read_text(), re.M)
    ]
    assert not users, f"move to tests/functional (they import moto): {users}"
