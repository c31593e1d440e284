"""Where the console's pipeline is (the local pipeline's names, or a deployed stack's outputs) and serving it."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from werkzeug.serving import BaseWSGIServer, make_server

from infra.config import PipelineConfig
from local_pipeline.console.app import create_app
from local_pipeline.console.backend import ConsoleBackend, Names

#: The stack outputs the console reads (infra/stacks/pipeline_stack.py names them).
STACK_OUTPUTS = {
    "input_bucket": "InputBucketName",
    "results_bucket": "ResultsBucketName",
    "state_table": "StateTableName",
}


def local_names(config: PipelineConfig) -> Names:
    """The local pipeline's names (``agegender local up``)."""
    return Names(
        config.input_bucket_name,
        config.results_bucket_name,
        config.results_prefix,
        config.state_table_name if config.audience_stage else None,
        config.rules_key,
    )


def stack_names(cloudformation: Any, stack: str, config: PipelineConfig) -> Names:
    """A deployed stack's names, from its outputs."""
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    }
    missing = [key for name, key in STACK_OUTPUTS.items() if name != "state_table" and key not in outputs]
    if missing:
        raise ValueError(f"stack {stack} has no outputs {missing}: is it this project's stack?")
    return Names(
        outputs["InputBucketName"],
        outputs["ResultsBucketName"],
        config.results_prefix,
        outputs.get("StateTableName"),
        config.rules_key,
    )


def backend_for(names: Names, endpoint_url: str | None) -> ConsoleBackend:
    """Clients for the embedded AWS (``endpoint_url``: the webcam page may add its display to the rules) or the
    user's own AWS account (the rules of a deployed stack are never edited from the console).
    """
    if endpoint_url:
        from local_pipeline.aws import client

        s3, dynamodb = client("s3", endpoint_url), client("dynamodb", endpoint_url)
        return ConsoleBackend(names, s3=s3, dynamodb=dynamodb, edit_rules=True)
    return ConsoleBackend(names, s3=boto3.client("s3"), dynamodb=boto3.client("dynamodb"))


def start(backend: ConsoleBackend, where: str, host: str = "127.0.0.1", port: int = 8080) -> BaseWSGIServer:
    """Serve the console in a background thread; returns the server (``.shutdown()`` stops it)."""
    server = make_server(host, port, create_app(backend, where=where), threaded=True)
    threading.Thread(target=server.serve_forever, name="console", daemon=True).start()
    return server
