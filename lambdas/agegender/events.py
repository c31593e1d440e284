"""Parse queue messages into the S3 objects they announce.

A message body is one of:

* an SNS notification envelope (``{"Type": "Notification", "Message": "<S3 event JSON>"}``),
  when the subscription does not use raw message delivery;
* the S3 event itself (raw delivery, or S3 -> SQS without SNS);
* S3's ``s3:TestEvent``, sent once when a notification is configured: it announces no object.

Keys in S3 events are URL-encoded (spaces as ``+``); each record's key is decoded with
``unquote_plus`` here, once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from agegender.exceptions import InvalidEventError


@dataclass(frozen=True)
class S3ObjectRef:
    """One object an S3 event announced."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None
    event_name: str | None = None
    event_time: str | None = None
    #: S3's ordering of events on one key (hex string; absent in some emulators).
    sequencer: str | None = None

    @property
    def is_folder_marker(self) -> bool:
        """A zero-byte ``folder/`` object the S3 console creates: nothing to analyse."""
        return self.key.endswith("/") and not self.size


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise InvalidEventError(f"{what} is not JSON: {exc}") from exc


def _record(record: dict[str, Any]) -> S3ObjectRef:
    try:
        s3 = record["s3"]
        obj = s3["object"]
        return S3ObjectRef(
            bucket=s3["bucket"]["name"],
            key=unquote_plus(obj["key"]),
            version_id=obj.get("versionId"),
            etag=obj.get("eTag"),
            size=obj.get("size"),
            event_name=record.get("eventName"),
            event_time=record.get("eventTime"),
            sequencer=obj.get("sequencer"),
        )
    except (KeyError, TypeError) as exc:
        raise InvalidEventError(f"an S3 event record lacks {exc}") from exc


def sns_payload(message: Any) -> Any:
    """What an SNS envelope carries (``{"Type": "Notification", "Message": "<JSON>"}``, delivered when a
    subscription is not raw), parsed; any other message as it is. Raises ``ValueError`` for a payload that is
    not JSON. The one unwrapper: S3 events here and camera frames (``agegender.frame_message``) use it.
    """
    if isinstance(message, dict) and message.get("Type") == "Notification" and isinstance(message.get("Message"), str):
        return json.loads(message["Message"])
    return message


def parse_message_body(body: str) -> list[S3ObjectRef]:
    """The objects created according to one SQS message body (empty for a TestEvent).

    Raises:
        InvalidEventError: the body is not an S3 event notification, enveloped or raw.
    """
    message = _loads(body, "the message body")
    try:
        message = sns_payload(message)
    except ValueError as exc:
        raise InvalidEventError(f"the SNS Message is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise InvalidEventError("the message is not an S3 event notification")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise InvalidEventError("the message is not an S3 event notification (no Records)")
    return [_record(r) for r in records if str(r.get("eventName", "ObjectCreated")).startswith("ObjectCreated")]


def sequencer_is_newer(candidate: str, current: str) -> bool:
    """Whether S3 sequencer ``candidate`` orders after ``current`` (same key): the shorter is right-padded
    with zeros, then the two are compared as text, as S3's event message documentation prescribes.
    """
    width = max(len(candidate), len(current))
    return candidate.upper().ljust(width, "0") > current.upper().ljust(width, "0")
