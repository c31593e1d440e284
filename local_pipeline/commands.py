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
            console = None
            if args.console_port:
                from local_pipeline.console.serve import backend_for, local_names, start

                backend = backend_for(local_names(config), resources.endpoint)
                console = start(backend, f"local pipeline at {resources.endpoint}", port=args.console_port)
                print(f"console: http://127.0.0.1:{console.server_port}/")
            print("\nTry, from another shell:")
            print(f"  export {env}")
            print(f"  aws s3 cp photo.jpg s3://{resources.input_bucket}/uploads/photo.jpg")
            result = result_key(config.results_prefix, resources.input_bucket, "uploads/photo.jpg")
            print(f"  aws s3 cp s3://{resources.results_bucket}/{result} -")
            print("Ctrl-C stops.", flush=True)
            try:
                while all(p.poll() is None for p in pipeline.all_processes):
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
    from local_pipeline.worker import serve, serve_audience

    resources = LocalResources.from_json(Path(args.resources).read_text())
    if args.stage == "audience":
        serve_audience(_config(args.config), resources)
    else:
        serve(_config(args.config), resources, throttle_rate=args.throttle)
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


def _aws(service: str, endpoint_url: str | None) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint_url) if endpoint_url else boto3.client(service)


def _displays(args: argparse.Namespace) -> int:
    import json
    import sys
    from datetime import UTC, datetime

    from audience.rules import RULES_EXAMPLE, InvalidRulesError
    from local_pipeline import displays

    config = _config(getattr(args, "config", None))
    if args.displays_command == "rules-example":
        print(json.dumps(RULES_EXAMPLE, indent=2))
        return 0
    if args.displays_command == "put-rules":
        bucket = args.results_bucket or config.results_bucket_name
        try:
            version = displays.put_rules(
                _aws("s3", args.endpoint_url), bucket, config.rules_key, Path(args.file).read_bytes(), config
            )
        except InvalidRulesError as exc:
            print(f"agegender displays put-rules: {exc}", file=sys.stderr)
            return 2
        print(f"rules version {version} stored at s3://{bucket}/{config.rules_key}")
        return 0
    if args.displays_command == "decision":
        table = args.table or config.state_table_name
        bucket = args.results_bucket or config.results_bucket_name
        decision = displays.current_decision(
            _aws("s3", args.endpoint_url),
            bucket,
            config.rules_key,
            _aws("dynamodb", args.endpoint_url),
            table,
            args.display,
        )
        if decision is None:
            print(f"no decision for display {args.display!r} yet", file=sys.stderr)
            return 1
        since = datetime.fromtimestamp(float(decision["Since"]), UTC) if "Since" in decision else None
        # The stored decision keeps epoch seconds (the display's clock arithmetic); people read a time.
        print(
            json.dumps({**decision, **({"Since": since.isoformat(timespec="milliseconds")} if since else {})}, indent=2)
        )
        return 0
    from local_pipeline.camera_demo import run_camera_demo

    return run_camera_demo(data=args.data, config=config, output=args.output, endpoint_url=args.endpoint_url)


