"""Faults on the local pipeline: a worker killed mid-batch, throttled result writes, the DLQ and redrive,
replayed notifications. Every upload still gets exactly one result.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from agegender.locations import result_key
from local_pipeline.aws import client, queue_depth, result_keys
from local_pipeline.embedded import LocalPipeline
from local_pipeline.samples import demo_samples
from tests.functional.test_local_pipeline import FAST, wait_until

pytestmark = pytest.mark.network  # every test uploads the demo's sample frames (scikit-image's wheel)


def frames(count: int) -> list[tuple[str, bytes]]:
    frame = demo_samples()[1].data  # the 1280x720 frame with three faces
    return [(f"cameras/cam-{i % 3}/frame-{i:04d}.jpg", frame) for i in range(count)]


def stopped_reports(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith('{"message": "worker stopped"')]


def test_a_worker_killed_mid_batch_loses_nothing(tmp_path):
    uploads = frames(30)
    with LocalPipeline(FAST, workers=0, worker_log=tmp_path / "worker.log") as pipeline:
        resources = pipeline.resources
        s3, sqs = client("s3", resources.endpoint), client("sqs", resources.endpoint)
        for key, data in uploads:
            s3.put_object(Bucket=resources.input_bucket, Key=key, Body=data)
        pipeline.start_worker()  # after the uploads, so that its first batch is a full one
        # The first result means the only worker is inside its first batch of 10: kill it there.
        assert wait_until(lambda: len(result_keys(s3, resources.results_bucket)) >= 1, timeout_s=60, interval_s=0.05)
        pipeline.processes[0].kill()  # SIGKILL: no clean-up, its batch is never acknowledged
        pipeline.processes[0].wait()
        attributes = sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])["Attributes"]
        assert int(attributes["ApproximateNumberOfMessagesNotVisible"]) >= 1  # held by the dead worker
        pipeline.start_worker()
        assert wait_until(lambda: len(result_keys(s3, resources.results_bucket)) == len(uploads), timeout_s=120)
        assert wait_until(lambda: queue_depth(sqs, resources.queue_url) == 0, timeout_s=30)
        assert queue_depth(sqs, resources.dead_letter_queue_url) == 0
    # The held messages' results exist only because they were delivered again after the kill. The log
    # may lack the dead worker's own lines: the kill can land between its S3 write and its log call.
    log = (tmp_path / "worker.log").read_text()
    assert log.count('"message":"result written"') >= len(uploads)


def test_throttled_result_writes_are_retried_until_they_succeed(tmp_path):
    config = dataclasses.replace(FAST, max_receive_count=5)
    uploads = frames(20)
    with LocalPipeline(config, worker_log=tmp_path / "worker.log", throttle=0.5) as pipeline:
        resources = pipeline.resources
        s3, sqs = client("s3", resources.endpoint), client("sqs", resources.endpoint)
        for key, data in uploads:
            s3.put_object(Bucket=resources.input_bucket, Key=key, Body=data)
        assert wait_until(lambda: len(result_keys(s3, resources.results_bucket)) == len(uploads), timeout_s=180)
        assert wait_until(lambda: queue_depth(sqs, resources.queue_url) == 0, timeout_s=60)
        assert queue_depth(sqs, resources.dead_letter_queue_url) == 0
    (report,) = stopped_reports((tmp_path / "worker.log").read_text())
    assert report["throttled_writes"] >= 5  # about half of all attempts were answered SlowDown
    assert report["passed_writes"] >= len(uploads)


def test_dead_letters_are_redriven_once_the_cause_is_fixed(tmp_path):
    with LocalPipeline(FAST, worker_log=tmp_path / "worker.log") as pipeline:
        resources = pipeline.resources
        s3, sqs = client("s3", resources.endpoint), client("sqs", resources.endpoint)
        s3.delete_bucket(Bucket=resources.results_bucket)  # the fault: results cannot be written
        key, data = frames(1)[0]
        s3.put_object(Bucket=resources.input_bucket, Key=key, Body=data)
        budget = FAST.visibility_timeout_s * (FAST.max_receive_count + 2)
        assert wait_until(lambda: queue_depth(sqs, resources.dead_letter_queue_url) == 1, timeout_s=budget)
        s3.create_bucket(Bucket=resources.results_bucket)  # the fix
        redrive = subprocess.run(
            [sys.executable, "-m", "local_pipeline.cli", "redrive", "--endpoint-url", resources.endpoint,
             "--config", json.dumps(dataclasses.asdict(FAST))],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert redrive.returncode == 0, redrive.stderr
        assert "moved 1 messages" in redrive.stdout
        assert wait_until(lambda: result_keys(s3, resources.results_bucket) != [], timeout_s=60)
        assert result_keys(s3, resources.results_bucket) == [result_key("results/", resources.input_bucket, key)]
        assert queue_depth(sqs, resources.dead_letter_queue_url) == 0


def test_replayed_notifications_leave_identical_results(tmp_path):
    uploads = [(s.key, s.data) for s in demo_samples()]
    with LocalPipeline(FAST, worker_log=tmp_path / "worker.log") as pipeline:
        resources = pipeline.resources
        s3, sqs, sns = (client(name, resources.endpoint) for name in ("s3", "sqs", "sns"))
        tap_url = sqs.create_queue(QueueName="tap")["QueueUrl"]
        tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=resources.uploads_topic_arn, Protocol="sqs", Endpoint=tap_arn,
            Attributes={"RawMessageDelivery": "true"},
        )  # fmt: skip
        for key, data in uploads:
            s3.put_object(Bucket=resources.input_bucket, Key=key, Body=data)
        assert wait_until(lambda: len(result_keys(s3, resources.results_bucket)) == len(uploads), timeout_s=60)
        first = {k: s3.get_object(Bucket=resources.results_bucket, Key=k)["Body"].read()
                 for k in result_keys(s3, resources.results_bucket)}  # fmt: skip
        notifications = sqs.receive_message(QueueUrl=tap_url, MaxNumberOfMessages=10)["Messages"]
        assert len(notifications) == len(uploads)
        for message in notifications:  # replay: the same S3 events, delivered again
            sqs.send_message(QueueUrl=resources.queue_url, MessageBody=message["Body"])
        log = tmp_path / "worker.log"
        assert wait_until(lambda: log.read_text().count('"message":"result written"') + log.read_text().count(
            '"message":"error result written"') == 2 * len(uploads), timeout_s=60)  # fmt: skip
        assert wait_until(lambda: queue_depth(sqs, resources.queue_url) == 0, timeout_s=30)
        again = {k: s3.get_object(Bucket=resources.results_bucket, Key=k)["Body"].read()
                 for k in result_keys(s3, resources.results_bucket)}  # fmt: skip
    assert again == first  # same keys, same bytes (results carry no timing fields)
