"""What a display operator runs: put the rules document, read a display's decision, report the audience.

Each works against the local pipeline (``--endpoint-url``, or ``AWS_ENDPOINT_URL`` as ``agegender
local up`` prints it) or a deployed stack (the user's own credentials, with the bucket and table
from the stack's outputs).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from audience.records import AUDIENCE_PREFIX
from audience.rules import InvalidRulesError, Rules, parse_rules
from audience.stage import display_decision
from audience.store import StateStore
from infra.config import PipelineConfig

SINCE = re.compile(r"^(?P<n>\d+)(?P<unit>[smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


#: The longest range a report reads (one LIST call a day of records: a bounded cost per report).
MAX_SINCE = timedelta(days=31)


def parse_since(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h``, ``7d`` -> a duration of at most ``MAX_SINCE``."""
    match = SINCE.match(text.strip())
    if not match:
        raise ValueError(f"--since {text!r}: use a number and s, m, h or d (e.g. 1h)")
    try:
        since = timedelta(**{UNITS[match["unit"]]: int(match["n"])})
    except OverflowError:
        since = timedelta.max
    if since > MAX_SINCE:
        raise ValueError(f"--since {text!r}: at most {MAX_SINCE.days}d")
    return since


def put_rules(s3: Any, bucket: str, key: str, document: str | bytes, config: PipelineConfig | None = None) -> str:
    """Validate the rules document against the pipeline's age groups and store it as UTF-8; returns its version.

    Raises ``InvalidRulesError`` (the function would refuse the same document).
    """
    names, minors = (config or PipelineConfig()).age_groups
    rules = parse_rules(document, names, minors)
    body = document.encode("utf-8") if isinstance(document, str) else document
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return rules.version


def read_rules(s3: Any, bucket: str, key: str) -> Rules | None:
    """The stored rules document, parsed; None where there is none or it is invalid."""
    try:
        return parse_rules(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except (ClientError, InvalidRulesError):  # a document that is not UTF-8 is an InvalidRulesError
        return None


def current_decision(
    s3: Any, bucket: str, rules_key: str, dynamodb: Any, table: str, display: str
) -> dict[str, Any] | None:
    """A display's stored decision (what the function URL returns): its camera set's, by the stored rules."""
    rules = read_rules(s3, bucket, rules_key)
    return None if rules is None else display_decision(StateStore(dynamodb, table), rules, display)


def read_records(s3: Any, bucket: str, camera: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Every audience record of ``camera`` whose date partition overlaps ``since``..``until``."""
    records = []
    day = since.date()
    while day <= until.date():
        prefix = f"{AUDIENCE_PREFIX}camera={camera}/date={day:%Y-%m-%d}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                records += [json.loads(line) for line in body.splitlines() if line.strip()]
        day += timedelta(days=1)
    return records


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _span(record: dict[str, Any]) -> tuple[datetime, datetime]:
    """When a record's minute or track began and ended."""
    if record["kind"] == "minute":
        begun = _time(record["minute"])
        return begun, begun + timedelta(minutes=1)
    return _time(record["start"]), _time(record["end"])


@dataclass
class AudienceReport:
    """One camera's audience over a time range, from its audience records."""

    camera: str
    since: datetime
    until: datetime
    minutes: list[dict[str, Any]]
    tracks: list[dict[str, Any]]

    @property
    def opportunities_to_see(self) -> int:
        """People whose face was detected (finished tracks)."""
        return len(self.tracks)

    @property
    def watchers(self) -> int:
        return sum(1 for t in self.tracks if t["watcher"])

    def mix(self) -> dict[str, int]:
        """Age group x gender of the people seen."""
        return dict(
            sorted(Counter(f"{t['age_group'] or 'unknown'}|{t['gender'] or 'unknown'}" for t in self.tracks).items())
        )

    def summary(self) -> dict[str, Any]:
        dwell = [t["dwell_s"] for t in self.tracks]
        attention = [t["attention_s"] for t in self.tracks if t["watcher"]]
        return {
            "camera": self.camera,
            "since": self.since.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "until": self.until.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "opportunities_to_see": self.opportunities_to_see,
            "watchers": self.watchers,
            "conversion": round(self.watchers / self.opportunities_to_see, 3) if self.tracks else None,
            "mean_dwell_s": round(sum(dwell) / len(dwell), 1) if dwell else None,
            "mean_attention_s": round(sum(attention) / len(attention), 1) if attention else None,
            "mix": self.mix(),
        }

    def table(self) -> str:
        """Per minute: opportunities to see, watchers and the mix; then the totals."""
        lines = [
            f"audience of camera {self.camera}, {self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC",
            f"{'minute':<17} {'OTS':>4} {'watchers':>8}  mix (age group|gender: people)",
        ]
        for minute in sorted(self.minutes, key=lambda m: m["minute"]):
            mix = ", ".join(f"{k}: {v}" for k, v in minute["mix"].items()) or "-"
            stamp = _span(minute)[0].strftime("%Y-%m-%d %H:%M")
            lines.append(f"{stamp:<17} {minute['opportunities_to_see']:>4} {minute['watchers']:>8}  {mix}")
        s = self.summary()
        conversion = "-" if s["conversion"] is None else f"{100 * s['conversion']:.0f}%"
        lines += [
            f"people (finished tracks): {s['opportunities_to_see']}, watchers: {s['watchers']} ({conversion}), "
            f"mean dwell {_seconds(s['mean_dwell_s'])}, mean attention of watchers {_seconds(s['mean_attention_s'])}",
            "mix: " + (", ".join(f"{k}: {v}" for k, v in s["mix"].items()) or "-"),
        ]
        return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value} s"


def _overlaps(span: tuple[datetime, datetime], start: datetime, until: datetime) -> bool:
    return span[1] > start and span[0] <= until


def audience_report(s3: Any, bucket: str, camera: str, since: timedelta, now: datetime | None = None) -> AudienceReport:
    """The report of ``camera`` over the last ``since``: the minutes and tracks that overlap it."""
    until = now or datetime.now(UTC)
    start = until - since
    records = [r for r in read_records(s3, bucket, camera, start, until) if _overlaps(_span(r), start, until)]
    minutes = [r for r in records if r["kind"] == "minute"]
    return AudienceReport(camera, start, until, minutes, [r for r in records if r["kind"] == "track"])
