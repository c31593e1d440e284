"""Linking one camera's faces from frame to frame into tracks, by position and size alone (no identity).

Each frame's faces are matched to the live tracks greedily, cheapest first. The cost of a
pair is the distance from the track's predicted centre (last centre plus its velocity times
the time since) to the face's centre, in face heights (a head turning narrows its box, not its
height); a pair is allowed when that distance is within ``gate_heights`` plus
``gate_heights_per_s`` per second since the track was last seen (twice that for a track seen
once, whose velocity is not known yet) and the two heights differ by less than
``max_size_ratio``. Unmatched faces start tracks; a track
not seen for ``max_gap_s`` ends. Nothing about a face's appearance is used or kept.

A track keeps: first and last seen, frames, attention time (an interval between two frames
counts fully when the face was attentive in both, half when in one), and its votes: gender
weighted by the classifier's confidence, age group by count, the mean age estimate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from audience.frames import Face, Frame


@dataclass(frozen=True)
class TrackerSettings:
    """How faces are linked and when a track ends."""

    max_gap_s: float = 3.0
    gate_heights: float = 1.0
    gate_heights_per_s: float = 0.5
    max_size_ratio: float = 1.4
    #: Longest interval between two frames of a track that counts as watched or present time.
    max_interval_s: float = 2.0


@dataclass
class Track:
    """One person's passage in front of one camera, as far as boxes can tell."""

    track_id: str
    first_seen: float
    last_seen: float
    box: list[float]  # cx, cy, width, height of the last face (ratios of the frame's width and height)
    velocity: list[float] = field(default_factory=lambda: [0.0, 0.0])  # ratios per second
    frames: int = 1
    attention_s: float = 0.0
    attentive_frames: int = 0
    last_attentive: bool = False
    gender_votes: dict[str, float] = field(default_factory=dict)
    age_group_votes: dict[str, int] = field(default_factory=dict)
    age_sum: float = 0.0
    classified_frames: int = 0
    gender_frames: int = 0
    #: The lowest ``AgeRange`` low end (else age) of any of its faces, for the minor guardrail.
    youngest: float | None = None
    #: Its latest face was classified with an age (an unknown age counts as a possible minor).
    last_age_known: bool = False

    @property
    def dwell_s(self) -> float:
        """First to last seen."""
        return self.last_seen - self.first_seen

    @property
    def gender(self) -> str | None:
        """The confidence-weighted gender vote (None before any classified face)."""
        return max(sorted(self.gender_votes), key=lambda g: self.gender_votes[g]) if self.gender_votes else None

    @property
    def gender_confidence(self) -> float:
        """The classifier's confidence in the winning gender, averaged over every gendered face (a face that
        said the other gender adds 0), 0-100.
        """
        return self.gender_votes[self.gender] / self.gender_frames if self.gender and self.gender_frames else 0.0

    @property
    def age_group(self) -> str | None:
        """The most frequent age group (ties: alphabetical, for determinism)."""
        if not self.age_group_votes:
            return None
        return max(sorted(self.age_group_votes), key=lambda g: self.age_group_votes[g])

    @property
    def age(self) -> float | None:
        """The mean age estimate over classified faces."""
        return self.age_sum / self.classified_frames if self.classified_frames else None

    @property
    def watcher(self) -> bool:
        """Looked at the camera at least once."""
        return self.attentive_frames > 0

    def observe(self, face: Face, when: float, settings: TrackerSettings) -> None:
        """Add a face seen at ``when`` (the track's last time or later)."""
        interval = min(when - self.last_seen, settings.max_interval_s)
        if interval > 0:
            cx, cy = face.centre
            self.velocity = [(cx - self.box[0]) / interval, (cy - self.box[1]) / interval]
        both = int(face.attentive) + int(self.last_attentive)
        self.attention_s += max(0.0, interval) * both / 2
        self.box = [*face.centre, face.width, face.height]
        self.last_seen = max(self.last_seen, when)
        self.frames += 1
        self._vote(face)

    def _vote(self, face: Face) -> None:
        self.last_attentive = face.attentive
        self.attentive_frames += int(face.attentive)
        if face.classified and face.gender:
            self.gender_votes[face.gender] = self.gender_votes.get(face.gender, 0.0) + face.gender_confidence
            self.gender_frames += 1
        if face.classified and face.age_group:
            self.age_group_votes[face.age_group] = self.age_group_votes.get(face.age_group, 0) + 1
        if face.classified and face.age is not None:
            self.age_sum += face.age
            self.classified_frames += 1
            low = face.age if face.age_low is None else min(face.age, face.age_low)
            self.youngest = low if self.youngest is None else min(self.youngest, low)
        self.last_age_known = face.age_known

    def predicted_centre(self, when: float, settings: TrackerSettings) -> tuple[float, float]:
        """Where the face should be at ``when`` if it keeps its velocity."""
        dt = min(max(0.0, when - self.last_seen), settings.max_interval_s)
        return self.box[0] + self.velocity[0] * dt, self.box[1] + self.velocity[1] * dt

    @classmethod
    def start(cls, track_id: str, face: Face, when: float) -> Track:
        """A new track from its first face."""
        track = cls(track_id, when, when, [*face.centre, face.width, face.height], frames=0)
        track.frames = 1
        track._vote(face)
        return track

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Track:
        return cls(**data)


