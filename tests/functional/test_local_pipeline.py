"""The local pipeline end to end, through moto's server with plain boto3, as a user would drive it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from agegender.locations import result_key
from bench.corpus import corpus, hostile
from infra.config import PipelineConfig
from local_pipeline.aws import client, queue_depth, result_keys
from local_pipeline.embedded import LocalPipeline
from local_pipeline.samples import demo_samples

#: Short timeouts so that redeliveries come quickly (visibility 18 s), yet long enough for a batch of ten
#: camera frames: the worker, like Lambda, starts no message with less than a quarter of the timeout left.
FAST = PipelineConfig(timeout_s=3, max_receive_count=2)


def wait_until(predicate, timeout_s: float, interval_s: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


@pytest.mark.network
def test_fifty_uploads_good_and_bad_each_get_exactly_one_result(tmp_path):
    entries = [(e.key, e.data, e.expected_error) for e in corpus()]
    faces = demo_samples()[:2]  # the close-up and the three-person camera frame
    while len(entries) < 50:
        sample = faces[len(entries) % 2]
        entries.append((f"cameras/cam-{len(entries):02d}/{sample.key.rsplit('/', 1)[-1]}", sample.data, None))
    with LocalPipeline(FAST, worker_log=tmp_path / "worker.log") as pipeline:
        resources = pipeline.resources
        s3, sqs = client("s3", resources.endpoint), client("sqs", resources.endpoint)
        for key, data, _ in entries:
            s3.put_object(Bucket=resources.input_bucket, Key=key, Body=data)
        assert wait_until(lambda: len(result_keys(s3, resources.results_bucket)) >= len(entries), timeout_s=180)
        assert wait_until(lambda: queue_depth(sqs, resources.queue_url) == 0, timeout_s=20)
        keys = result_keys(s3, resources.results_bucket)
        assert len(keys) == len(entries)  # exactly one each: no duplicates, none missing
        for key, _, expected_error in entries:
            document = json_object(s3, resources.results_bucket, result_key("results/", resources.input_bucket, key))
            assert document["Source"]["Key"] == key
            if expected_error:
                assert document["Error"]["Code"] == expected_error, key
                assert document["FaceDetails"] == []
            else:
                assert document["Error"] is None, (key, document["Error"])
            if key.startswith("cameras/"):
                assert len(document["FaceDetails"]) in (1, 3)
                assert all(face["Classified"] for face in document["FaceDetails"])
        assert queue_depth(sqs, resources.dead_letter_queue_url) == 0
    log = (tmp_path / "worker.log").read_text()
    assert '"error_code":"ImageTooLarge"' in log  # typed errors are logged as well as written
    (report,) = [json.loads(line) for line in log.splitlines() if line.startswith('{"message": "worker stopped"')]
    assert report["peak_rss_mb"] < 300  # bombs, 16 MB uploads and 1920-px frames stay bounded


@pytest.mark.slow
@pytest.mark.network
def test_hostile_uploads_get_typed_results_beside_good_ones_and_folder_markers_none(tmp_path):
    """Each hostile input of the corpus, a good upload, a folder marker, and a key that tries to forge a
    long key's result, through the local pipeline with the stack's own settings (a 60 s timeout).
    """
    long_key = "keys/" + "y" * 1100
    digest_key = result_key("results/", "agegender-input", long_key).rsplit("/", 1)[-1].removesuffix(".json")
    good = demo_samples()[0]
    entries = [(e.key, e.data, e.expected_error) for e in hostile()]
    entries += [(good.key, good.data, None), (long_key, good.data, None), (f"_long-keys/{digest_key}", b"", "x")]
    with LocalPipeline(PipelineConfig(), worker_log=tmp_path / "worker.log") as pipeline:
        resources = pipeline.resources
        s3, sqs = client("s3", resources.endpoint), client("sqs", resources.endpoint)
        s3.put_object(Bucket=resources.input_bucket, Key="photos/2026/", Body=b"")  # a console folder marker
        for key, data, _ in entries:
            s3.put_object(Bucket=resources.input_bucket, Key=key, Body=data)
        assert wait_until(lambda: len(result_keys(s3, resources.results_bucket)) >= len(entries), timeout_s=240)
        assert wait_until(lambda: queue_depth(sqs, resources.queue_url) == 0, timeout_s=30)
        assert len(result_keys(s3, resources.results_bucket)) == len(entries)  # none for the folder marker
        for key, _, expected_error in entries:
            document = json_object(s3, resources.results_bucket, result_key("results/", resources.input_bucket, key))
            assert document["Source"]["Key"] == key  # the forging key has its own result, not the long key's
            if expected_error == "x":
                assert document["Error"]["Code"] == "InvalidImageFormat"
            elif expected_error:
                assert document["Error"]["Code"] == expected_error, key
            else:
                assert document["Error"] is None, (key, document["Error"])
        assert queue_depth(sqs, resources.dead_letter_queue_url) == 0
    log = (tmp_path / "worker.log").read_text()
    assert '"reason":"a zero-byte folder marker"' in log
    (report,) = [json.loads(line) for line in log.splitlines() if line.startswith('{"message": "worker stopped"')]
    assert report["peak_rss_mb"] < 600


def json_object(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_poison_message_ends_in_the_dead_letter_queue_after_the_configured_receives(tmp_path):
    with LocalPipeline(FAST, worker_log=tmp_path / "worker.log") as pipeline:
        resources = pipeline.resources
        sqs = client("sqs", resources.endpoint)
        sqs.send_message(QueueUrl=resources.queue_url, MessageBody='{"Records": [{"s3": "not an S3 event"}]}')
        # Failed on each of max_receive_count receives, one visibility timeout apart, then moved on the next.
        budget = FAST.visibility_timeout_s * (FAST.max_receive_count + 2)
        assert wait_until(lambda: queue_depth(sqs, resources.dead_letter_queue_url) == 1, timeout_s=budget)
        assert queue_depth(sqs, resources.queue_url) == 0
        (message,) = sqs.receive_message(
            QueueUrl=resources.dead_letter_queue_url, AttributeNames=["ApproximateReceiveCount"]
        )["Messages"]
        assert "not an S3 event" in message["Body"]
    assert (tmp_path / "worker.log").read_text().count("message failed") == FAST.max_receive_count


@pytest.mark.slow
@pytest.mark.network
def test_demo_command_succeeds(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "local_pipeline.cli", "demo", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: every upload got exactly one result" in run.stdout
    assert "InvalidImageFormat" in run.stdout
    assert (tmp_path / "cameras" / "lobby" / "frame-0001.jpg.png").exists()
