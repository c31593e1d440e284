import io
import json

import pytest
from botocore.exceptions import ClientError

from agegender.analyzer import Analysis, AnalyzerSettings
from agegender.events import S3ObjectRef
from agegender.locations import MAX_KEY_BYTES, result_key
from agegender.processor import ObjectProcessor
from agegender.summary import SummaryPublisher


class FakeBody(io.BytesIO):
    pass


class FakeS3:
    """Results written or pre-existing (key -> metadata), one upload whose current version is ``current_version``."""

    def __init__(self, get_error=None, length=10, existing_results=(), current_version="v1"):
        self.get_error, self.length, self.puts, self.deletes = get_error, length, [], []
        self.results = {key: {} for key in existing_results}
        self.current_version = current_version

    def head_object(self, Bucket, Key):
        if Key not in self.results:
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")
        return {"Metadata": self.results[Key]}

    def delete_object(self, **params):
        self.deletes.append(params)

    def get_object(self, **params):
        if self.get_error:
            raise ClientError({"Error": {"Code": self.get_error, "Message": "x"}}, "GetObject")
        assert "VersionId" not in params  # the current object is read, and its version compared
        return {"ContentLength": self.length, "Body": FakeBody(b"x" * self.length), "VersionId": self.current_version}

    def put_object(self, **params):
        self.puts.append(params)
        self.results[params["Key"]] = params.get("Metadata", {})


class FakeAnalyzer:
    def __init__(self):
        self.model_info = {"Name": "m", "Version": "1", "Detector": "d"}
        self.settings = AnalyzerSettings(max_bytes=100)

    def analyze(self, data, *, appearance=False):
        return Analysis({"Width": 1, "Height": 1, "Format": "PNG"}, [])


REF = S3ObjectRef("in", "a b.png", version_id="v1", size=10)


def processor(s3, **options):
    return ObjectProcessor(FakeAnalyzer(), s3, results_bucket="out", results_prefix="results/", **options)


def written(s3):
    (put,) = s3.puts
    return json.loads(put["Body"])


@pytest.mark.parametrize(
    ("code", "expected"),
    [("NoSuchKey", "InvalidS3Object"), ("NoSuchVersion", "InvalidS3Object"), ("AccessDenied", "AccessDenied")],
)
def test_permanent_read_errors_become_error_results(code, expected):
    s3 = FakeS3(get_error=code)
    outcome = processor(s3).process(REF)
    assert outcome.error_code == expected
    assert written(s3)["Error"]["Code"] == expected


@pytest.mark.parametrize("code", ["SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"])
def test_transient_read_errors_raise_for_a_retry(code):
    s3 = FakeS3(get_error=code)
    with pytest.raises(ClientError):
        processor(s3).process(REF)
    assert s3.puts == []  # nothing written, nothing acknowledged


def test_oversized_objects_are_refused_before_download():
    s3 = FakeS3(length=101)
    assert processor(s3).process(REF).error_code == "ImageTooLarge"


def test_result_keys_are_deterministic_and_bounded():
    assert result_key("results/", "in", "a b.png") == "results/in/a b.png.json"
    long_key = "k/" + "é" * 600
    key = result_key("results/", "in", long_key)
    assert len(key.encode()) <= MAX_KEY_BYTES
    assert key == result_key("results/", "in", long_key)
    assert key != result_key("results/", "in", long_key + "x")


def test_success_writes_the_analysis():
    s3 = FakeS3()
    outcome = processor(s3).process(REF)
    assert outcome.error_code is None
    document = written(s3)
    assert document["Source"] == {
        "Bucket": "in",
        "Key": "a b.png",
        "VersionId": "v1",
        "ETag": None,
        "Size": 10,
        "Sequencer": None,
    }
    assert s3.puts[0]["Key"] == "results/in/a b.png.json"
    assert s3.puts[0]["ContentType"] == "application/json"


class FakeSNS:
    def __init__(self, error=None):
        self.error, self.messages = error, []

    def publish(self, **params):
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "x"}}, "Publish")
        self.messages.append(params)


def test_summary_is_published_after_the_result_is_written():
    s3, sns = FakeS3(), FakeSNS()
    ref = S3ObjectRef("in", "cameras/door-2/frame 1.jpg")
    processor(s3, publisher=SummaryPublisher(sns, "arn:aws:sns:us-east-1:1:t")).process(ref)
    (message,) = sns.messages
    summary = json.loads(message["Message"])
    assert summary["CameraId"] == "door-2"
    assert summary["Result"] == {"Bucket": "out", "Key": "results/in/cameras/door-2/frame 1.jpg.json"}
    assert summary["FaceCount"] == 0
    assert message["MessageAttributes"]["camera_id"]["StringValue"] == "door-2"
    assert len(s3.puts) == 1


