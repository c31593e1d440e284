"""Audience records in the results bucket: one per finished track, one per camera-minute.

Layout (Hive-style partitions for Athena and the ``audience`` Glue table)::

    audience/camera=<camera id>/date=<yyyy-mm-dd>/track-<track id>.json
    audience/camera=<camera id>/date=<yyyy-mm-dd>/minute-<hhmm>.json

Each object is one JSON line. Keys are fixed by the record (a track's id is its camera, first
capture time and index), so writing a record again, after a retry, leaves exactly one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from agegender.capture import camera_id_problem
from audience.tracker import Track

AUDIENCE_PREFIX = "audience/"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _partition(camera: str, epoch: float) -> str:
    if problem := camera_id_problem(camera):  # frames are checked on arrival; a record never leaves its partition
        raise ValueError(f"camera {camera[:80]!r}: {problem}")
    return f"{AUDIENCE_PREFIX}camera={camera}/date={datetime.fromtimestamp(epoch, UTC):%Y-%m-%d}/"


def track_record(camera: str, track: Track) -> tuple[str, dict[str, Any]]:
    """(key, record) of a finished track."""
    record = {
        "kind": "track",
        "camera": camera,
        "track_id": track.track_id,
        "start": _iso(track.first_seen),
        "end": _iso(track.last_seen),
        "dwell_s": round(track.dwell_s, 3),
        "attention_s": round(track.attention_s, 3),
        "frames": track.frames,
        "watcher": track.watcher,
        "age_group": track.age_group,
        "gender": track.gender,
        "age": None if track.age is None else round(track.age, 1),
        "gender_confidence": round(track.gender_confidence, 1),
        # Where: boxes [left, top, width, height] relative to the frame, as a result's BoundingBox, and the
        # frames' keys, so a count can be checked against its frames. Never the appearance descriptor.
        "first_box": track.first_box,
        "last_box": track.last_box,
        "first_frame": track.first_frame,
        "last_frame": track.last_frame,
    }
    return f"{_partition(camera, track.first_seen)}track-{track.track_id}.json", record


def minute_record(tally: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(key, record) of a closed camera-minute (``audience.camera.MinuteTally.record``)."""
    start = float(tally["minute"])
    record = {
        "kind": "minute",
        "camera": tally["camera"],
        "minute": _iso(start),
        "opportunities_to_see": tally["opportunities_to_see"],
        "watchers": tally["watchers"],
        "mix": tally["mix"],
    }
    return f"{_partition(tally['camera'], start)}minute-{datetime.fromtimestamp(start, UTC):%H%M}.json", record


class RecordWriter:
    """Writes records to the results bucket (the S3 client is passed in)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def write(self, key: str, record: dict[str, Any]) -> None:
        """One record as one JSON line (an overwrite of the same record is harmless)."""
        body = (json.dumps(record, ensure_ascii=False, sort_keys=True, allow_nan=False) + "\n").encode()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