def _cost(track: Track, face: Face, when: float, settings: TrackerSettings) -> float | None:
    """Distance in face heights from the track's prediction, or None where the pair is not allowed."""
    height = (track.box[3] + face.height) / 2
    if height <= 0:
        return None
    ratio = max(track.box[3], face.height) / max(1e-9, min(track.box[3], face.height))
    if ratio > settings.max_size_ratio:
        return None
    px, py = track.predicted_centre(when, settings)
    cx, cy = face.centre
    distance = math.hypot(cx - px, cy - py) / height
    gap = max(0.0, when - track.last_seen)
    gate = (settings.gate_heights + settings.gate_heights_per_s * gap) * (2.0 if track.frames == 1 else 1.0)
    return distance if distance <= gate else None


@dataclass
class Tracker:
    """The live tracks of one camera and the frames it has taken in, in capture order."""

    camera: str
    settings: TrackerSettings = field(default_factory=TrackerSettings)
    tracks: list[Track] = field(default_factory=list)
    latest: float = 0.0  # capture time of the last frame taken in
    #: Track id -> index of the face it took in the last frame (for inspection; not stored).
    last_assignment: dict[str, int] = field(default_factory=dict, compare=False)

    def step(self, frame: Frame) -> tuple[list[Track], list[Track]]:
        """Take in the next frame (in capture order); returns (tracks seen in it, tracks that ended before it)."""
        ended = self.end_idle(frame.captured_at)
        pairs = sorted(
            (cost, t, f)
            for t, track in enumerate(self.tracks)
            for f, face in enumerate(frame.faces)
            if (cost := _cost(track, face, frame.captured_at, self.settings)) is not None
        )
        used_tracks: set[int] = set()
        used_faces: set[int] = set()
        self.last_assignment = {}
        for _, t, f in pairs:
            if t in used_tracks or f in used_faces:
                continue
            self.tracks[t].observe(frame.faces[f], frame.captured_at, self.settings)
            used_tracks.add(t)
            used_faces.add(f)
            self.last_assignment[self.tracks[t].track_id] = f
        seen = [self.tracks[t] for t in sorted(used_tracks)]
        stamp = round(frame.captured_at * 1000)
        for f, face in enumerate(frame.faces):
            if f not in used_faces:
                track = Track.start(f"{self.camera}-{stamp}-{f}", face, frame.captured_at)
                self.tracks.append(track)
                seen.append(track)
                self.last_assignment[track.track_id] = f
        self.latest = max(self.latest, frame.captured_at)
        return seen, ended

    def end_idle(self, now: float) -> list[Track]:
        """End (remove and return) the tracks not seen for more than ``max_gap_s`` before ``now``."""
        ended = [t for t in self.tracks if now - t.last_seen > self.settings.max_gap_s]
        self.tracks = [t for t in self.tracks if now - t.last_seen <= self.settings.max_gap_s]
        return ended

    def to_dict(self) -> dict[str, Any]:
        return {"camera": self.camera, "latest": self.latest, "tracks": [t.to_dict() for t in self.tracks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: TrackerSettings) -> Tracker:
        tracks = [Track.from_dict(t) for t in data.get("tracks", [])]
        return cls(data["camera"], settings, tracks, data.get("latest", 0.0))


def mix_key(track: Track) -> str:
    """``age-group|gender`` of a track for the per-minute mix (``unknown`` where not classified)."""
    return f"{track.age_group or 'unknown'}|{track.gender or 'unknown'}"
