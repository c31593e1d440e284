"""Which camera took a frame, and when: the result's ``Camera`` block.

Camera frames are uploaded as ``cameras/<camera-id>/...``. The capture time comes from the
first of these that gives one:

1. the key: a timestamp anywhere after the camera id, ``2026-11-27T12:00:05.250Z``,
   ``20261127T120005250Z``, ``2026-11-27_12-00-05`` and the like (``KEY_TIME``), or a file name
   that is epoch milliseconds (``1795780805250.jpg``);
2. the object's metadata ``x-amz-meta-captured-at``: ISO 8601 or epoch seconds/milliseconds;
3. the image's EXIF ``DateTimeOriginal`` (with ``SubSecTimeOriginal`` and ``OffsetTimeOriginal``
   where present);
4. otherwise the upload's own time (S3's ``LastModified``), marked as such; also when the time found
   is more than ``max_ahead_s`` after the upload (a wrong clock), marked ``upload:<source>-ahead``.

Times without a zone are taken as UTC. ``CapturedAt`` is ISO 8601 UTC with milliseconds;
``CapturedAtSource`` says which of the four gave it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

CAMERA_PREFIX = "cameras/"
METADATA_KEY = "captured-at"  # x-amz-meta-captured-at, as boto3 returns it
KEY_TIME = re.compile(
    r"(?P<y>\d{4})-?(?P<mo>\d{2})-?(?P<d>\d{2})[T_ ]?(?P<h>\d{2})[-:]?(?P<mi>\d{2})[-:]?(?P<s>\d{2})"
    r"(?:[.,]?(?P<frac>\d{1,6}))?(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)
EPOCH_MS_NAME = re.compile(r"/(?P<ms>\d{13})(?:\.[A-Za-z0-9]+)?$")
#: Capture times before this are not real camera times (a counter, a zeroed clock).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: A capture time further than this after the upload is a wrong clock: the upload time is used instead,
#: so one future-dated frame can never hold a camera's later frames back as "late".
DEFAULT_MAX_CAPTURE_AHEAD_S = 300.0
#: What a camera id may be: it becomes an SNS FIFO message group id (at most 128 characters of a fixed
#: set), a DynamoDB key and an S3 partition (``camera=<id>/``), so only letters, digits, ``.``, ``_``, ``-``.
CAMERA_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def camera_id(key: str) -> str | None:
    """``cameras/<id>/...`` -> ``<id>`` (valid or not: see ``camera_id_problem``); None for other keys."""
    if not key.startswith(CAMERA_PREFIX):
        return None
    camera, sep, _rest = key[len(CAMERA_PREFIX) :].partition("/")
    return camera if sep and camera else None


def camera_id_problem(camera: str) -> str | None:
    """Why ``camera`` cannot be a camera id, or None when it can."""
    if CAMERA_ID.fullmatch(camera) and camera not in (".", ".."):
        return None
    return "a camera id is 1-128 letters, digits, '.', '_' or '-' (it names a message group and a partition)"


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime | None:
    """ISO 8601 (zone optional, UTC assumed) or epoch seconds / milliseconds; None when neither or implausible."""
    text = text.strip()
    moment: datetime | None = None
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        value = float(text)
        moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    else:
        match = KEY_TIME.fullmatch(text)
        moment = _from_match(match) if match else None
    return moment if moment is not None and moment >= EARLIEST else None


def _zone(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _from_match(match: re.Match[str]) -> datetime | None:
    try:
        frac = (match["frac"] or "0").ljust(6, "0")
        return datetime(
            int(match["y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["h"]),
            int(match["mi"]),
            int(match["s"]),
            int(frac),
            tzinfo=_zone(match["zone"]),
        )
    except ValueError:
        return None


def time_from_key(key: str) -> datetime | None:
    """A capture time written in the key after the camera id (see the module docstring)."""
    rest = key.split("/", 2)[-1]
    if (epoch := EPOCH_MS_NAME.search("/" + rest)) is not None:
        return parse_time(epoch["ms"])
    for match in KEY_TIME.finditer(rest):
        moment = _from_match(match)
        if moment is not None and moment >= EARLIEST:
            return moment
    return None


def exif_time(original: str | None, subsec: str | None = None, offset: str | None = None) -> datetime | None:
    """EXIF ``YYYY:MM:DD HH:MM:SS`` (+ sub-seconds, + offset) -> a time; None when absent or malformed."""
    if not original:
        return None
    try:
        moment = datetime.strptime(original.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    digits = "".join(ch for ch in (subsec or "") if ch.isdigit())[:6]
    zone = _zone(offset.strip()) if offset and re.fullmatch(r"\s*[+-]\d{2}:\d{2}\s*", offset) else UTC
    moment = moment.replace(microsecond=int(digits.ljust(6, "0")) if digits else 0, tzinfo=zone)
    return moment if moment >= EARLIEST else None


def camera_block(
    key: str,
    metadata: dict[str, str] | None,
    exif: datetime | None,
    uploaded: datetime | None,
    *,
    max_ahead_s: float = DEFAULT_MAX_CAPTURE_AHEAD_S,
) -> dict[str, Any] | None:
    """The result's ``Camera``: ``Id``, ``CapturedAt``, ``CapturedAtSource``; None for keys outside ``cameras/``.

    A time from the key, metadata or EXIF more than ``max_ahead_s`` after the upload is passed over for
    the upload time, and ``CapturedAtSource`` says so (``upload:key-ahead``). An id that cannot be a
    camera id gets ``Error`` (``InvalidCameraId``) and no capture time: the frame is not sent on.
    """
    camera = camera_id(key)
    if camera is None:
        return None
    if problem := camera_id_problem(camera):
        error = {"Code": "InvalidCameraId", "Message": f"{camera[:200]!r}: {problem}"}
        return {"Id": camera, "CapturedAt": None, "CapturedAtSource": None, "Error": error}
    limit = (uploaded or datetime.now(UTC)) + timedelta(seconds=max_ahead_s)
    skipped = None
    for source, moment in (
        ("key", time_from_key(key)),
        ("metadata", parse_time((metadata or {}).get(METADATA_KEY, ""))),
        ("exif", exif),
    ):
        if moment is None:
            continue
        if moment <= limit:
            return {"Id": camera, "CapturedAt": iso(moment), "CapturedAtSource": source}
        skipped = skipped or source
    if uploaded is None:
        return {"Id": camera, "CapturedAt": None, "CapturedAtSource": None}
    return {
        "Id": camera,
        "CapturedAt": iso(uploaded),
        "CapturedAtSource": f"upload:{skipped}-ahead" if skipped else "upload",
    }
