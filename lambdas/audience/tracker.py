"""Linking one camera's faces from frame to frame into tracks, at the 1-2 frames a second cameras upload.

At that rate a walker moves several face heights between frames, people stop, start, turn their
heads and pass each other, so each frame is one minimum-cost assignment (``audience.assignment``)
of all live tracks to all faces, not a greedy nearest match:

- **Motion, standing or walking.** A pair's motion cost is the smaller of two hypotheses: the person
  stood (the face is near its last position) or kept walking (near the last position plus the
  observed velocity times the time since). Each is a distance in face heights over an uncertainty
  that grows with the elapsed time, so jitter in capture times moves costs a little, never a gate.
- **Gates in face heights per elapsed second**: nobody moves faster than ``max_speed`` face heights
  a second, and a face's height changes by at most ``max_size_ratio`` (a head turned 60-70 degrees
  shrinks its box to 0.6-0.75 of its size; the cost grows with the change).
- **Appearance without identity.** Where both have it, the colour histograms of the hair and the
  clothing next to the face (``Face.appearance``, computed by the inference function) add their
  difference to the cost, and so do a confident disagreement in apparent gender and a large one in
  apparent age. No face embedding is made or kept; the histograms live only in live tracks.
- **Lost and found.** A track not seen in a frame stays for ``max_gap_s`` and is re-found from its
  last observation (observation-centric, as OC-SORT does), so a face hidden behind a nearer walker
  for a frame or two comes back to its track.
- **Tentative, then confirmed.** A track counts as a person once it has ``confirm_frames`` faces; a
  track that ends before that was a stray detection and is dropped (it still counts as present for
  the minor guardrail while it lives).

A track keeps: first and last seen, where (first and last box and frame), frames, attention time
(an interval between two frames counts fully when the face was attentive in both, half when in
one), and its votes: gender weighted by the classifier's confidence, age group by count, the mean
age estimate, and for the guardrail the youngest age seen and whether its latest face had an age.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from agegender.frame_message import Face, Frame
from audience.assignment import assign


@dataclass(frozen=True)
class TrackerSettings:
    """How faces are linked and when a track ends (distances in face heights, times in seconds)."""

    #: A track not seen for longer than this ends (lost tracks are re-found within it).
    max_gap_s: float = 4.0
    #: Faster than anyone walks past a display: pairs needing more are not allowed.
    max_speed: float = 6.0
    #: Distance always allowed, whatever the time (box jitter, a head turning).
    gate_heights: float = 1.0
    #: Box jitter, and how much a standing or walking person's position spreads per second.
    position_sigma: float = 0.35
    stand_sigma_per_s: float = 1.0
    walk_sigma_per_s: float = 1.0
    #: Largest ratio of two face heights in one track (a turned head's box shrinks to 0.6 of its size), and the
    #: cost of a change of size per unit of its logarithm (a nearer face passing in front differs more).
    max_size_ratio: float = 2.0
    size_weight: float = 4.0
    #: Cost of starting a track rather than pairing (pairs costing more are left apart).
    new_track_cost: float = 4.5
    #: Extra cost of a standing or walking person setting off at a new speed (less likely than going on).
    start_cost: float = 0.5
    #: Weight of the appearance difference (0-1) and of a confident gender or large age disagreement.
    appearance_weight: float = 6.0
    cue_weight: float = 2.0
    #: Faces before a track counts as a person.
    confirm_frames: int = 2
    #: Longest interval between two frames of a track that counts as watched or present time.
    max_interval_s: float = 2.0


@dataclass
class Track:
    """One person's passage in front of one camera, as far as boxes and colours can tell."""

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
    #: Where it was first and last seen: the face box [left, top, width, height] and the frame's key.
    first_box: list[float] = field(default_factory=list)
    last_box: list[float] = field(default_factory=list)
    first_frame: str = ""
    last_frame: str = ""
    #: The running mean of its faces' colour histograms (live state only: never in a record).
    appearance: list[float] = field(default_factory=list)

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

    def observe(self, face: Face, when: float, key: str, settings: TrackerSettings) -> None:
        """Add a face seen at ``when`` (the track's last time or later) in the frame ``key``."""
        elapsed = when - self.last_seen
        if elapsed > 0.2:  # velocity from observations only, lightly smoothed
            cx, cy = face.centre
            observed = [(cx - self.box[0]) / elapsed, (cy - self.box[1]) / elapsed]
            keep = 0.3 if self.frames > 1 else 0.0
            self.velocity = [keep * v + (1 - keep) * o for v, o in zip(self.velocity, observed, strict=True)]
        interval = min(max(0.0, elapsed), settings.max_interval_s)
        both = int(face.attentive) + int(self.last_attentive)
        self.attention_s += interval * both / 2
        self.box = [*face.centre, face.width, face.height]
        self.last_seen = max(self.last_seen, when)
        self.frames += 1
        self._vote(face, key)

    def _vote(self, face: Face, key: str) -> None:
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
        box = [round(v, 5) for v in (face.left, face.top, face.width, face.height)]
        if not self.first_frame:
            self.first_box, self.first_frame = box, key
        self.last_box, self.last_frame = box, key
        if face.appearance:
            if len(self.appearance) == len(face.appearance):
                self.appearance = [0.7 * a + 0.3 * b for a, b in zip(self.appearance, face.appearance, strict=True)]
            else:
                self.appearance = [float(v) for v in face.appearance]

    @classmethod
    def start(cls, track_id: str, face: Face, when: float, key: str) -> Track:
        """A new track from its first face."""
        track = cls(track_id, when, when, [*face.centre, face.width, face.height])
        track._vote(face, key)
        return track

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Track:
        return cls(**data)


