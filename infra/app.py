"""CDK composition root (``cdk.json`` runs this): build the Lambda packages, then the stack, under cdk-nag.

npx cdk synth            # or: make synth
npx cdk deploy -c agegender='{"architecture": "x86_64", "alarm_email": "ops@example.com"}'
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script, Python puts infra/ first on the path, where infra/constructs would shadow the
# `constructs` library; import from the repository root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT / "infra"]
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "lambdas")]

from aws_cdk import App, Environment, Validations  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.config import CONTEXT_KEY, PipelineConfig  # noqa: E402
from infra.stacks.pipeline_stack import PipelineStack  # noqa: E402
from layers.build import build_layer, check_size, stage_function  # noqa: E402

STACK_NAME = "AgeGenderPipeline"


def build_app(
    app: App | None = None,
    *,
    config: PipelineConfig | None = None,
    layer_dir: Path | None = None,
    function_dir: Path | None = None,
) -> tuple[App, PipelineStack]:
    """The app with its one stack and the AwsSolutions checks; packages built (or reused) unless given."""
    app = app or App()
    config = config or PipelineConfig.from_context(app.node.try_get_context(CONTEXT_KEY))
    if layer_dir is None or function_dir is None:
        layer = build_layer(architecture=config.architecture, python_version=config.python_version)
        function = stage_function()
        check_size(layer, function)
        layer_dir, function_dir = layer.path, function.path
    stack = PipelineStack(
        app,
        STACK_NAME,
        config=config,
        layer_dir=layer_dir,
        function_dir=function_dir,
        env=Environment(account=app.node.try_get_context("account"), region=app.node.try_get_context("region")),
        description="Age and gender inference: S3 -> SNS -> SQS -> Lambda (TFLite) -> S3",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


if __name__ == "__main__":
    application, _ = build_app()
    application.synth()
