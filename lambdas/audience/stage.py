"""One frame (or one sweep) through the audience stage: state, records, decisions, events.

For a frame: read the camera's state, take the frame in, write the audience records it
finished, save the state (conditional on the version read; on a conflict, start again from
a fresh read: the records written are the same ones again), then decide for each display the
camera watches; where the creative changed, publish the decision, then store it. A message
leaves the queue only after all of this succeeded, so a failure anywhere repeats the frame:
the camera state recognises the frame, and the decision, not yet stored, is published again
(displays get each change at least once).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from audience.camera import CameraSettings, CameraState, Changes
from audience.frames import Frame
from audience.records import RecordWriter, minute_record, track_record
from audience.rules import Decision, InvalidRulesError, Rules, decide, parse_rules
from audience.store import CAMERA, DISPLAY, StaleStateError, StateStore
from audience.tracker import Track

log = logging.getLogger(__name__)
#: Reads and writes of one camera before a conflict is reported as a failure (the queue retries).
ATTEMPTS = 5


class RulesSource:
    """The rules document in S3, re-read at most every ``ttl_s`` seconds; a broken edit keeps the last good one."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        *,
        age_groups: tuple[str, ...] | None = None,
        ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key
        self.age_groups, self.ttl_s, self.clock = age_groups, ttl_s, clock
        self._rules: Rules | None = None
        self._etag: str | None = None
        self._checked = -float("inf")

    def get(self) -> Rules | None:
        """The current rules (None: no document yet, so no display gets decisions)."""
        if self.clock() - self._checked < self.ttl_s:
            return self._rules
        self._checked = self.clock()
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key)
            if head.get("ETag") == self._etag:
                return self._rules
            body = self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
            self._rules, self._etag = parse_rules(body.decode("utf-8"), self.age_groups), head.get("ETag")
            log.info("rules version %s loaded from s3://%s/%s", self._rules.version, self.bucket, self.key)
        except InvalidRulesError:
            log.exception(
                "the rules document is invalid; keeping version %s", self._rules.version if self._rules else None
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            self._rules = None
        return self._rules


@dataclass
class FrameOutcome:
    """What one frame did (for logs, metrics and tests)."""

    camera: str
    duplicate: bool = False
    late: bool = False
    tracks_finished: int = 0
    minutes_closed: int = 0
    decisions: list[Decision] = field(default_factory=list)  # the ones that changed


class DecisionPublisher:
    """Decision changes to an SNS topic, with the display id as a message attribute (displays filter on it)."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns, self.topic_arn = sns, topic_arn

    def publish(self, decision: Decision, cause: dict[str, Any]) -> None:
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps({**decision.to_dict(), "Cause": cause, "DecidedAt": round(time.time(), 3)}),
            MessageAttributes={"display_id": {"DataType": "String", "StringValue": decision.display}},
        )


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

    def handle_frame(self, frame: Frame, arrived: float | None = None) -> FrameOutcome:
        """Take one frame in (idempotent), write its records, update its displays' decisions."""
        arrived = time.time() if arrived is None else arrived
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
        return outcome

    def sweep(self, now: float | None = None) -> list[FrameOutcome]:
        """Settle every quiet camera (``CameraState.sweep``) and refresh its displays (nobody is present)."""
        now = time.time() if now is None else now
        outcomes = []
        for item_id in self.store.ids(CAMERA):
            camera = item_id.removeprefix(CAMERA)
            state, changes = self._update(camera, lambda s: s.sweep(now))
            outcome = FrameOutcome(camera, tracks_finished=len(changes.finished), minutes_closed=len(changes.minutes))
            outcome.decisions = self._decide_for(state, now, {"Camera": camera, "Sweep": now})
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
            if changes.duplicate or changes.late:
                return state, changes
            try:
                self.store.save(CAMERA + camera, state.to_dict(), version)
                return state, changes
            except StaleStateError:
                log.info("camera %s changed under us; reading it again", camera)
        raise StaleStateError(f"camera {camera}: {ATTEMPTS} conflicting writes in a row")

    def present(self, camera: str, state: CameraState | None, now: float | None) -> tuple[list[Track], float]:
        """A camera's present tracks and its capture-time clock (its stored state unless ``state`` is given).

        With a clock time ``now`` (a sweep), a quiet camera has nobody present, and its capture-time
        clock is its newest frame's time plus the time since that frame arrived.
        """
        if state is None:
            body, _ = self.store.load(CAMERA + camera)
            if not body:
                return [], -float("inf")
            state = CameraState.from_dict(body, self.settings)
        tracks, newest = state.live_tracks()
        if now is not None:
            newest += max(0.0, now - state.last_arrival)
            if state.quiet(now):
                tracks = []
        return tracks, newest

    def _decide_for(self, state: CameraState, now: float | None, cause: dict[str, Any]) -> list[Decision]:
        rules = self.rules.get()
        if rules is None:
            return []
        changed = []
        for display in rules.displays_of(state.camera):
            for _ in range(ATTEMPTS):
                present: list[Track] = []
                newest = -float("inf")
                for camera in rules.displays[display]:
                    tracks, latest = self.present(camera, state if camera == state.camera else None, now)
                    present += tracks
                    newest = max(newest, latest)
                moment = newest
                body, version = self.store.load(DISPLAY + display)
                current = Decision.from_dict(body) if body else None
                decision = decide(display, present, rules, current, moment)
                if current is not None and decision == current:
                    break
                if (current is None or decision.creative != current.creative) and self.publisher is not None:
                    self.publisher.publish(decision, cause)  # before storing: a failure here is retried
                try:
                    self.store.save(DISPLAY + display, decision.to_dict(), version)
                except StaleStateError:
                    continue
                if current is None or decision.creative != current.creative:
                    changed.append(decision)
                break
        return changed

    def current_decision(self, display: str) -> dict[str, Any] | None:
        """A display's stored decision (what its HTTP endpoint returns)."""
        body, _ = self.store.load(DISPLAY + display)
        return body
