"""Load on the local pipeline: N uploads, W worker processes, every result accounted for.

    python -m bench.load --uploads 5000 --workers 2 [--rate 0] [--json bench/results/load.json]

Uploads camera frames (the demo's 1280x720 frame with three faces, and the 512x512 close-up)
as fast as possible (``--rate 0``, a burst) or at a fixed rate, and times each upload to its
result from the result summaries the pipeline publishes (``results_topic``), read from a
queue subscribed to that topic. At the end: one result object per upload, no upload processed
twice, queue and dead-letter queue empty. Prints a table and writes JSON.

moto's SQS scans its whole backlog on every receive (about 1 s per receive at 1,000 queued
messages), so large bursts measure moto rather than the pipeline: measure throughput with
bursts of a few hundred and run long tests paced below it (``make soak``: 8 per second).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np

from bench import REPO_ROOT
from infra.config import PipelineConfig
from local_pipeline.aws import client, queue_depth, result_keys
from local_pipeline.embedded import LocalPipeline
from local_pipeline.samples import demo_samples


@dataclasses.dataclass
class LoadReport:
    """Throughput, latency and losses of one load run."""

    uploads: int
    workers: int
    rate: float
    results: int
    duplicates: int
    missing: int
    left_in_queue: int
    left_in_dlq: int
    upload_seconds: float
    wall_seconds: float
    images_per_second: float
    latency_p50_s: float
    latency_p95_s: float
    latency_max_s: float
    worker_peak_rss_mb: list[float]
    machine: str


def run_load(
    uploads: int, workers: int, rate: float = 0.0, timeout_s: float = 3600, log: Path | None = None
) -> LoadReport:
    """Drive the local pipeline and account for every upload."""
    samples = demo_samples()[:2]
    config = PipelineConfig(results_topic=True, timeout_s=10)
    log = log or Path("demo-output") / "load-worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    with LocalPipeline(config, workers=workers, worker_log=log) as pipeline:
        resources = pipeline.resources
        s3, sqs, sns = (client(name, resources.endpoint) for name in ("s3", "sqs", "sns"))
        tap_url = sqs.create_queue(QueueName="load-results")["QueueUrl"]
        tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=resources.results_topic_arn, Protocol="sqs", Endpoint=tap_arn,
                      Attributes={"RawMessageDelivery": "true"})  # fmt: skip
        time.sleep(2)  # let the workers load their models before the clock starts
        uploaded: dict[str, float] = {}
        summaries: dict[str, list[float]] = {}
        done = threading.Event()

        def collect() -> None:
            reader = client("sqs", resources.endpoint)
            while not done.is_set():
                messages = reader.receive_message(QueueUrl=tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
                for message in messages.get("Messages", []):
                    summary = json.loads(message["Body"])
                    stamp = datetime.fromisoformat(summary["Time"]).timestamp()
                    summaries.setdefault(summary["Source"]["Key"], []).append(stamp)
                if messages.get("Messages"):
                    reader.delete_message_batch(QueueUrl=tap_url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages["Messages"])
                    ])  # fmt: skip

        collector = threading.Thread(target=collect, daemon=True)
        collector.start()
        started = time.time()

        def put(index: int) -> None:
            if rate:
                time.sleep(max(0.0, started + index / rate - time.time()))
            sample = samples[index % len(samples)]
            key = f"cameras/cam-{index % 7:02d}/frame-{index:06d}.jpg"
            uploader = s3_clients[threading.get_ident() % len(s3_clients)]
            uploader.put_object(Bucket=resources.input_bucket, Key=key, Body=sample.data)
            uploaded[key] = time.time()

        s3_clients = [client("s3", resources.endpoint) for _ in range(4)]
        with ThreadPoolExecutor(max_workers=1 if rate else 4) as pool:
            list(pool.map(put, range(uploads)))
        upload_seconds = time.time() - started
        deadline = time.monotonic() + timeout_s
        last = 0
        while len(summaries) < uploads and time.monotonic() < deadline:
            time.sleep(1)
            if len(summaries) // 500 != last // 500:
                print(f"  {len(summaries)}/{uploads} results", file=sys.stderr, flush=True)
            last = len(summaries)
        # A batch is deleted from the queue only after its last summary is published: let the last deletes land.
        settle = time.monotonic() + 30
        while queue_depth(sqs, resources.queue_url) and time.monotonic() < settle:
            time.sleep(0.5)
        time.sleep(1)  # duplicate summaries, if any, arrive within the collector's next poll
        done.set()
        collector.join()
        results = len(result_keys(s3, resources.results_bucket, config.results_prefix))
        left = queue_depth(sqs, resources.queue_url)
        left_dlq = queue_depth(sqs, resources.dead_letter_queue_url)
    latencies = [summaries[k][0] - t for k, t in uploaded.items() if k in summaries]
    finished = max((v[0] for v in summaries.values()), default=started)
    reports = [json.loads(x) for x in log.read_text().splitlines() if x.startswith('{"message": "worker stopped"')]
    return LoadReport(
        uploads=uploads,
        workers=workers,
        rate=rate,
        results=results,
        duplicates=sum(len(v) - 1 for v in summaries.values()),
        missing=uploads - len(summaries),
        left_in_queue=left,
        left_in_dlq=left_dlq,
        upload_seconds=round(upload_seconds, 2),
        wall_seconds=round(finished - started, 2),
        images_per_second=round(len(summaries) / max(finished - started, 1e-9), 2),
        latency_p50_s=round(statistics.median(latencies), 3) if latencies else float("nan"),
        latency_p95_s=round(float(np.percentile(latencies, 95, method="nearest")), 3) if latencies else float("nan"),
        latency_max_s=round(max(latencies), 3) if latencies else float("nan"),
        worker_peak_rss_mb=[r["peak_rss_mb"] for r in reports],
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
    )


def main() -> int:
    """Upload N objects to the local pipeline and report latency, duplicates and losses."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="one run per worker count")
    parser.add_argument("--rate", type=float, default=0.0, help="uploads per second; 0 = as fast as possible")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "load.json")
    args = parser.parse_args()
    reports = [run_load(args.uploads, workers, args.rate) for workers in args.workers]
    header = f"{'uploads':>7} {'workers':>7} {'results':>7} {'dups':>4} {'lost':>4} {'queue':>5} {'dlq':>4} " \
             f"{'img/s':>6} {'p50 s':>7} {'p95 s':>7} {'wall s':>7} {'peak RSS MB':>12}"  # fmt: skip
    print(header)
    for r in reports:
        print(f"{r.uploads:7d} {r.workers:7d} {r.results:7d} {r.duplicates:4d} {r.missing:4d} {r.left_in_queue:5d} "
              f"{r.left_in_dlq:4d} {r.images_per_second:6.2f} {r.latency_p50_s:7.2f} {r.latency_p95_s:7.2f} "
              f"{r.wall_seconds:7.1f} {max(r.worker_peak_rss_mb, default=0):12.1f}")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([dataclasses.asdict(r) for r in reports], indent=2))
    ok = all(r.results == r.uploads and not r.duplicates and not r.missing and not r.left_in_queue
             and not r.left_in_dlq for r in reports)  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
