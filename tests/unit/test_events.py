import json
from pathlib import Path

import pytest

from agegender.events import S3ObjectRef, parse_message_body
from agegender.exceptions import InvalidEventError

EVENTS = Path(__file__).resolve().parents[1] / "events"
PUT = (EVENTS / "s3_put.json").read_text()
TEST_EVENT = (EVENTS / "s3_test_event.json").read_text()


def sns_envelope(message: str) -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "b1946ac9-2d0c-5e2e-9b8c-8f8e2e1b9c3a",
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:uploads",
            "Subject": "Amazon S3 Notification",
            "Message": message,
            "Timestamp": "2026-11-23T08:00:00.000Z",
        }
    )


EXPECTED = S3ObjectRef(
    bucket="uploads-bucket",
    key="cameras/cam 01/2026/11 fréquence+1.jpg",
    version_id="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
    etag="0123456789abcdef0123456789abcdef",
    size=53211,
    event_name="ObjectCreated:Put",
    event_time="2026-11-23T08:00:00.000Z",
    sequencer="0055AED6DCD90281E5",
)


@pytest.mark.parametrize("body", [PUT, sns_envelope(PUT)], ids=["raw", "sns-envelope"])
def test_raw_and_enveloped_events_give_the_decoded_key(body):
    assert parse_message_body(body) == [EXPECTED]


@pytest.mark.parametrize("body", [TEST_EVENT, sns_envelope(TEST_EVENT)], ids=["raw", "sns-envelope"])
def test_test_event_announces_nothing(body):
    assert parse_message_body(body) == []


def test_each_record_is_decoded_on_its_own():
    event = json.loads(PUT)
    second = json.loads(PUT)["Records"][0]
    second["s3"]["object"]["key"] = "a%2Bb+c.png"
    event["Records"].append(second)
    removal = json.loads(PUT)["Records"][0] | {"eventName": "ObjectRemoved:Delete"}
    event["Records"].append(removal)
    keys = [ref.key for ref in parse_message_body(json.dumps(event))]
    assert keys == [EXPECTED.key, "a+b c.png"]


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", json.dumps({"hello": 1}), sns_envelope("{broken"), json.dumps({"Records": [{"s3": {}}]})],
)
def test_anything_else_is_a_poison_message(body):
    with pytest.raises(InvalidEventError):
        parse_message_body(body)


def test_sequencers_compare_after_right_padding():
    from agegender.events import sequencer_is_newer

    assert sequencer_is_newer("0055AED6DCD90281E6", "0055AED6DCD90281E5")
    assert not sequencer_is_newer("0055AED6DCD90281E5", "0055AED6DCD90281E5")
    assert sequencer_is_newer("0055AED6DCD90281E51", "0055AED6DCD90281E5")  # ...E5 is ...E50
    assert not sequencer_is_newer("0055AED6DCD90281", "0055AED6DCD90281E5")
    assert sequencer_is_newer("0055aed6dcd90281f0", "0055AED6DCD90281E5")  # case does not matter


def test_folder_markers_are_recognised():
    assert S3ObjectRef("b", "photos/", size=0).is_folder_marker
    assert not S3ObjectRef("b", "photos/", size=12).is_folder_marker
    assert not S3ObjectRef("b", "photos/x.jpg", size=0).is_folder_marker
