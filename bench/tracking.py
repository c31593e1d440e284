"""Tracking on synthetic camera sequences with known people: counts, identity switches, dwell, replay safety.

    python -m bench.tracking [--sequences 10] [--seconds 60] [--json bench/results/tracking.json]

Each sequence is 1280x720 frames at 1 frame/s of capture time. People are UTKFace test-split
faces (needs the archive) that enter at random times, walk across or stand, at 60-160 px, some
crossing or overlapping others, some turning away for a few seconds (their face narrowed as a
turned head looks), and leave. Every frame goes through the real path: the analyzer (detector,
classifier, pose), the result document, the frame summary, ``audience.frames.parse_frame``,
``audience.camera.CameraState``. The truth per person: the frames where their face is wholly
in view; a detection belongs to the person whose face centre is nearest (within half a face).

Reported: people counted (finished tracks) against the truth, identity switches (consecutive
faces of one track that belong to different people) per track, people split over several
tracks, dwell error of each person's main track, and whether replaying every message twice and
shuffling within 2 s changes any track or minute count.
"""

from __future__ import annotations

import argparse
import io
import itertools
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agegender.analyzer import ImageAnalyzer
from agegender.capture import camera_block
from agegender.events import S3ObjectRef
from agegender.results import result_document
from agegender.summary import frame_id, result_summary
from audience.camera import CameraState
from audience.frames import Frame, parse_frame
from audience.tracker import Tracker
from bench import add_json_option, report
from bench.detection_recall import alternating_background, load_test_faces

WIDTH, HEIGHT = 1280, 720
T0 = 1_795_780_800.0  # 2026-11-27T12:00:00Z
#: How far a shuffled message may move from its place (capture seconds).
SHUFFLE_S = 2.0


@dataclass
class Person:
    """One synthetic person: face, entry and exit second, path, size, seconds turned away."""

    index: int
    face: Image.Image
    enters: int
    leaves: int
    x0: float
    y0: float
    vx: float  # pixels per second
    vy: float
    height: int
    turned: set[int] = field(default_factory=set)

    def box(self, second: int) -> tuple[float, float, float, float] | None:
        """Where the face is at ``second`` (left, top, width, height in pixels), None when out of view."""
        if not self.enters <= second <= self.leaves:
            return None
        width = self.height * self.face.width / self.face.height
        if second in self.turned:
            width *= 0.45
        cx, cy = self.x0 + self.vx * (second - self.enters), self.y0 + self.vy * (second - self.enters)
        left, top = cx - width / 2, cy - self.height / 2
        inside = left >= 0 and top >= 0 and left + width <= WIDTH and top + self.height <= HEIGHT
        return (left, top, width, self.height) if inside else None


def make_people(rng: random.Random, faces: list[Image.Image], seconds: int, count: int, start: int) -> list[Person]:
    """``count`` people with random paths; every other one walks across, the rest stand or drift."""
    people = []
    for i in range(count):
        height = rng.randint(60, 160)
        enters = rng.randint(0, seconds - 12)
        stay = rng.randint(6, min(40, seconds - enters - 1))
        walking = i % 2 == 0
        x0 = rng.uniform(0.15, 0.85) * WIDTH
        vx = rng.choice([-1, 1]) * rng.uniform(15, 45) if walking else rng.uniform(-4, 4)
        turned = set(range(enters + 3, enters + 6)) if rng.random() < 0.3 and stay > 8 else set()
        people.append(
            Person(
                start + i,
                faces[(start + i) % len(faces)],
                enters,
                enters + stay,
                x0,
                rng.uniform(0.25, 0.75) * HEIGHT,
                vx,
                rng.uniform(-3, 3),
                height,
                turned,
            )
        )
    return people


def render(second: int, people: list[Person], background: Image.Image) -> Image.Image:
    """The frame at ``second``: faces pasted larger ones last (nearer the camera, in front)."""
    frame = background.copy()
    for person in sorted(people, key=lambda p: p.height):
        box = person.box(second)
        if box is not None:
            left, top, width, height = box
            frame.paste(person.face.resize((round(width), round(height))), (round(left), round(top)))
    return frame


