"""The console's routes over moto: uploads, results, cameras, reports, and errors that say what to do."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto import mock_aws

from infra.config import PipelineConfig
from local_pipeline.console.app import create_app
from local_pipeline.console.backend import ConsoleBackend
from local_pipeline.console.serve import local_names

CONFIG = PipelineConfig()
NAMES = local_names(CONFIG)


@pytest.fixture
def console():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in (NAMES.input_bucket, NAMES.results_bucket):
            s3.create_bucket(Bucket=bucket)
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=NAMES.state_table,
            KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        backend = ConsoleBackend(NAMES, s3=s3, dynamodb=dynamodb)
        app = create_app(backend, where="test")
        yield app.test_client(), backend, s3


def test_pages_render_without_anything_from_elsewhere(console):
    client, _, _ = console
    for path in ("/", "/cameras", "/report"):
        page = client.get(path)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert '<html lang="en">' in html
        assert "http://" not in html.replace("http://www.w3.org", "")  # no CDN, no external asset
    assert client.get("/static/console.js").status_code == 200


def test_an_upload_lands_in_the_input_bucket_and_its_result_is_polled(console):
    client, _, s3 = console
    response = client.post("/api/uploads", data={"photo": (io.BytesIO(b"jpeg bytes"), "My photo (1).jpg")})
    assert response.status_code == 201
    upload = response.get_json()
    assert upload["key"].startswith("uploads/console/")
    assert upload["key"].endswith("/My_photo_1_.jpg")
    assert s3.get_object(Bucket=NAMES.input_bucket, Key=upload["key"])["Body"].read() == b"jpeg bytes"
    pending = client.get(f"/api/results?key={upload['key']}")
    assert pending.status_code == 202
    assert pending.get_json()["result_key"] == upload["result_key"]
    document = {"SchemaVersion": "1", "FaceDetails": [], "Error": None}
    s3.put_object(Bucket=NAMES.results_bucket, Key=upload["result_key"], Body=json.dumps(document).encode())
    done = client.get(f"/api/results?key={upload['key']}")
    assert done.status_code == 200
    assert done.get_json()["result"] == document


@pytest.mark.parametrize(
    ("request_kwargs", "status", "words"),
    [
        ({"data": {}}, 400, "choose or drop"),
        ({"data": {"photo": (io.BytesIO(b""), "empty.jpg")}}, 400, "empty"),
    ],
)
def test_bad_uploads_say_what_to_do(console, request_kwargs, status, words):
    client, _, _ = console
    response = client.post("/api/uploads", **request_kwargs)
    assert response.status_code == status
    body = response.get_json()
    assert words in (body["error"] + body["what_to_do"])


def test_results_are_only_read_for_uploads(console):
    client, _, _ = console
    assert client.get("/api/results?key=../etc/passwd").status_code == 400
    assert client.get("/api/images?key=results/x.json").status_code == 404


def test_cameras_list_their_latest_frame_and_live_state(console):
    client, backend, s3 = console
    assert client.get("/api/cameras").get_json() == {"cameras": []}
    for second in (1, 2):
        key = f"cameras/door-2/2026-11-27T12-00-0{second}.000Z.jpg"
        s3.put_object(Bucket=NAMES.input_bucket, Key=key, Body=b"frame")
        doc = {
            "Source": {"Key": key},
            "Camera": {"Id": "door-2", "CapturedAt": f"2026-11-27T12:00:0{second}.000Z"},
            "FaceDetails": [{"N": second}],
        }
        s3.put_object(Bucket=NAMES.results_bucket, Key=backend.result_key(key), Body=json.dumps(doc).encode())
    assert client.get("/api/cameras").get_json() == {"cameras": ["door-2"]}
    camera = client.get("/api/cameras/door-2").get_json()
    assert camera["frame"]["FaceDetails"] == [{"N": 2}]
    assert camera["tracks"] == []
    assert camera["decisions"] == []  # no rules document: no display watches it
    assert client.get("/api/cameras/nowhere").status_code == 404
    assert client.get(f"/api/images?key={camera['frame']['Source']['Key']}").data == b"frame"


def test_reports_as_json_and_csv(console):
    client, _, s3 = console
    from datetime import UTC, datetime

    minute = datetime.now(UTC).replace(second=0, microsecond=0).isoformat(timespec="milliseconds")
    minute = minute.replace("+00:00", "Z")
    record = {
        "kind": "minute",
        "camera": "door-2",
        "minute": minute,
        "opportunities_to_see": 3,
        "watchers": 2,
        "mix": {"adult|Female": 2, "child|Male": 1},
    }
    key = f"audience/camera=door-2/date={minute[:10]}/minute-{minute[11:13]}{minute[14:16]}.json"
    s3.put_object(Bucket=NAMES.results_bucket, Key=key, Body=(json.dumps(record) + "\n").encode())
    report = client.get("/api/report?camera=door-2&since=1h").get_json()
    assert report["minutes"][0]["opportunities_to_see"] == 3
    csv_text = client.get("/api/report.csv?camera=door-2&since=1h").get_data(as_text=True).splitlines()
    assert csv_text[0] == "camera,minute,opportunities_to_see,watchers,adult|Female,child|Male"
    assert csv_text[1] == f"door-2,{minute},3,2,2,1"
    assert client.get("/api/report?camera=door-2&since=soon").status_code == 400
    assert client.get("/api/report?since=1h").status_code == 400
