"""What the console reads and writes, through boto3 clients it is given (the embedded AWS or a deployed stack)."""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from agegender.capture import METADATA_KEY, iso
from agegender.decoding import DEFAULT_MAX_BYTES
from agegender.locations import result_key
from audience.camera import CameraState
from audience.rules import MAX_VERSION_CHARS, RULES_EXAMPLE, InvalidRulesError, Rules, parse_rules
from audience.stage import display_decisions
from audience.store import CAMERA, StateStore
from local_pipeline.displays import AudienceReport, audience_report, put_rules, read_rules

#: Upload keys the console makes: ``uploads/console/<uuid>/<safe file name>``.
UPLOAD_PREFIX = "uploads/console/"
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
#: The pipeline's own limit: a larger upload would only come back as ImageTooLarge.
MAX_UPLOAD_BYTES = DEFAULT_MAX_BYTES
#: Camera ids one page of ``/api/cameras`` lists.
CAMERAS_PAGE = 100
#: A webcam's name on the page: its camera is ``webcam-<name>``.
WEBCAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")


def webcam_camera(name: str) -> str:
    """The camera id of the webcam page's ``name``; raises ``ValueError`` for a name that cannot be one."""
    if not WEBCAM_NAME.fullmatch(name):
        raise ValueError("a webcam name is 1-40 letters, digits, '-' or '_'")
    return f"webcam-{name}"


@dataclass(frozen=True)
class Names:
    """Where the pipeline keeps things (the local pipeline's names, or a stack's outputs)."""

    input_bucket: str
    results_bucket: str
    results_prefix: str
    state_table: str | None
    rules_key: str