def analysed_frame(analyzer: ImageAnalyzer, camera: str, second: int, image: Image.Image) -> tuple[Frame, dict]:
    """The frame as the audience stage receives it, through the runtime's analysis and summary."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    analysis = analyzer.analyze(buffer.getvalue())
    key = f"cameras/{camera}/{int((T0 + second) * 1000)}.jpg"
    document = result_document(
        source={}, model={}, image=analysis.image, faces=analysis.faces, camera=camera_block(key, None, None, None)
    )
    summary = result_summary(document, source=S3ObjectRef("bench", key), result_bucket="bench", result_key=key)
    summary["FrameId"] = frame_id(summary)
    return parse_frame(summary), summary


def owner(face_centre: tuple[float, float], face_height: float, people: list[Person], second: int) -> int | None:
    """The person whose face centre is nearest a detection (within half a face height), or None."""
    best, best_d = None, 0.5 * face_height
    for person in people:
        box = person.box(second)
        if box is None:
            continue
        d = float(np.hypot(box[0] + box[2] / 2 - face_centre[0], box[1] + box[3] / 2 - face_centre[1]))
        if d < best_d:
            best, best_d = person.index, d
    return best


def replay(frames: list[Frame], camera: str) -> tuple[list, list]:
    """Finished tracks and minute records from taking ``frames`` in (then settling the camera)."""
    state = CameraState(camera)
    tracks, minutes = [], []
    for frame in frames:
        changes = state.add(frame, arrived=0.0)
        tracks += changes.finished
        minutes += changes.minutes
    changes = state.sweep(1e12)
    return tracks + changes.finished, minutes + changes.minutes


def run(sequences: int, seconds: int, people_per: int, seed: int, data: Path) -> dict[str, Any]:
    """Every sequence through the analyzer and the tracker; the figures over all of them."""
    rng = random.Random(seed)
    faces = [face for face, _ in load_test_faces(data, sequences * people_per)]
    analyzer = ImageAnalyzer()
    totals = {"people": 0, "tracks": 0, "switches": 0, "split_people": 0, "replay_identical": 0}
    dwell_errors: list[float] = []
    count_errors = []
    for s in range(sequences):
        camera = f"seq-{s}"
        people = make_people(rng, faces, seconds, people_per, s * people_per)
        background = alternating_background(np.random.default_rng(seed + s), s, WIDTH, HEIGHT)
        frames = []
        owners_by_track: dict[str, list[int | None]] = {}
        tracker = Tracker(camera)  # the committed path, in capture order, to see which face each track took
        for second in range(seconds):
            frame, _ = analysed_frame(analyzer, camera, second, render(second, people, background))
            frames.append(frame)
            tracker.step(frame)
            for track_id, index in tracker.last_assignment.items():
                face = frame.faces[index]
                centre = (face.centre[0] * WIDTH, face.centre[1] * HEIGHT)
                owners_by_track.setdefault(track_id, []).append(owner(centre, face.height * HEIGHT, people, second))
        tracks, minutes = replay(frames, camera)
        shuffled = frames + frames
        jitter = random.Random(seed * 1000 + s)
        shuffled.sort(key=lambda f: f.captured_at + jitter.uniform(0, SHUFFLE_S))
        again_tracks, again_minutes = replay(shuffled, camera)
        signature = lambda ts: sorted((t.track_id, t.frames, t.dwell_s, t.attention_s) for t in ts)  # noqa: E731
        totals["replay_identical"] += int(signature(tracks) == signature(again_tracks) and minutes == again_minutes)
        visible = {p.index: [t for t in range(seconds) if p.box(t) is not None] for p in people}
        truth = {i: ts for i, ts in visible.items() if ts}
        totals["people"] += len(truth)
        totals["tracks"] += len(tracks)
        count_errors.append(len(tracks) - len(truth))
        # A track's faces in order, each with its owner: switches where the owner changes.
        owners_of: dict[int, list[int]] = {}
        for track in tracks:
            sequence = [o for o in owners_by_track.get(track.track_id, []) if o is not None]
            totals["switches"] += sum(1 for a, b in itertools.pairwise(sequence) if a != b)
            for person in set(sequence):
                owners_of.setdefault(person, []).append(len([o for o in sequence if o == person]))
            main = max(set(sequence), key=sequence.count) if sequence else None
            if main is not None and main in truth and len(owners_of[main]) == 1:
                dwell_errors.append(abs(track.dwell_s - (truth[main][-1] - truth[main][0])))
        totals["split_people"] += sum(1 for person, parts in owners_of.items() if person in truth and len(parts) > 1)
        print(f"sequence {s}: {len(truth)} people, {len(tracks)} tracks", file=sys.stderr)
    return {
        "sequences": sequences,
        "seconds": seconds,
        "people_per_sequence": people_per,
        **totals,
        "count_error_pct": round(100 * (totals["tracks"] - totals["people"]) / max(1, totals["people"]), 2),
        "mean_abs_count_error_per_sequence": round(float(np.mean(np.abs(count_errors))), 2),
        "identity_switches_per_track_pct": round(100 * totals["switches"] / max(1, totals["tracks"]), 2),
        "dwell_abs_error_s": {
            "mean": round(float(np.mean(dwell_errors)), 2),
            "p90": round(float(np.percentile(dwell_errors, 90)), 2),
        }
        if dwell_errors
        else None,
        "replay_twice_shuffled_2s_identical_sequences": f"{totals['replay_identical']}/{sequences}",
    }


def main(argv: list[str] | None = None) -> int:
    """Run and print (and write) the JSON report."""
    from training.options import DEFAULT_DATA

    parser = argparse.ArgumentParser(prog="python -m bench.tracking", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--people", type=int, default=8, help="people per sequence")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    add_json_option(parser, "tracking")
    args = parser.parse_args(argv)
    return report(run(args.sequences, args.seconds, args.people, args.seed, args.data), "tracking", argv, args.json)


if __name__ == "__main__":
    sys.exit(main())
