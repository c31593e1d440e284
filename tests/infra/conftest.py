"""Synthesize the stack once per configuration; the Lambda packages are built for real, once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

aws_cdk = pytest.importorskip("aws_cdk", reason="the infra extra is not installed")
from aws_cdk.assertions import Template  # noqa: E402

from infra.app import build_app  # noqa: E402
from infra.config import PipelineConfig  # noqa: E402
from layers.build import LambdaPackages  # noqa: E402
from tests.conftest import REPO_ROOT  # noqa: E402

#: Every optional feature on, to check the statements and resources they add.
ALL_OPTIONS = PipelineConfig(
    architecture="x86_64",
    results_topic=True,
    delete_source=True,
    key_prefix="cameras/",
    key_suffix=".jpg",
    alarm_email="ops@example.com",
    retain_data=False,
    access_logs=False,
    results_expiry_days=30,
)


def synthesize(config: PipelineConfig, packages: LambdaPackages, outdir: Path) -> dict:
    """Synthesize the whole app (cdk-nag runs, and raises on any unacknowledged finding)."""
    # cdk.json's feature flags, as the CLI would pass them; the pipeline settings come from `config`.
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = aws_cdk.App(outdir=str(outdir), context={k: v for k, v in context.items() if k.startswith("@")})
    app, stack = build_app(app, config=config, packages=packages)
    assembly = app.synth()
    return json.loads(Path(assembly.get_stack_by_name(stack.stack_name).template_full_path).read_text())


@pytest.fixture(scope="session")
def packages(lambda_layer, function_package, audience_package) -> LambdaPackages:
    return LambdaPackages(lambda_layer.path, function_package.path, audience_package.path)


@pytest.fixture(scope="session")
def default_template(packages, tmp_path_factory) -> Template:
    return Template.from_json(synthesize(PipelineConfig(), packages, tmp_path_factory.mktemp("cdk-default")))


@pytest.fixture(scope="session")
def options_template(packages, tmp_path_factory) -> Template:
    return Template.from_json(synthesize(ALL_OPTIONS, packages, tmp_path_factory.mktemp("cdk-options")))
