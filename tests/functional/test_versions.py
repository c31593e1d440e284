"""S3 versions and event order on moto's S3 (its events carry no version ids: the tests build them)."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from agegender.analyzer import ImageAnalyzer
from agegender.events import S3ObjectRef
from agegender.locations import result_key
from agegender.processor import ObjectProcessor


def jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def s3(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        for bucket in ("versioned-in", "results-out"):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        client.put_bucket_versioning(Bucket="versioned-in", VersioningConfiguration={"Status": "Enabled"})
        yield client


@pytest.fixture(scope="module")
def analyzer():
    return ImageAnalyzer()


def upload(s3, key: str, data: bytes, sequencer: str) -> S3ObjectRef:
    version = s3.put_object(Bucket="versioned-in", Key=key, Body=data)["VersionId"]
    return S3ObjectRef("versioned-in", key, version_id=version, size=len(data), sequencer=sequencer)


def result(s3, key: str) -> dict:
    body = s3.get_object(Bucket="results-out", Key=result_key("results/", "versioned-in", key))["Body"]
    return json.loads(body.read())


def test_late_and_stale_events_never_replace_the_current_versions_result(s3, analyzer):
    processor = ObjectProcessor(analyzer, s3, results_bucket="results-out", results_prefix="results/")
    first = upload(s3, "cam/frame.jpg", jpeg((200, 0, 0)), "0055AED6DCD90281E5")
    second = upload(s3, "cam/frame.jpg", jpeg((0, 200, 0)), "0055AED6DCD90281F0")
    assert processor.process(second).skipped is None
    assert "newer event" in processor.process(first).skipped  # the late event for version 1
    document = result(s3, "cam/frame.jpg")
    assert (document["Source"]["VersionId"], document["Source"]["Sequencer"]) == (second.version_id, second.sequencer)
    # Version 1's event, had it come first, is stale too: version 2 is current.
    s3.delete_object(Bucket="results-out", Key=result_key("results/", "versioned-in", "cam/frame.jpg"))
    assert "no longer current" in processor.process(first).skipped


def test_an_object_deleted_before_processing_is_not_analysed(s3, analyzer):
    processor = ObjectProcessor(analyzer, s3, results_bucket="results-out", results_prefix="results/")
    ref = upload(s3, "uploads/private.jpg", jpeg((10, 20, 30)), "0055AED6DCD9028300")
    s3.delete_object(Bucket="versioned-in", Key="uploads/private.jpg")  # a delete marker; the version survives
    outcome = processor.process(ref)
    assert outcome.error_code == "InvalidS3Object"
    document = result(s3, "uploads/private.jpg")
    assert document["Image"] is None
    assert document["Error"]["Code"] == "InvalidS3Object"
