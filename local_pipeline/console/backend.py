"""What the console reads and writes, through boto3 clients it is given (the embedded AWS or a deployed stack)."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from agegender.locations import result_key
from audience.camera import CameraState
from audience.rules import InvalidRulesError, parse_rules
from audience.store import CAMERA, DISPLAY, StateStore
from local_pipeline.displays import AudienceReport, audience_report

#: Upload keys the console makes: ``uploads/console/<uuid>/<safe file name>``.
UPLOAD_PREFIX = "uploads/console/"
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Names:
    """Where the pipeline keeps things (the local pipeline's names, or a stack's outputs)."""

    input_bucket: str
    results_bucket: str
    results_prefix: str
    state_table: str | None
    rules_key: str


class ConsoleBackend:
    """Uploads, results, cameras, decisions and reports."""

    def __init__(self, names: Names, *, s3: Any, dynamodb: Any | None) -> None:
        self.names, self.s3, self.dynamodb = names, s3, dynamodb

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

    # -- cameras -------------------------------------------------------------------------------------
    def cameras(self) -> list[str]:
        """Camera ids with at least one result (``cameras/<id>/...``)."""
        prefix = self.result_key("cameras/").removesuffix(".json")
        found = self.s3.list_objects_v2(Bucket=self.names.results_bucket, Prefix=prefix, Delimiter="/")
        return sorted(p["Prefix"][len(prefix) :].rstrip("/") for p in found.get("CommonPrefixes", []))

    def latest_frame(self, camera: str) -> dict[str, Any] | None:
        """The camera's newest result (last written; on a tie, the greatest key: keys usually carry the time)."""
        prefix = self.result_key(f"cameras/{camera}/").removesuffix(".json")
        items: list[dict[str, Any]] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.names.results_bucket, Prefix=prefix):
            items += page.get("Contents", [])
        if not items:
            return None
        newest = max(items, key=lambda item: (item["LastModified"], item["Key"]))
        document = json.loads(self.s3.get_object(Bucket=self.names.results_bucket, Key=newest["Key"])["Body"].read())
        return document

    def live(self, camera: str) -> dict[str, Any]:
        """The camera's present tracks (no identity) and the decisions of the displays it watches for."""
        tracks: list[dict[str, Any]] = []
        decisions: list[dict[str, Any]] = []
        if self.dynamodb is None or self.names.state_table is None:
            return {"tracks": tracks, "decisions": decisions, "stage": False}
        store = StateStore(self.dynamodb, self.names.state_table)
        body, _ = store.load(CAMERA + camera)
        if body:
            present, _, _ = CameraState.from_dict(body).live_tracks()
            tracks = [
                {
                    "id": t.track_id,
                    "dwell_s": round(t.dwell_s, 1),
                    "attention_s": round(t.attention_s, 1),
                    "gender": t.gender,
                    "age_group": t.age_group,
                    "age": None if t.age is None else round(t.age),
                    "looking": t.last_attentive,
                }
                for t in present
            ]
        for display in self.displays_of(camera):
            decision, _ = store.load(DISPLAY + display)
            decisions.append({"DisplayId": display, **(decision or {"Creative": None})})
        return {"tracks": tracks, "decisions": decisions, "stage": True}

    def displays_of(self, camera: str) -> list[str]:
        """The displays the rules document maps to the camera (none without a valid document)."""
        try:
            text = self.s3.get_object(Bucket=self.names.results_bucket, Key=self.names.rules_key)["Body"].read()
            return parse_rules(text.decode("utf-8")).displays_of(camera)
        except (ClientError, InvalidRulesError):
            return []

    # -- reports -------------------------------------------------------------------------------------
    def report(self, camera: str, since: timedelta) -> AudienceReport:
        return audience_report(self.s3, self.names.results_bucket, camera, since)
