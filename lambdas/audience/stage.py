"""One frame (or one sweep) through the audience stage: state, records, decisions, events.

For a frame: read the camera's state, take the frame in, write the audience records it
finished, save the state (conditional on the version read; on a conflict, start again from
a fresh read: the records written are the same ones again), then decide for each display the
set of cameras that displays watch with this one (displays that watch the same cameras share a
decision, and the decisions lie in a bounded number of shards: a frame's writes grow with neither the
displays nor the camera sets); where the creative changed, publish the decision, then store it. A message
leaves the queue only after all of this succeeded, so a failure anywhere repeats the frame:
the camera state recognises the frame, and the decision, not yet stored, is published again
(displays get each change at least once).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from agegender.frame_message import Frame, NotAFrameError
from audience.camera import CameraSettings, CameraState, Changes, Presence
from audience.records import RecordWriter, minute_record, track_record
from audience.rules import Decision, InvalidRulesError, Rules, decide, parse_rules
from audience.store import CAMERA, LAST_RULES, StaleStateError, StateStore, decision_slot

log = logging.getLogger(__name__)
#: Reads and writes of one camera before a conflict is reported as a failure (the queue retries).
ATTEMPTS = 5
#: Messages one SNS PublishBatch call may carry.
PUBLISH_BATCH = 10
#: Display ids in one decision message's ``display_id`` array: 50 ids of at most 128 characters, in the
#: attribute and the body, keep ten messages under PublishBatch's 256 KiB.
DISPLAYS_PER_MESSAGE = 50


def display_decision(store: StateStore, rules: Rules, display: str) -> dict[str, Any] | None:
    """A display's current decision (its camera set's), as its endpoint returns it; None: none yet."""
    return display_decisions(store, rules, [display])[display]


def display_decisions(store: StateStore, rules: Rules, displays: list[str]) -> dict[str, dict[str, Any] | None]:
    """``display_decision`` for many displays, reading each shard they need once."""
    camera_sets = {display: rules.camera_set_of(display) for display in displays}
    slots = {cameras: decision_slot(cameras) for cameras in camera_sets.values() if cameras is not None}
    shards = store.load_many(sorted({shard for shard, _ in slots.values()}))
    found: dict[str, dict[str, Any] | None] = dict.fromkeys(displays)
    for display, cameras in camera_sets.items():
        if cameras is None:
            continue  # not a configured display
        shard, key = slots[cameras]
        body = shards[shard][0]
        if body and key in body:
            found[display] = {"DisplayId": display, "Cameras": list(cameras), **body[key]}
    return found


def without_cameras(decision: Decision) -> dict[str, Any]:
    """A decision as a shard keeps it (its key stands for the cameras) and as a message carries it to
    displays of camera sets that decided alike.
    """
    return {key: value for key, value in decision.to_dict().items() if key != "Cameras"}


class RulesSource:
    """The rules document in S3, re-read at most every ``ttl_s`` seconds.

    A broken edit keeps the last good version in memory. When there is no usable document (missing,
    unreadable, not UTF-8, invalid at a cold start), the displays last known fall back to the last
    known default at once, from the version, default and displays kept in the state table whenever a
    valid version loads: a display never keeps a targeted creative because its rules went away.
    ``status`` says which case the last read was (``ok``, ``invalid-kept``, or why rules are unavailable).
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        *,
        store: StateStore | None = None,
        age_groups: tuple[str, ...] | None = None,
        minor_groups: tuple[str, ...] = (),
        ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.s3, self.bucket, self.key, self.store = s3, bucket, key, store
        self.age_groups, self.minor_groups, self.ttl_s, self.clock = age_groups, minor_groups, ttl_s, clock
        self._rules: Rules | None = None
        self._fallback: Rules | None = None
        self._etag: str | None = None
        self._checked = -float("inf")
        self.status = "ok"

    def get(self) -> Rules | None:
        """The current rules, a fallback to the last known default, or None when no rules were ever known."""
        if self.clock() - self._checked < self.ttl_s:
            return self._current()
        self._checked = self.clock()
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key)
            if head.get("ETag") == self._etag and self._rules is not None:
                return self._current()
            body = self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
            rules = parse_rules(body, self.age_groups, self.minor_groups)
        except InvalidRulesError:
            log.exception("the rules document is invalid")
            self.status = "invalid-kept" if self._rules is not None else "invalid"
            return self._current() if self._rules is not None else self._fall_back()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in ("404", "NoSuchKey", "NotFound", "403", "AccessDenied"):
                raise  # throttling, 5xx: the frame is retried
            log.error("the rules document s3://%s/%s is %s", self.bucket, self.key, code)
            self._rules, self._etag = None, None
            self.status = "missing" if code in ("404", "NoSuchKey", "NotFound") else "unreadable"
            return self._fall_back()
        if self._rules is None or rules.version != self._rules.version:
            log.info("rules version %s loaded from s3://%s/%s", rules.version, self.bucket, self.key)
            self._remember(rules)
        self._rules, self._fallback, self._etag, self.status = rules, None, head.get("ETag"), "ok"
        return rules

    def _current(self) -> Rules | None:
        return self._rules if self._rules is not None else self._fallback

    def _fall_back(self) -> Rules | None:
        last = self.store.load(LAST_RULES)[0] if self.store is not None else None
        self._fallback = Rules.fallback(last, self.status) if last else None
        return self._fallback

    def _remember(self, rules: Rules) -> None:
        if self.store is None:
            return
        body, version = self.store.load(LAST_RULES)
        if body != rules.last_known():
            try:
                self.store.save(LAST_RULES, rules.last_known(), version)
            except StaleStateError:
                log.info("another function kept rules version %s first", rules.version)


