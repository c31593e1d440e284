"""CDK composition root (``cdk.json`` runs this): build the Lambda packages, then the stack, under cdk-nag.

npx cdk synth            # or: make synth (cdk.json runs `python -m infra.app`)
npx cdk deploy -c agegender='{"architecture": "x86_64", "alarm_email": "ops@example.com"}'
"""

from __future__ import annotations

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import CONTEXT_KEY, PipelineConfig
from infra.stacks.pipeline_stack import PipelineStack
from layers.build import LambdaPackages, build_packages

STACK_NAME = "AgeGenderPipeline"


def build_app(
    app: App | None = None,
    *,
    config: PipelineConfig | None = None,
    packages: LambdaPackages | None = None,
) -> tuple[App, PipelineStack]:
    """The app with its one stack and the AwsSolutions checks; packages built (or reused) unless given."""
    app = app or App()
    config = config or PipelineConfig.from_context(app.node.try_get_context(CONTEXT_KEY))
    packages = packages or build_packages(config.architecture, config.python_version, config.classifier)
    stack = PipelineStack(
        app,
        STACK_NAME,
        config=config,
        packages=packages,
        env=Environment(account=app.node.try_get_context("account"), region=app.node.try_get_context("region")),
        description="Age and gender inference: S3 -> SNS -> SQS -> Lambda (TFLite) -> S3",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


if __name__ == "__main__":
    application, _ = build_app()
    application.synth()