class ConsoleBackend:
    """Uploads, results, cameras, decisions and reports; the webcam's frames and display.

    ``edit_rules``: the webcam page may add a display for a webcam to the rules document (the local
    pipeline); on a deployed stack it never touches the rules, and says how to add one.
    """

    def __init__(self, names: Names, *, s3: Any, dynamodb: Any | None, edit_rules: bool = False) -> None:
        self.names, self.s3, self.dynamodb, self.edit_rules = names, s3, dynamodb, edit_rules

    # -- try a photo ---------------------------------------------------------------------------------
    def upload(self, file_name: str, data: bytes) -> dict[str, str]:
        """Store one photo in the input bucket; returns its key and the key its result will have."""
        safe = SAFE_NAME.sub("_", file_name).strip("._") or "photo"
        key = f"{UPLOAD_PREFIX}{uuid.uuid4().hex[:12]}/{safe[:100]}"
        self.s3.put_object(Bucket=self.names.input_bucket, Key=key, Body=data)
        return {"key": key, "result_key": self.result_key(key)}

    def result_key(self, key: str) -> str:
        return result_key(self.names.results_prefix, self.names.input_bucket, key)

    def result(self, key: str) -> dict[str, Any] | None:
        """The result of an upload (None while it is not written yet)."""
        try:
            body = self.s3.get_object(Bucket=self.names.results_bucket, Key=self.result_key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return json.loads(body)

    def image(self, key: str) -> bytes | None:
        """An upload's bytes (None when it is gone, e.g. deleted once analysed)."""
        try:
            return self.s3.get_object(Bucket=self.names.input_bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "AccessDenied"):
                return None
            raise

    # -- the webcam ----------------------------------------------------------------------------------
    def upload_frame(self, name: str, data: bytes, captured_at: datetime) -> dict[str, str]:
        """One webcam frame as camera ``webcam-<name>``, its capture time in the key and the metadata."""
        camera = webcam_camera(name)
        moment = iso(captured_at)
        key = f"cameras/{camera}/{moment}.jpg"
        self.s3.put_object(
            Bucket=self.names.input_bucket, Key=key, Body=data, ContentType="image/jpeg",
            Metadata={METADATA_KEY: moment},
        )  # fmt: skip
        return {"key": key, "result_key": self.result_key(key), "camera": camera, "captured_at": moment}

    def webcam_display(self, name: str) -> dict[str, Any]:
        """The display that watches the webcam: one the rules document names, or (where rules may be edited)
        one added for it, the document's version bumped. ``display`` is None when there is none.
        """
        camera = webcam_camera(name)
        try:
            current = self.s3.get_object(Bucket=self.names.results_bucket, Key=self.names.rules_key)["Body"].read()
            document: dict[str, Any] | None = json.loads(current)
            rules = parse_rules(current)
        except ClientError:
            document, rules = None, None
        except (ValueError, InvalidRulesError) as exc:
            return {"camera": camera, "display": None, "why": f"the rules document is invalid: {exc}"}
        if rules is not None and (watching := rules.displays_of(camera)):
            return {"camera": camera, "display": watching[0], "rules_version": rules.version}
        if not self.edit_rules:
            why = f"no display watches {camera}: add one to the rules (agegender displays put-rules)"
            return {"camera": camera, "display": None, "why": why}
        edited: dict[str, Any] = copy.deepcopy(document or RULES_EXAMPLE)
        edited["Displays"] = {**dict(edited.get("Displays") or {}), camera: {"Cameras": [camera]}}
        edited["Version"] = f"{edited.get('Version', 'console')}+{camera}"[-MAX_VERSION_CHARS:]
        version = put_rules(self.s3, self.names.results_bucket, self.names.rules_key, json.dumps(edited))
        return {"camera": camera, "display": camera, "rules_version": version}

    # -- cameras -------------------------------------------------------------------------------------
    def cameras(self, after: str | None = None) -> tuple[list[str], str | None]:
        """One page (``CAMERAS_PAGE``) of camera ids with at least one result, after ``after``; and the id to
        ask after for the next page (None on the last). One LIST call, whatever the history.
        """
        prefix = self.result_key("cameras/").removesuffix(".json")
        kwargs = {"StartAfter": f"{prefix}{after}/~"} if after else {}
        found = self.s3.list_objects_v2(
            Bucket=self.names.results_bucket, Prefix=prefix, Delimiter="/", MaxKeys=CAMERAS_PAGE, **kwargs
        )
        ids = sorted(p["Prefix"][len(prefix) :].rstrip("/") for p in found.get("CommonPrefixes", []))
        return ids, ids[-1] if found.get("IsTruncated") and ids else None

    def latest_frame(self, camera: str) -> dict[str, Any] | None:
        """The camera's newest frame's result: from the audience stage's pointer (one GetItem, one GetObject,
        whatever the camera's history); without the stage, the newest of one LIST page of its results.
        """
        key = self._latest_key(camera)
        if key is not None:
            return self.result(key)
        prefix = self.result_key(f"cameras/{camera}/").removesuffix(".json")
        items = self.s3.list_objects_v2(Bucket=self.names.results_bucket, Prefix=prefix, MaxKeys=1000).get(
            "Contents", []
        )
        if not items:
            return None
        newest = max(items, key=lambda item: (item["LastModified"], item["Key"]))
        return json.loads(self.s3.get_object(Bucket=self.names.results_bucket, Key=newest["Key"])["Body"].read())

    def _latest_key(self, camera: str) -> str | None:
        """The upload key of the camera's newest frame the audience stage took in (None without the stage)."""
        if self.dynamodb is None or self.names.state_table is None:
            return None
        body, _ = StateStore(self.dynamodb, self.names.state_table).load(CAMERA + camera)
        return body.get("latest_key") or None if body else None

    def live(self, camera: str) -> dict[str, Any]:
        """The camera's present tracks (no identity) and the decisions of the displays it watches for."""
        tracks: list[dict[str, Any]] = []
        decisions: list[dict[str, Any]] = []
        if self.dynamodb is None or self.names.state_table is None:
            return {"tracks": tracks, "decisions": decisions, "stage": False}
        store = StateStore(self.dynamodb, self.names.state_table)
        body, _ = store.load(CAMERA + camera)
        if body:
            present = CameraState.from_dict(body).live().tracks
            tracks = [
                {
                    "id": t.track_id,
                    "dwell_s": round(t.dwell_s, 1),
                    "attention_s": round(t.attention_s, 1),
                    "gender": t.gender,
                    "age_group": t.age_group,
                    "age": None if t.age is None else round(t.age),
                    "looking": t.last_attentive,
                    "box": t.last_box,
                }
                for t in present
            ]
        rules = self.rules()
        if rules is not None:
            shown = display_decisions(store, rules, rules.displays_of(camera))
            decisions = [decision or {"DisplayId": display, "Creative": None} for display, decision in shown.items()]
        return {"tracks": tracks, "decisions": decisions, "stage": True, "latest_key": (body or {}).get("latest_key")}

    def rules(self) -> Rules | None:
        """The stored rules document (None without a valid one)."""
        return read_rules(self.s3, self.names.results_bucket, self.names.rules_key)

    # -- reports -------------------------------------------------------------------------------------
    def report(self, camera: str, since: timedelta) -> AudienceReport:
        return audience_report(self.s3, self.names.results_bucket, camera, since)