def _difference(a: list[float] | tuple[int, ...], b: list[float] | tuple[int, ...]) -> float:
    """1 - histogram intersection of two descriptors (each region's bins sum to the same total), 0-1."""
    total = sum(a) or 1.0
    return 1.0 - sum(min(x, y) for x, y in zip(a, b, strict=True)) / total


def pair_cost(track: Track, face: Face, when: float, settings: TrackerSettings, aspect: float = 16 / 9) -> float | None:
    """What pairing ``face`` with ``track`` at ``when`` costs, or None where it is not allowed.

    Boxes are ratios of the frame's width and height; ``aspect`` (width over height) turns a horizontal
    distance into the same unit as a face's height.
    """
    height = (track.box[3] + face.height) / 2
    if height <= 0 or face.height <= 0 or track.box[3] <= 0:
        return None
    ratio = max(track.box[3], face.height) / min(track.box[3], face.height)
    if ratio > settings.max_size_ratio:
        return None
    elapsed = max(0.0, when - track.last_seen)
    cx, cy = face.centre
    stood = math.hypot((cx - track.box[0]) * aspect, cy - track.box[1]) / height
    if stood > settings.gate_heights + settings.max_speed * elapsed:
        return None
    ahead = min(elapsed, settings.max_interval_s)
    walked = math.hypot(
        (cx - track.box[0] - track.velocity[0] * ahead) * aspect, cy - track.box[1] - track.velocity[1] * ahead
    )
    walked /= height
    stand_sigma = settings.position_sigma + settings.stand_sigma_per_s * elapsed
    walk_sigma = settings.position_sigma + settings.walk_sigma_per_s * elapsed
    # Setting off (or, for a track of one face, walking at a speed not known yet): any speed up to max_speed.
    start_sigma = settings.position_sigma + settings.max_speed / 2 * elapsed
    start_prior = 0.0 if track.frames == 1 else settings.start_cost

    def hypothesis(distance: float, sigma: float) -> float:
        # Minus the log-likelihood, up to a constant: a wide spread (a long gap, an unknown speed) costs by
        # itself, so a track lost for seconds takes a face only where nothing fits better.
        return 0.5 * (distance / sigma) ** 2 + math.log(sigma / settings.position_sigma)

    motion = min(
        hypothesis(stood, stand_sigma),
        hypothesis(walked, walk_sigma),
        hypothesis(stood, start_sigma) + start_prior,
    )
    cost = motion + settings.size_weight * math.log(ratio)
    if track.appearance and face.appearance and len(track.appearance) == len(face.appearance):
        cost += settings.appearance_weight * _difference(track.appearance, face.appearance)
    confident = face.gender_confidence >= 90 and track.gender_confidence >= 90
    if face.classified and confident and face.gender and track.gender and face.gender != track.gender:
        cost += settings.cue_weight
    if face.classified and face.age is not None and track.age is not None and abs(face.age - track.age) > 20:
        cost += settings.cue_weight
    return cost


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
        """Take in the next frame (in capture order); returns (tracks seen in it, confirmed tracks that ended)."""
        ended = self.end_idle(frame.captured_at)
        costs = [
            [pair_cost(t, f, frame.captured_at, self.settings, frame.aspect) for f in frame.faces] for t in self.tracks
        ]
        pairs = assign(costs, len(frame.faces), unpaired_row=0.0, unpaired_column=self.settings.new_track_cost)
        self.last_assignment = {}
        seen = []
        for t, f in pairs:
            self.tracks[t].observe(frame.faces[f], frame.captured_at, frame.uploaded_key, self.settings)
            self.last_assignment[self.tracks[t].track_id] = f
            seen.append(self.tracks[t])
        paired = {f for _, f in pairs}
        stamp = round(frame.captured_at * 1000)
        for f, face in enumerate(frame.faces):
            if f not in paired:
                track = Track.start(f"{self.camera}-{stamp}-{f}", face, frame.captured_at, frame.uploaded_key)
                self.tracks.append(track)
                seen.append(track)
                self.last_assignment[track.track_id] = f
        self.latest = max(self.latest, frame.captured_at)
        return seen, ended

    def end_idle(self, now: float) -> list[Track]:
        """End the tracks not seen for more than ``max_gap_s`` before ``now``; returns the confirmed ones
        (a track of fewer faces than ``confirm_frames`` was a stray detection, not a person).
        """
        idle = [t for t in self.tracks if now - t.last_seen > self.settings.max_gap_s]
        self.tracks = [t for t in self.tracks if now - t.last_seen <= self.settings.max_gap_s]
        return [t for t in idle if self.is_person(t)]

    def is_person(self, track: Track) -> bool:
        """Confirmed: seen in ``confirm_frames`` frames (fewer is a stray detection, never counted)."""
        return track.frames >= self.settings.confirm_frames

    def to_dict(self) -> dict[str, Any]:
        return {"camera": self.camera, "latest": self.latest, "tracks": [t.to_dict() for t in self.tracks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: TrackerSettings) -> Tracker:
        tracks = [Track.from_dict(t) for t in data.get("tracks", [])]
        return cls(data["camera"], settings, tracks, data.get("latest", 0.0))


def mix_key(track: Track) -> str:
    """``age-group|gender`` of a track for the per-minute mix (``unknown`` where not classified)."""
    return f"{track.age_group or 'unknown'}|{track.gender or 'unknown'}"
