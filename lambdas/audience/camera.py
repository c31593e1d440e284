"""One camera's state: frames taken in capture order, whatever order they arrive in, each once.

Frames wait in ``pending`` until a frame ``reorder_window_s`` newer has arrived; then they are
committed to the tracker in capture order. A camera that went quiet (no frame has arrived for
``quiet_s`` by the clock) is settled by a sweep: everything pending is committed, every track
ends, every minute closes. The sweep goes by arrival times, not capture times, so a camera
whose clock is off, or a backfill of old frames, is never cut short. A redelivered frame (same
id) is ignored, and frames shuffled within the window give the same tracks and counts as frames
in order. A frame older than
everything committed arrived too late to be placed: it is dropped and counted. Decisions do
not wait: ``live`` replays the pending frames on a copy of the committed tracks.

Committed frames feed the per-minute tallies; a minute closes when committed time passes its
end (or a sweep settles the camera). Finished tracks and closed minutes are the
audience records (``audience.records``).

The state stays bounded whatever arrives (a DynamoDB item holds at most 400 KB): at most
``MAX_PENDING`` frames wait (the oldest is committed early beyond that), at most ``MAX_TRACKS``
tracks live (the longest unseen end first), and a minute names at most ``MAX_MINUTE_TRACKS``
tracks (more only add to its ``overflow`` count). Frames carry at most ``agegender.frame_message.MAX_FACES``.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from agegender.frame_message import Face, Frame
from audience.tracker import Track, Tracker, TrackerSettings, mix_key

MINUTE_S = 60
MAX_PENDING = 16
MAX_TRACKS = 64
MAX_MINUTE_TRACKS = 1000
#: Gaps between frames remembered to learn a camera's rate; a gap this many times the usual one means a
#: frame has not arrived (yet).
INTERVALS_KEPT, MISSING_GAP_FACTOR = 8, 1.7


@dataclass(frozen=True)
class CameraSettings:
    """Ordering and presence."""

    reorder_window_s: float = 3.0
    #: A track is present (counts for decisions) when seen within this of the camera's newest frame.
    presence_s: float = 3.0
    #: Committed frame ids remembered for deduplication (besides the pending ones).
    remembered_ids: int = 64
    #: A camera from which no frame has arrived for this long is quiet: a sweep settles it.
    quiet_s: float = 10.0
    #: A frame captured further than this after it arrived is a wrong clock: it is not taken in.
    max_ahead_s: float = 300.0
    tracker: TrackerSettings = field(default_factory=TrackerSettings)


@dataclass(frozen=True)
class Presence:
    """Who is in front of a camera now, as far as its frames tell, and what they may not tell."""

    tracks: list[Track]
    newest: float  # capture time of the camera's newest frame
    crowded: bool = False  # a frame within the presence window held more faces than the stage follows
    frame_missing: bool = False  # a frame inside the reorder window has not arrived yet


@dataclass
class MinuteTally:
    """Who was seen in one minute: per track, whether it looked and its age-group|gender."""

    start: float
    tracks: dict[str, list[Any]] = field(default_factory=dict)  # track id -> [attentive, mix key]
    overflow: int = 0  # tracks beyond MAX_MINUTE_TRACKS: counted as people, not in watchers or the mix

    def add(self, track: Track, attentive: bool) -> None:
        if track.track_id not in self.tracks and len(self.tracks) >= MAX_MINUTE_TRACKS:
            self.overflow += 1
            return
        looked = attentive or bool(self.tracks.get(track.track_id, [False])[0])
        self.tracks[track.track_id] = [looked, mix_key(track)]

    def record(self, camera: str) -> dict[str, Any]:
        """The per-minute counts: opportunities to see, watchers, and the age-group x gender mix."""
        mix: dict[str, int] = {}
        for _, key in self.tracks.values():
            mix[key] = mix.get(key, 0) + 1
        return {
            "camera": camera,
            "minute": self.start,
            "opportunities_to_see": len(self.tracks) + self.overflow,
            "watchers": sum(1 for looked, _ in self.tracks.values() if looked),
            "mix": dict(sorted(mix.items())),
        }


@dataclass
class Changes:
    """What taking in a frame (or a sweep) produced."""

    finished: list[Track] = field(default_factory=list)
    minutes: list[dict[str, Any]] = field(default_factory=list)
    duplicate: bool = False
    late: bool = False


def _frame_to_dict(frame: Frame) -> dict[str, Any]:
    return asdict(frame)


def _frame_from_dict(data: dict[str, Any]) -> Frame:
    return Frame(**{**data, "faces": tuple(Face(**f) for f in data["faces"])})


class CameraState:
    """Committed tracker, pending frames, recent ids and open minutes of one camera (JSON-serialisable)."""

    def __init__(self, camera: str, settings: CameraSettings | None = None) -> None:
        self.settings = settings or CameraSettings()
        self.camera = camera
        self.tracker = Tracker(camera, self.settings.tracker)
        self.pending: list[Frame] = []
        self.recent_ids: list[str] = []
        self.minutes: dict[int, MinuteTally] = {}
        self.watermark = -math.inf  # capture time of the newest committed frame
        self.late_frames = 0
        self.duplicate_frames = 0
        self.last_arrival = 0.0  # clock time the newest frame arrived
        self.crowded_at = -math.inf  # capture time of the newest committed frame with faces left out
        self.intervals: list[float] = []  # the latest gaps between committed frames' capture times
        self.latest_key = ""  # the upload key of the newest frame taken in (the console shows it)
        self.latest_at = -math.inf

    # -- taking frames in ---------------------------------------------------------------------------
    def add(self, frame: Frame, arrived: float = 0.0) -> Changes:
        """Take in one frame that arrived at clock time ``arrived``; commit what the window allows."""
        self.last_arrival = max(self.last_arrival, arrived)
        if frame.frame_id in self.recent_ids or any(p.frame_id == frame.frame_id for p in self.pending):
            self.duplicate_frames += 1
            return Changes(duplicate=True)
        if frame.captured_at <= self.watermark:
            self.late_frames += 1
            return Changes(late=True)
        self.pending.append(frame)
        self.pending.sort(key=lambda f: (f.captured_at, f.frame_id))
        if frame.captured_at >= self.latest_at:
            self.latest_key, self.latest_at = frame.uploaded_key, frame.captured_at
        horizon = self.pending[-1].captured_at - self.settings.reorder_window_s
        if len(self.pending) > MAX_PENDING:
            horizon = max(horizon, self.pending[-MAX_PENDING - 1].captured_at)
        return self._commit_until(horizon)

    def quiet(self, now: float) -> bool:
        """No frame has arrived for ``quiet_s`` before the clock time ``now``."""
        return now - self.last_arrival >= self.settings.quiet_s

    def sweep(self, now: float) -> Changes:
        """Settle a quiet camera: commit every pending frame, end every track, close every minute (else nothing)."""
        if not self.quiet(now) or not (self.pending or self.tracker.tracks or self.minutes):
            return Changes()
        changes = self._commit_until(math.inf)
        changes.finished += self.tracker.end_idle(math.inf)
        changes.minutes += self._close_minutes(math.inf)
        return changes

    def _commit_until(self, horizon: float) -> Changes:
        changes = Changes()
        while self.pending and self.pending[0].captured_at <= horizon:
            frame = self.pending.pop(0)
            changes.minutes += self._close_minutes(frame.captured_at)
            if math.isfinite(self.watermark):
                self.intervals = [*self.intervals, frame.captured_at - self.watermark][-INTERVALS_KEPT:]
            seen, ended = self.tracker.step(frame)
            changes.finished += ended + self._end_beyond_cap()
            if frame.faces_dropped:
                self.crowded_at = frame.captured_at
            minute = int(frame.captured_at // MINUTE_S) * MINUTE_S
            tally = self.minutes.setdefault(minute, MinuteTally(float(minute)))
            for track in seen:
                if self.tracker.is_person(track):
                    tally.add(track, track.last_attentive)
            self.watermark = frame.captured_at
            self.recent_ids = [*self.recent_ids, frame.frame_id][-self.settings.remembered_ids :]
        return changes

    def _end_beyond_cap(self) -> list[Track]:
        """End the tracks beyond ``MAX_TRACKS``, those unseen longest first."""
        if len(self.tracker.tracks) <= MAX_TRACKS:
            return []
        by_recency = sorted(self.tracker.tracks, key=lambda t: (-t.last_seen, t.track_id))
        kept = {t.track_id for t in by_recency[:MAX_TRACKS]}
        self.tracker.tracks = [t for t in self.tracker.tracks if t.track_id in kept]
        return [t for t in by_recency[MAX_TRACKS:] if self.tracker.is_person(t)]

    def _close_minutes(self, now: float) -> list[dict[str, Any]]:
        """Records of the minutes that ended at or before ``now``, oldest first."""
        closed = sorted(m for m in self.minutes if m + MINUTE_S <= now)
        return [self.minutes.pop(m).record(self.camera) for m in closed]

    # -- what a display needs -----------------------------------------------------------------------
    def live(self) -> Presence:
        """The tracks present at the newest frame (pending frames replayed on a copy), and what is unsure.

        A frame counts as missing when two frames waiting in the reorder window (or the newest committed
        one and the first waiting) lie further apart than ``MISSING_GAP_FACTOR`` times the camera's usual
        interval: the frame between them may hold a child and is still on its way.
        """
        tracker = copy.deepcopy(self.tracker)
        crowded_at = self.crowded_at
        for frame in self.pending:
            tracker.step(frame)
            if frame.faces_dropped:
                crowded_at = max(crowded_at, frame.captured_at)
        newest = tracker.latest
        present = [t for t in tracker.tracks if newest - t.last_seen <= self.settings.presence_s]
        usual = sorted(self.intervals)[len(self.intervals) // 2] if len(self.intervals) >= 3 else None
        times = [self.watermark, *(f.captured_at for f in self.pending)]
        gaps = [b - a for a, b in itertools.pairwise(times) if math.isfinite(a)]
        missing = usual is not None and any(gap > MISSING_GAP_FACTOR * usual for gap in gaps)
        return Presence(present, newest, newest - crowded_at <= self.settings.presence_s, missing)

    # -- storage ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "tracker": self.tracker.to_dict(),
            "pending": [_frame_to_dict(f) for f in self.pending],
            "recent_ids": self.recent_ids,
            "minutes": {
                str(m): {"start": t.start, "tracks": t.tracks, "overflow": t.overflow} for m, t in self.minutes.items()
            },
            "watermark": None if self.watermark == -math.inf else self.watermark,
            "late_frames": self.late_frames,
            "duplicate_frames": self.duplicate_frames,
            "last_arrival": self.last_arrival,
            "crowded_at": None if self.crowded_at == -math.inf else self.crowded_at,
            "intervals": self.intervals,
            "latest_key": self.latest_key,
            "latest_at": None if self.latest_at == -math.inf else self.latest_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: CameraSettings | None = None) -> CameraState:
        state = cls(data["camera"], settings)
        state.tracker = Tracker.from_dict(data["tracker"], state.settings.tracker)
        state.pending = [_frame_from_dict(f) for f in data.get("pending", [])]
        state.recent_ids = list(data.get("recent_ids", []))
        state.minutes = {
            int(m): MinuteTally(t["start"], t["tracks"], t.get("overflow", 0))
            for m, t in data.get("minutes", {}).items()
        }
        state.watermark = -math.inf if data.get("watermark") is None else data["watermark"]
        state.late_frames = data.get("late_frames", 0)
        state.duplicate_frames = data.get("duplicate_frames", 0)
        state.last_arrival = data.get("last_arrival", 0.0)
        state.crowded_at = -math.inf if data.get("crowded_at") is None else data["crowded_at"]
        state.intervals = list(data.get("intervals", []))
        state.latest_key = data.get("latest_key", "")
        state.latest_at = -math.inf if data.get("latest_at") is None else data["latest_at"]
        return state