@dataclass
class FrameOutcome:
    """What one frame did (for logs, metrics and tests)."""

    camera: str
    duplicate: bool = False
    late: bool = False
    tracks_finished: int = 0
    minutes_closed: int = 0
    decisions: list[Decision] = field(default_factory=list)  # the ones that changed
    rules_status: str = "ok"  # RulesSource.status when the decisions were made
    failed: bool = False  # a sweep of this camera raised (logged; the other cameras went on)


class DecisionPublisher:
    """Decision changes to an SNS topic, with the display ids as a ``String.Array`` message attribute
    ``display_id``: a display subscribes with the filter policy ``{"display_id": ["<its id>"]}``, which
    matches an array that holds its id.
    """

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns, self.topic_arn = sns, topic_arn

    def publish_many(self, decisions: list[tuple[Decision, list[str]]], cause: dict[str, Any]) -> None:
        """Each decision with the displays that play it; camera sets that decided alike share messages
        (the decision without its ``Cameras``), ``DISPLAYS_PER_MESSAGE`` displays a message, ten messages a
        PublishBatch call; raises if any was not accepted.
        """
        decided = round(time.time(), 3)
        alike: dict[str, list[str]] = {}
        for decision, displays in decisions:
            body = json.dumps(without_cameras(decision), sort_keys=True, allow_nan=False)
            alike.setdefault(body, []).extend(displays)
        messages = [
            (json.loads(body), displays[start : start + DISPLAYS_PER_MESSAGE])
            for body, displays in alike.items()
            for start in range(0, len(displays), DISPLAYS_PER_MESSAGE)
        ]
        for start in range(0, len(messages), PUBLISH_BATCH):
            entries = [
                {
                    "Id": str(i),
                    "Message": json.dumps(
                        {"DisplayIds": displays, **body, "Cause": cause, "DecidedAt": decided}, allow_nan=False
                    ),
                    "MessageAttributes": {
                        "display_id": {"DataType": "String.Array", "StringValue": json.dumps(displays)}
                    },
                }
                for i, (body, displays) in enumerate(messages[start : start + PUBLISH_BATCH])
            ]
            failed = self.sns.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=entries).get("Failed")
            if failed:
                raise RuntimeError(f"decisions not published: {failed[:3]}")


