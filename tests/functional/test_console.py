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
        app = create_app(backend, where="test", token=TOKEN)
        yield app.test_client(), backend, s3


TOKEN = "t" * 43
#: What the console's own page sends with a state-changing request.
PAGE = {"headers": {"X-Console-Token": TOKEN, "Origin": "http://127.0.0.1:8080"}}


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
    response = client.post("/api/uploads", data={"photo": (io.BytesIO(b"jpeg bytes"), "My photo (1).jpg")}, **PAGE)
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
    response = client.post("/api/uploads", **request_kwargs, **PAGE)
    assert response.status_code == status
    body = response.get_json()
    assert words in (body["error"] + body["what_to_do"])


def test_results_are_only_read_for_uploads(console):
    client, _, _ = console
    assert client.get("/api/results?key=../etc/passwd").status_code == 400
    assert client.get("/api/images?key=results/x.json").status_code == 404


def test_cameras_list_their_latest_frame_and_live_state(console):
    client, backend, s3 = console
    assert client.get("/api/cameras").get_json() == {"cameras": [], "next": None}
    for second in (1, 2):
        key = f"cameras/door-2/2026-11-27T12-00-0{second}.000Z.jpg"
        s3.put_object(Bucket=NAMES.input_bucket, Key=key, Body=b"frame")
        doc = {
            "Source": {"Key": key},
            "Camera": {"Id": "door-2", "CapturedAt": f"2026-11-27T12:00:0{second}.000Z"},
            "FaceDetails": [{"N": second}],
        }
        s3.put_object(Bucket=NAMES.results_bucket, Key=backend.result_key(key), Body=json.dumps(doc).encode())
    assert client.get("/api/cameras").get_json() == {"cameras": ["door-2"], "next": None}
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


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),  # no token: a form posted by another page
        ({"X-Console-Token": "guess"}, 403),
        ({"X-Console-Token": TOKEN, "Origin": "http://127.0.0.1:9999.attacker.example"}, 403),
        ({"X-Console-Token": TOKEN, "Origin": "http://evil.example"}, 403),
        ({"X-Console-Token": TOKEN, "Origin": "http://localhost:8080"}, 201),
        ({"X-Console-Token": TOKEN}, 201),  # same-origin fetches may omit Origin
    ],
)
def test_state_changes_need_the_pages_token_and_this_machines_origin(console, headers, status):
    client, _, _ = console
    photo = {"photo": (io.BytesIO(b"jpeg"), "a.jpg")}
    assert client.post("/api/uploads", data=photo, headers=headers).status_code == status


def test_another_host_name_is_refused_and_every_answer_has_security_headers(console):
    client, _, _ = console
    assert client.get("/", headers={"Host": "attacker.example"}).status_code == 421
    assert client.get("/", headers={"Host": "127.0.0.1.attacker.example:8080"}).status_code == 421
    page = client.get("/", headers={"Host": "127.0.0.1:8080"})
    assert page.status_code == 200
    assert TOKEN in page.get_data(as_text=True)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_reports_are_bounded_and_csv_cells_never_formulas(console):
    client, _, _ = console
    for since in ("999999999d", "3650d", "32d"):
        assert client.get(f"/api/report?camera=door-2&since={since}").status_code == 400
    from local_pipeline.console.app import csv_cell

    assert [csv_cell(v) for v in ("=1+1", "+A1", "-2", "@x", "door-2", 3)] == [
        "'=1+1",
        "'+A1",
        "'-2",
        "'@x",
        "door-2",
        3,
    ]


def test_cameras_page_and_their_latest_frame_comes_from_the_stages_pointer(console):
    client, backend, s3 = console
    for i in range(150):
        key = f"cameras/cam-{i:03d}/f.jpg"
        s3.put_object(Bucket=NAMES.results_bucket, Key=backend.result_key(key), Body=b"{}")
    first = client.get("/api/cameras").get_json()
    assert len(first["cameras"]) == 100
    second = client.get(f"/api/cameras?after={first['next']}").get_json()
    assert first["cameras"] + second["cameras"] == [f"cam-{i:03d}" for i in range(150)]
    assert second["next"] is None
    from audience.camera import CameraState
    from audience.store import StateStore
    from tests.unit.test_audience_tracking import face, frame

    state = CameraState("cam-007")
    latest = frame(5, face(0.5), camera="cam-007")
    state.add(type(latest)(**{**latest.__dict__, "uploaded_key": "cameras/cam-007/f.jpg"}))
    StateStore(backend.dynamodb, NAMES.state_table).save("camera#cam-007", state.to_dict(), 0)
    calls = []
    real = s3._make_api_call
    s3._make_api_call = lambda operation, params: calls.append(operation) or real(operation, params)
    assert client.get("/api/cameras/cam-007").status_code == 200
    assert "ListObjectsV2" not in calls


def test_the_webcam_sends_frames_as_a_camera_and_gets_a_display(console):
    client, backend, s3 = console
    backend.edit_rules = True
    started = client.post("/api/webcam/start", json={"name": "desk"}, **PAGE).get_json()
    assert started["display"] == "webcam-desk"
    rules = json.loads(s3.get_object(Bucket=NAMES.results_bucket, Key=CONFIG.rules_key)["Body"].read())
    assert rules["Displays"]["webcam-desk"] == {"Cameras": ["webcam-desk"]}
    again = client.post("/api/webcam/start", json={"name": "desk"}, **PAGE).get_json()
    assert again["rules_version"] == started["rules_version"]  # already watched: the rules are left alone
    from datetime import UTC, datetime

    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    frame = {"frame": (io.BytesIO(b"jpeg"), "frame.jpg"), "name": "desk", "captured_at": now}
    sent = client.post("/api/webcam/frames", data=frame, **PAGE)
    assert sent.status_code == 201
    key = sent.get_json()["key"]
    assert key == f"cameras/webcam-desk/{now}.jpg"
    assert s3.head_object(Bucket=NAMES.input_bucket, Key=key)["Metadata"] == {"captured-at": now}
    skewed = {"frame": (io.BytesIO(b"jpeg"), "f.jpg"), "name": "desk", "captured_at": "2099-01-01T00:00:00Z"}
    assert "2099" not in client.post("/api/webcam/frames", data=skewed, **PAGE).get_json()["key"]
    bad = {"frame": (io.BytesIO(b"jpeg"), "f.jpg"), "name": "../etc", "captured_at": now}
    assert client.post("/api/webcam/frames", data=bad, **PAGE).status_code == 400
    assert client.post("/api/webcam/start", json={"name": "a b"}, **PAGE).status_code == 400


def test_the_webcam_never_edits_a_deployed_stacks_rules(console):
    client, backend, s3 = console
    backend.edit_rules = False
    answer = client.post("/api/webcam/start", json={"name": "desk"}, **PAGE).get_json()
    assert answer["display"] is None
    assert "put-rules" in answer["why"]
    assert "Contents" not in s3.list_objects_v2(Bucket=NAMES.results_bucket, Prefix="config/")


def test_the_report_command_says_what_is_wrong_instead_of_a_traceback(console, capsys):
    from local_pipeline.cli import main

    assert main(["report", "--camera", "door-2", "--since", "2w"]) == 2
    assert "use a number and s, m, h or d" in capsys.readouterr().err
    assert main(["report", "--camera", "nowhere", "--since", "1h"]) == 1  # moto answers for AWS here
    assert "no audience records of camera 'nowhere'" in capsys.readouterr().err
