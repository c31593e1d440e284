"""``agegender local up|worker``, ``demo`` and ``redrive``: argument parsing only; the work is imported on use."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agegender.locations import result_key


def _config(text: str | None) -> Any:
    from infra.config import PipelineConfig

    return PipelineConfig.from_context(text or None)


def _up(args: argparse.Namespace) -> int:
    import signal
    import sys
    import time

    from local_pipeline.aws import PortInUseError, local_environment
    from local_pipeline.embedded import LocalPipeline

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the workers and the server as Ctrl-C does

    signal.signal(signal.SIGTERM, interrupt)
    config = _config(args.config)
    try:
        with LocalPipeline(config, port=args.port, workers=args.workers, worker_log=args.log) as pipeline:
            resources = pipeline.resources
            env = " ".join(f"{k}={v}" for k, v in local_environment(resources.endpoint).items())
            logs = args.log or "discarded"
            print(f"embedded AWS at {resources.endpoint}; {args.workers} worker(s); worker logs: {logs}")
            print(resources.to_json())
            print("\nTry, from another shell:")
            print(f"  export {env}")
            print(f"  aws s3 cp photo.jpg s3://{resources.input_bucket}/uploads/photo.jpg")
            result = result_key(config.results_prefix, resources.input_bucket, "uploads/photo.jpg")
            print(f"  aws s3 cp s3://{resources.results_bucket}/{result} -")
            print("Ctrl-C stops.", flush=True)
            try:
                while all(p.poll() is None for p in pipeline.processes):
                    time.sleep(0.5)
            except KeyboardInterrupt:
                return 0
            print("a worker exited; stopping", flush=True)
            return 1
    except PortInUseError as exc:
        print(f"agegender local up: {exc}", file=sys.stderr)
        return 1


def _worker(args: argparse.Namespace) -> int:
    from local_pipeline.aws import LocalResources
    from local_pipeline.worker import serve

    serve(_config(args.config), LocalResources.from_json(Path(args.resources).read_text()), throttle_rate=args.throttle)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    import boto3

    from local_pipeline.aws import client
    from local_pipeline.redrive import redrive

    config = _config(args.config)
    sqs = client("sqs", args.endpoint_url) if args.endpoint_url else boto3.client("sqs")
    dlq_url = args.dlq_url or sqs.get_queue_url(QueueName=config.dlq_name)["QueueUrl"]
    queue_url = args.queue_url or sqs.get_queue_url(QueueName=config.queue_name)["QueueUrl"]
    moved = redrive(sqs, dlq_url=dlq_url, queue_url=queue_url, limit=args.max)
    print(f"moved {moved} messages from {dlq_url} back to {queue_url}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from local_pipeline.demo import run_demo

    return run_demo(images=args.images, output=args.output, config=_config(args.config), workers=args.workers)


def add_local_commands(commands: Any) -> None:
    """Register ``local`` and ``demo`` on the ``agegender`` parser."""
    config_help = 'pipeline settings as JSON, the cdk.json "agegender" format (e.g. \'{"batch_size": 5}\')'
    local = commands.add_parser("local", help="the pipeline on an embedded AWS (moto's server)")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    up = local_commands.add_parser("up", help="start the embedded AWS, the stack's resources and the worker(s)")
    up.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000)")
    up.add_argument("--workers", type=int, default=1, help="worker processes (concurrent invocations)")
    up.add_argument("--log", type=Path, default=None, help="append the workers' structured logs to this file")
    up.add_argument("--config", default=None, help=config_help)
    up.set_defaults(run=_up)
    worker = local_commands.add_parser("worker", help="one worker: poll the queue, invoke the handler (internal)")
    worker.add_argument("--resources", required=True, help="resources JSON written by `local up`")
    worker.add_argument("--config", default=None, help=config_help)
    worker.add_argument("--throttle", type=float, default=0.0, help="answer this share of result writes with SlowDown")
    worker.set_defaults(run=_worker)

    again = commands.add_parser("redrive", help="send dead-letter messages back to the queue (after a fix)")
    again.add_argument("--endpoint-url", default=None, help="the local pipeline's endpoint (default: AWS itself)")
    again.add_argument("--dlq-url", default=None, help="dead-letter queue URL (default: by the configured name)")
    again.add_argument("--queue-url", default=None, help="queue URL (default: by the configured name)")
    again.add_argument("--max", type=int, default=None, help="move at most this many")
    again.add_argument("--config", default=None, help=config_help)
    again.set_defaults(run=_redrive)

    demo = commands.add_parser("demo", help="local pipeline + sample uploads; prints a table of results")
    demo.add_argument("--images", type=Path, default=None, help="upload the images in this folder instead")
    demo.add_argument("--output", type=Path, default=Path("demo-output"), help="annotated PNGs and the worker log")
    demo.add_argument("--workers", type=int, default=1)
    demo.add_argument("--config", default=None, help=config_help)
    demo.set_defaults(run=_demo)


__all__ = ["add_local_commands"]