class AudienceStage:
    """The stage's work, over injected clients."""

    def __init__(
        self,
        store: StateStore,
        writer: RecordWriter,
        rules: RulesSource,
        publisher: DecisionPublisher | None,
        settings: CameraSettings | None = None,
    ) -> None:
        self.store, self.writer, self.rules, self.publisher = store, writer, rules, publisher
        self.settings = settings or CameraSettings()
        self._live_keys: tuple[Rules | None, frozenset[str]] = (None, frozenset())

    def handle_frame(self, frame: Frame, arrived: float | None = None) -> FrameOutcome:
        """Take one frame in (idempotent), write its records, update its displays' decisions.

        Raises ``NotAFrameError`` (``CaptureTimeAhead``) for a frame captured more than ``max_ahead_s`` after
        it arrived: a wrong clock must not hold the camera's later frames back as late.
        """
        arrived = time.time() if arrived is None else arrived
        if frame.captured_at > arrived + self.settings.max_ahead_s:
            raise NotAFrameError("CaptureTimeAhead", f"captured {frame.captured_at - arrived:.0f} s after it arrived")
        state, changes = self._update(frame.camera, lambda s: s.add(frame, arrived))
        outcome = FrameOutcome(
            frame.camera, changes.duplicate, changes.late, len(changes.finished), len(changes.minutes)
        )
        cause = {
            "Camera": frame.camera,
            "FrameId": frame.frame_id,
            "CapturedAt": frame.captured_at,
            "UploadedKey": frame.uploaded_key,
        }
        outcome.decisions = self._decide_for(state, None, cause)
        outcome.rules_status = self.rules.status
        return outcome

    def sweep(self, now: float | None = None) -> list[FrameOutcome]:
        """Settle every quiet camera (``CameraState.sweep``) and refresh its displays (nobody is present).

        Each camera on its own: one whose sweep raises is logged and marked ``failed``, and the others go on.
        """
        now = time.time() if now is None else now
        outcomes = []
        for item_id in self.store.ids(CAMERA):
            camera = item_id.removeprefix(CAMERA)
            try:
                state, changes = self._update(camera, lambda s: s.sweep(now))
                outcome = FrameOutcome(
                    camera, tracks_finished=len(changes.finished), minutes_closed=len(changes.minutes)
                )
                outcome.decisions = self._decide_for(state, now, {"Camera": camera, "Sweep": now})
                outcome.rules_status = self.rules.status
            except Exception:
                log.exception("the sweep of camera %r failed; the other cameras go on", camera[:200])
                outcome = FrameOutcome(camera, failed=True)
            outcomes.append(outcome)
        return outcomes

    def _update(self, camera: str, change: Callable[[CameraState], Changes]) -> tuple[CameraState, Changes]:
        for _ in range(ATTEMPTS):
            body, version = self.store.load(CAMERA + camera)
            state = CameraState.from_dict(body, self.settings) if body else CameraState(camera, self.settings)
            changes = change(state)
            for track in changes.finished:
                self.writer.write(*track_record(camera, track))
            for tally in changes.minutes:
                self.writer.write(*minute_record(tally))
            if changes.duplicate:
                return state, changes
            try:
                self.store.save(CAMERA + camera, state.to_dict(), version)  # a late frame saves its count
                return state, changes
            except StaleStateError:
                log.info("camera %s changed under us; reading it again", camera)
        raise StaleStateError(f"camera {camera}: {ATTEMPTS} conflicting writes in a row")

    def present(self, state: CameraState, now: float | None) -> Presence:
        """Who is in front of a camera (``CameraState.live``).

        With a clock time ``now`` (a sweep), a quiet camera has nobody present, and its capture-time
        clock is its newest frame's time plus the time since that frame arrived.
        """
        presence = state.live()
        if now is None:
            return presence
        newest = presence.newest + max(0.0, now - state.last_arrival)
        if state.quiet(now):
            return Presence([], newest)
        return dataclasses.replace(presence, newest=newest)

    def _decide_for(self, state: CameraState, now: float | None, cause: dict[str, Any]) -> list[Decision]:
        """Decide for each camera set this camera is in: one read of their shards, one look at each camera in
        them, and a write of a shard and a publish only where a decision changed.
        """
        rules = self.rules.get()
        if rules is None:
            return []
        groups = rules.camera_sets_of(state.camera)
        own = self.present(state, now)
        changed: list[Decision] = []
        pending = sorted(groups)
        for _ in range(ATTEMPTS):
            if not pending:
                return changed
            # Each attempt reads the other cameras again: a conflict means another camera's frame moved on.
            audiences = self._audiences(pending, state.camera, own, now)
            slots = {cameras: decision_slot(cameras) for cameras in pending}
            stored = self.store.load_many(sorted({shard for shard, _ in slots.values()}))
            shards: dict[str, dict[str, Any]] = {}
            announced = []
            for cameras in pending:
                shard, key = slots[cameras]
                body = stored[shard][0] or {}
                current = Decision.from_dict({**body[key], "Cameras": cameras}) if key in body else None
                decision = decide(cameras, audiences[cameras], rules, current)
                if current is not None and decision == current:
                    continue
                if shard not in shards:
                    shards[shard] = self._live_entries(body, rules)
                shards[shard][key] = without_cameras(decision)
                if current is None or decision.creative != current.creative:
                    announced.append(decision)
            if announced and self.publisher is not None:
                # before storing: a failure here is retried
                self.publisher.publish_many([(d, groups[d.cameras]) for d in announced], cause)
            stale = set(self.store.save_many([(shard, body, stored[shard][1]) for shard, body in shards.items()]))
            changed += [d for d in announced if slots[d.cameras][0] not in stale]
            pending = [cameras for cameras in pending if slots[cameras][0] in stale]
        if not pending:
            return changed
        raise StaleStateError(f"camera sets {pending[:5]}: {ATTEMPTS} conflicting writes in a row")

    def _live_entries(self, body: dict[str, Any], rules: Rules) -> dict[str, Any]:
        """A shard's decisions without those of camera sets that the rules no longer hold (bounded by rules)."""
        if self._live_keys[0] is not rules:
            keys = {decision_slot(rules.camera_set_of(d) or ())[1] for d in rules.displays}
            self._live_keys = (rules, frozenset(keys))
        return {key: entry for key, entry in body.items() if key in self._live_keys[1]}

    def _audiences(
        self, camera_sets: list[tuple[str, ...]], camera: str, own: Presence, now: float | None
    ) -> dict[tuple[str, ...], Presence]:
        """Who is in front of each camera set: this camera's presence as given, the others' as stored."""
        others = sorted({c for cameras in camera_sets for c in cameras} - {camera})
        looks = {camera: own}
        for item_id, (body, _) in self.store.load_many([CAMERA + c for c in others]).items():
            other = CameraState.from_dict(body, self.settings) if body else None
            looks[item_id.removeprefix(CAMERA)] = self.present(other, now) if other else Presence([], -float("inf"))
        return {
            cameras: Presence(
                [t for c in cameras for t in looks[c].tracks],
                max(looks[c].newest for c in cameras),
                any(looks[c].crowded for c in cameras),
                any(looks[c].frame_missing for c in cameras),
            )
            for cameras in camera_sets
        }

    def current_decision(self, display: str) -> dict[str, Any] | None:
        """A display's current decision (what its HTTP endpoint returns); None without rules or a decision."""
        rules = self.rules.get()
        return None if rules is None else display_decision(self.store, rules, display)