def test_a_failed_publish_raises_so_the_message_is_retried():
    sns = FakeSNS(error="Throttling")
    with pytest.raises(ClientError):
        processor(FakeS3(), publisher=SummaryPublisher(sns, "arn:aws:sns:us-east-1:1:t")).process(REF)


def test_delete_source_removes_the_exact_version_after_the_write():
    s3 = FakeS3()
    processor(s3, delete_source=True).process(REF)
    assert len(s3.puts) == 1
    assert s3.deletes == [{"Bucket": "in", "Key": "a b.png", "VersionId": "v1"}]


def test_delete_source_keeps_the_result_when_a_redelivery_finds_the_upload_gone():
    key = result_key("results/", "in", "a b.png")
    s3 = FakeS3(get_error="NoSuchKey", existing_results={key})
    outcome = processor(s3, delete_source=True).process(REF)
    assert outcome.error_code is None
    assert s3.puts == []  # the good result is not overwritten by an error


def test_without_delete_source_nothing_is_deleted():
    s3 = FakeS3()
    processor(s3).process(REF)
    assert s3.deletes == []


def test_a_late_event_never_overwrites_a_newer_versions_result():
    s3 = FakeS3(current_version="v2")
    newer = S3ObjectRef("in", "a b.png", version_id="v2", size=10, sequencer="0055AED6DCD90281F0")
    older = S3ObjectRef("in", "a b.png", version_id="v1", size=10, sequencer="0055AED6DCD90281E5")
    assert processor(s3).process(newer).skipped is None
    assert s3.puts[0]["Metadata"] == {"sequencer": "0055AED6DCD90281F0"}
    assert written(s3)["Source"]["Sequencer"] == "0055AED6DCD90281F0"
    outcome = processor(s3).process(older)
    assert "newer event" in outcome.skipped
    assert len(s3.puts) == 1


def test_an_event_for_a_version_no_longer_current_is_skipped():
    s3 = FakeS3(current_version="v2")
    outcome = processor(s3).process(REF)  # announces v1
    assert "no longer current" in outcome.skipped
    assert s3.puts == []


def test_a_redelivered_event_rewrites_the_same_result():
    s3 = FakeS3()
    ref = S3ObjectRef("in", "a b.png", version_id="v1", size=10, sequencer="0055AED6DCD90281E5")
    processor(s3).process(ref)
    processor(s3).process(ref)
    assert len(s3.puts) == 2
    assert s3.puts[0]["Body"] == s3.puts[1]["Body"]


def test_an_object_deleted_before_processing_gets_invalid_s3_object_and_is_not_analysed():
    s3 = FakeS3(get_error="NoSuchKey")  # the current version is a delete marker; v1 itself still exists
    outcome = processor(s3).process(REF)
    assert outcome.error_code == "InvalidS3Object"
    assert written(s3)["FaceDetails"] == []


def test_folder_markers_are_skipped_without_a_result():
    s3 = FakeS3()
    outcome = processor(s3).process(S3ObjectRef("in", "photos/2026/", size=0))
    assert outcome.skipped == "a zero-byte folder marker"
    assert s3.puts == []


def test_an_unexpected_analysis_failure_still_gets_a_typed_result():
    class Broken(FakeAnalyzer):
        def analyze(self, data, *, appearance=False):
            raise IndexError("a bug")

    s3 = FakeS3()
    outcome = ObjectProcessor(Broken(), s3, results_bucket="out", results_prefix="results/").process(REF)
    assert outcome.error_code == "AnalysisFailed"
    assert written(s3)["Error"]["Code"] == "AnalysisFailed"


def test_no_upload_key_can_forge_a_long_keys_result():
    long_key = "k/" + "é" * 600
    hashed = result_key("results/", "in", long_key)
    assert hashed.startswith("results/_long-keys/in/")
    digest = hashed.rsplit("/", 1)[-1].removesuffix(".json")
    for forged in (f"_long-keys/{digest}", f"_long-keys/in/{digest}", f"../_long-keys/in/{digest}"):
        assert result_key("results/", "in", forged) != hashed