def _report(args: argparse.Namespace) -> int:
    import json
    import sys

    from botocore.exceptions import BotoCoreError, ClientError

    from local_pipeline.displays import audience_report, parse_since

    config = _config(args.config)
    bucket = args.results_bucket or config.results_bucket_name
    try:
        since = parse_since(args.since)
        report = audience_report(_aws("s3", args.endpoint_url), bucket, args.camera, since)
    except ValueError as exc:
        print(f"agegender report: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        where = args.endpoint_url or "AWS (your credentials and region)"
        print(f"agegender report: cannot read s3://{bucket} at {where}: {exc}", file=sys.stderr)
        return 1
    if not report.minutes and not report.tracks:
        print(f"agegender report: no audience records of camera {args.camera!r} since {since} ago", file=sys.stderr)
        return 1
    print(json.dumps(report.summary(), indent=2) if args.json else report.table())
    if args.png:
        from local_pipeline.report_chart import render_png

        render_png(report, args.png)
        print(f"chart: {args.png}")
    return 0


def _console(args: argparse.Namespace) -> int:
    import time

    from local_pipeline.console.serve import backend_for, local_names, stack_names, start

    config = _config(args.config)
    if args.stack:
        import boto3

        names = stack_names(boto3.client("cloudformation"), args.stack, config)
        where = f"stack {args.stack} (your AWS credentials)"
    else:
        names = local_names(config)
        where = f"local pipeline at {args.endpoint_url}" if args.endpoint_url else "AWS (your credentials)"
    server = start(backend_for(names, None if args.stack else args.endpoint_url), where, args.host, args.port)
    print(f"console at http://{args.host}:{server.server_port}/ over {where}; Ctrl-C stops.", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        server.shutdown()
    return 0


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
    up.add_argument("--console-port", type=int, default=8080, help="serve the console here (0: no console)")
    up.set_defaults(run=_up)
    worker = local_commands.add_parser("worker", help="one worker: poll the queue, invoke the handler (internal)")
    worker.add_argument("--resources", required=True, help="resources JSON written by `local up`")
    worker.add_argument("--config", default=None, help=config_help)
    worker.add_argument("--throttle", type=float, default=0.0, help="answer this share of result writes with SlowDown")
    worker.add_argument("--stage", choices=["inference", "audience"], default="inference", help="which function")
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

    from training.options import DEFAULT_DATA

    where = {
        "--endpoint-url": "the local pipeline's endpoint (default: AWS_ENDPOINT_URL, else AWS itself)",
        "--results-bucket": "the results bucket (default: the local pipeline's; a stack output when deployed)",
    }
    shown = commands.add_parser("displays", help="smart displays: rules, decisions, a camera demo")
    display_commands = shown.add_subparsers(dest="displays_command", required=True)
    display_commands.add_parser("rules-example", help="print an example rules document")
    put = display_commands.add_parser("put-rules", help="validate a rules document and store it")
    put.add_argument("file", help="the rules document (JSON)")
    decision = display_commands.add_parser("decision", help="a display's current decision")
    decision.add_argument("display", help="display id")
    decision.add_argument("--table", default=None, help="the state table (default: the local pipeline's)")
    play = display_commands.add_parser("demo", help="a camera sequence through the local pipeline")
    play.add_argument("--data", type=Path, default=DEFAULT_DATA, help="UTKFace archive (adds a man and a child)")
    play.add_argument("--output", type=Path, default=Path("demo-output"), help="worker log")
    for sub in (put, decision, play):
        sub.add_argument("--config", default=None, help=config_help)
    for sub in (put, decision):
        sub.add_argument("--endpoint-url", default=None, help=where["--endpoint-url"])
    play.add_argument(
        "--endpoint-url",
        default=None,
        help="play into the local pipeline already running there (agegender local up), to watch it in its console",
    )
    for sub in (put, decision):
        sub.add_argument("--results-bucket", default=None, help=where["--results-bucket"])
    for sub in display_commands.choices.values():
        sub.set_defaults(run=_displays)

    report = commands.add_parser("report", help="a camera's audience: people, watchers, dwell, attention, mix")
    report.add_argument("--camera", required=True, help="camera id (cameras/<id>/...)")
    report.add_argument("--since", default="1h", help="how far back: 90s, 15m, 1h, 7d (default 1h)")
    report.add_argument("--json", action="store_true", help="the totals as JSON instead of the table")
    report.add_argument("--endpoint-url", default=None, help=where["--endpoint-url"])
    report.add_argument("--results-bucket", default=None, help=where["--results-bucket"])
    report.add_argument("--config", default=None, help=config_help)
    report.add_argument("--png", type=Path, default=None, help="also draw the per-minute chart into this PNG")
    report.set_defaults(run=_report)

    console = commands.add_parser("console", help="a web page: try a photo, watch cameras, read the audience report")
    console.add_argument("--port", type=int, default=8080)
    console.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    console.add_argument("--endpoint-url", default=None, help="the local pipeline's endpoint (agegender local up)")
    console.add_argument("--stack", default=None, help="a deployed stack's name: its outputs name the buckets")
    console.add_argument("--config", default=None, help=config_help)
    console.set_defaults(run=_console)


__all__ = ["add_local_commands"]
