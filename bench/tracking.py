"""People counting on synthetic shop sequences with known people, per behaviour and per frame rate.

    python -m bench.tracking [--rates 1 2 5] [--sequences 2] [--seed 31] [--json bench/results/tracking.json]

Each sequence is 1280x720 frames of a drawn shop (shelves before a textured or plain wall). People
are UTKFace test-split faces (needs the archive) on drawn bodies (a shirt and trousers of their own
colours under the face), 60-160 px faces. The behaviours, one kind per sequence:

- ``walk_in_stop``: walks in from a side and stops in front of the display;
- ``stand_leave``: stands, then walks off;
- ``walkers``: walkers at 1.5-5 face heights a second, alone;
- ``crossing``: two people crossing each other at different depths (face sizes);
- ``single_file``: two walking the same way, one a second or two behind the other;
- ``side_by_side``: two walking together;
- ``replacement``: one stands and leaves, another steps up at the same spot 2-6 s later;
- ``head_turn``: people turning their heads to 60-70 degrees and back (the face narrows);
- ``occlusion``: a nearer walker passes in front of someone standing;
- ``mixed``: eight people doing all of the above in 90 s (the hardest, and the closest to a shop).

Capture times carry +-100 ms of jitter. Every frame goes through the real path: the analyzer
(detector, classifier, pose, the colour histograms), the result document and frame summary,
``agegender.frame_message.parse_frame`` and the tracker. The truth per person: the frames where their face is
in view and not mostly hidden; a detection belongs to the person whose face centre is nearest
(within half a face height); a person is a watcher when any of their detections was attentive (so
the figure measures the tracking, not the pose estimate).

Reported per behaviour and rate: people, people counted (confirmed tracks), people tracked cleanly
(all their faces in one track that holds nobody else's), identity switches per person, IDF1, the
mean absolute dwell error of each person's main track, watchers against the truth; and whether
replaying every message twice, shuffled within 2 s, changes any track or minute count.
"""

from __future__ import annotations

import argparse
import io
import itertools
import math
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from agegender.analyzer import ImageAnalyzer
from agegender.capture import camera_block
from agegender.events import S3ObjectRef
from agegender.frame_message import Frame, frame_id, parse_frame
from agegender.results import result_document
from agegender.summary import result_summary
from audience.assignment import assign
from audience.camera import CameraState
from audience.tracker import Track, Tracker
from bench import add_json_option, report
from bench.detection_recall import alternating_background, load_test_faces

WIDTH, HEIGHT = 1280, 720
T0 = 1_795_780_800.0  # 2026-11-27T12:00:00Z
JITTER_S = 0.1
SHUFFLE_S = 2.0
BEHAVIOURS = ("walk_in_stop", "stand_leave", "walkers", "crossing", "single_file", "side_by_side",
              "replacement", "head_turn", "occlusion", "mixed")  # fmt: skip


@dataclass
class Person:
    """One synthetic person: a face, a shirt, and where the face is (centre, height in px) at each moment."""

    index: int
    face: Image.Image
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    height: float
    path: Callable[[float], tuple[float, float] | None]  # seconds -> face centre, None when not there
    turned: list[tuple[float, float]] = field(default_factory=list)  # intervals with the head turned away

    def is_turned(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.turned)

    def box(self, t: float) -> tuple[float, float, float, float] | None:
        """The face box (left, top, width, height in px) at ``t``, None when out of the frame."""
        centre = self.path(t)
        if centre is None:
            return None
        height = self.height * (0.8 if self.is_turned(t) else 1.0)  # a turned head's box is smaller ...
        width = self.height * (0.5 if self.is_turned(t) else 1.0)  # ... and much narrower
        left, top = centre[0] - width / 2, centre[1] - height / 2
        inside = left >= 0 and top >= 0 and left + width <= WIDTH and top + height <= HEIGHT
        return (left, top, width, height) if inside else None


def segment_path(points: list[tuple[float, float, float]]) -> Callable[[float], tuple[float, float] | None]:
    """A path through ``(time, x, y)`` points, straight between them, absent before the first and after the last."""

    def at(t: float) -> tuple[float, float] | None:
        if t < points[0][0] or t > points[-1][0]:
            return None
        for (t0, x0, y0), (t1, x1, y1) in itertools.pairwise(points):
            if t0 <= t <= t1:
                share = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                return x0 + (x1 - x0) * share, y0 + (y1 - y0) * share
        return points[-1][1], points[-1][2]

    return at


def walk(
    start: float, speed_heights: float, height: float, y: float, direction: int
) -> list[tuple[float, float, float]]:
    """The two ends (time, x, y) of a walk across the frame, rightwards for ``direction`` 1, leftwards for -1."""
    x0, x1 = (-height, WIDTH + height) if direction > 0 else (WIDTH + height, -height)
    return [(start, x0, y), (start + abs(x1 - x0) / (speed_heights * height), x1, y)]


class Cast:
    """Draws people for one sequence: faces from the test split, colours and sizes from the seed."""

    def __init__(self, rng: random.Random, faces: list[Image.Image]) -> None:
        self.rng, self.faces = rng, faces
        self.people: list[Person] = []

    def add(self, points: list[tuple[float, float, float]], height: float, turned=()) -> Person:
        """A person along ``points`` (time, x, y), with their own face and colours."""
        return self.adopt(segment_path(points), height, list(turned))

    def adopt(self, path: Callable[[float], tuple[float, float] | None], height: float, turned: list) -> Person:
        """A person along any path."""

        def colour() -> tuple[int, int, int]:
            return self.rng.randint(20, 235), self.rng.randint(20, 235), self.rng.randint(20, 235)

        face = self.faces[len(self.people) % len(self.faces)]
        person = Person(len(self.people), face, colour(), colour(), height, path, turned)
        self.people.append(person)
        return person

    def walker(self, start: float, speed_heights: float, height: float, y: float, direction: int = 0) -> Person:
        """Across the frame at ``speed_heights`` face heights a second, from the left or the right."""
        direction = direction or self.rng.choice([-1, 1])
        return self.add(walk(start, speed_heights, height, y, direction), height)


def scenario(kind: str, rng: random.Random, faces: list[Image.Image]) -> tuple[list[Person], float]:
    """The people of one sequence of a behaviour, and its length in seconds."""
    cast, r = Cast(rng, faces), rng
    h = lambda: r.uniform(70, 150)  # noqa: E731
    y = lambda: r.uniform(0.3, 0.6) * HEIGHT  # noqa: E731
    if kind == "walk_in_stop":
        for i in range(3):
            size, start, spot = h(), 2 + 14 * i, r.uniform(0.3, 0.7) * WIDTH
            side = r.choice([-1, 1])
            x0 = -size if side < 0 else WIDTH + size
            arrive = start + abs(spot - x0) / (r.uniform(2, 4) * size)
            cast.add([(start, x0, y()), (arrive, spot, y()), (arrive + r.uniform(6, 10), spot, y())], size)
        return cast.people, 50
    if kind == "stand_leave":
        for i in range(3):
            size, start, spot = h(), 1 + 14 * i, r.uniform(0.3, 0.7) * WIDTH
            leave = start + r.uniform(5, 9)
            exit_x = -size if r.random() < 0.5 else WIDTH + size
            cast.add([(start, spot, y()), (leave, spot, y()), (leave + abs(exit_x - spot) / (r.uniform(2, 4) * size),
                      exit_x, y())], size)  # fmt: skip
        return cast.people, 50
    if kind == "walkers":
        for i in range(5):
            cast.walker(1 + 8 * i, r.uniform(1.5, 5.0), h(), y())
        return cast.people, 50
    if kind == "crossing":
        for i in range(3):
            near, far = r.uniform(120, 160), r.uniform(60, 80)
            yy = y()
            cast.walker(2 + 14 * i, r.uniform(1.5, 3), near, yy + 30, direction=1)
            cast.walker(2 + 14 * i, r.uniform(2.5, 5), far, yy - 20, direction=-1)
        return cast.people, 50
    if kind == "single_file":
        for i in range(2):
            size, speed, yy, d = h(), r.uniform(1.5, 3.5), y(), r.choice([-1, 1])
            cast.walker(2 + 20 * i, speed, size, yy, direction=d)
            cast.walker(2 + 20 * i + r.uniform(1.0, 2.0), speed, size, yy + r.uniform(-10, 10), direction=d)
        return cast.people, 50
    if kind == "side_by_side":
        for i in range(2):
            size, speed, yy, d = h(), r.uniform(1.5, 3.5), y(), r.choice([-1, 1])
            path = walk(2 + 20 * i, speed, size, yy, d)
            cast.add(path, size)
            beside = [(t, x - d * 1.4 * size, y_ + r.uniform(-15, 15)) for t, x, y_ in path]  # 1.4 faces behind
            cast.add(beside, size * r.uniform(0.9, 1.1))
        return cast.people, 50
    if kind == "replacement":
        for i in range(3):
            size, spot, yy, start = h(), r.uniform(0.3, 0.7) * WIDTH, y(), 1 + 15 * i
            leave = start + r.uniform(5, 8)
            cast.add([(start, spot, yy), (leave, spot, yy)], size)
            back = leave + r.uniform(2, 6)
            cast.add(
                [(back, spot + r.uniform(-0.3, 0.3) * size, yy), (back + r.uniform(4, 7), spot, yy)],
                size * r.uniform(0.9, 1.1),
            )
        return cast.people, 50
    if kind == "head_turn":
        for i in range(3):
            size, start = h(), 2 + 14 * i
            spot = r.uniform(0.3, 0.7) * WIDTH
            turn = start + r.uniform(2, 4)
            cast.add([(start, spot, y()), (start + 10, spot + r.uniform(-1, 1) * size, y())], size,
                     turned=[(turn, turn + r.uniform(2, 4))])  # fmt: skip
        return cast.people, 50
    if kind == "occlusion":
        for i in range(3):
            far, start, spot, yy = r.uniform(60, 90), 2 + 14 * i, r.uniform(0.35, 0.65) * WIDTH, y()
            cast.add([(start, spot, yy), (start + 11, spot, yy)], far)
            near = r.uniform(140, 170)
            speed = r.uniform(2.5, 4.0)
            x0 = -near
            pass_at = start + 4
            cast.add([(pass_at - (spot - x0) / (speed * near), x0, yy + 10),
                      (pass_at + (WIDTH + near - spot) / (speed * near), WIDTH + near, yy + 10)], near)  # fmt: skip
        return cast.people, 50
    if kind == "mixed":
        for i in range(8):
            sub = r.choice(BEHAVIOURS[:-1])
            people, _ = scenario(sub, random.Random(r.random()), faces[(i * 3) % len(faces) :] or faces)
            person, shift = people[0], r.uniform(0, 60)
            shifted = (lambda p, s: lambda t: p(t - s))(person.path, shift)
            cast.adopt(shifted, person.height, [(a + shift, b + shift) for a, b in person.turned])
        return cast.people, 90
    raise ValueError(kind)


def render(t: float, people: list[Person], background: Image.Image) -> Image.Image:
    """The frame at ``t``: bodies and faces, smaller (farther) people first, so nearer ones hide them."""
    frame = background.copy()
    draw = ImageDraw.Draw(frame)
    for person in sorted(people, key=lambda p: p.height):
        box = person.box(t)
        centre = person.path(t)
        if box is None or centre is None:
            continue
        left, top, width, height = box
        size = person.height
        body_left, body_top = centre[0] - 0.8 * size, top + height + 0.05 * size
        draw.rectangle([body_left, body_top, body_left + 1.6 * size, body_top + 1.6 * size], fill=person.shirt)
        draw.rectangle([body_left + 0.2 * size, body_top + 1.6 * size, body_left + 1.4 * size, body_top + 3.0 * size],
                       fill=person.trousers)  # fmt: skip
        frame.paste(person.face.resize((max(1, round(width)), max(1, round(height)))), (round(left), round(top)))
    return frame


def _hidden(person: Person, t: float, people: list[Person]) -> bool:
    """Over half of the face is behind a nearer (larger) person's face or body."""
    box = person.box(t)
    if box is None:
        return True
    left, top, width, height = box
    for other in people:
        other_box, centre = other.box(t), other.path(t)
        if other is person or other.height <= person.height or other_box is None or centre is None:
            continue
        ol, ot, ow, oh = other_box
        regions = [(ol, ot, ow, oh), (centre[0] - 0.8 * other.height, ot + oh, 1.6 * other.height, 3.0 * other.height)]
        for rl, rt, rw, rh in regions:
            overlap = max(0.0, min(left + width, rl + rw) - max(left, rl)) * max(
                0.0, min(top + height, rt + rh) - max(top, rt)
            )
            if overlap > 0.5 * width * height:
                return True
    return False


def analysed_frame(analyzer: ImageAnalyzer, camera: str, t: float, image: Image.Image) -> Frame:
    """The frame as the audience stage receives it, through the runtime's analysis and frame summary."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    analysis = analyzer.analyze(buffer.getvalue(), appearance=True)
    key = f"cameras/{camera}/{int((T0 + t) * 1000)}.jpg"
    document = result_document(
        source={}, model={}, image=analysis.image, faces=analysis.faces, camera=camera_block(key, None, None, None)
    )
    summary = result_summary(document, source=S3ObjectRef("bench", key), result_bucket="bench", result_key=key,
                             appearance=analysis.appearance)  # fmt: skip
    summary["FrameId"] = frame_id(summary)
    return parse_frame(summary)


def owner(frame: Frame, index: int, people: list[Person], t: float) -> int | None:
    """The person a detection belongs to: the nearest visible (not mostly hidden) face centre within half a
    face height.
    """
    face = frame.faces[index]
    cx, cy = face.centre[0] * WIDTH, face.centre[1] * HEIGHT
    best, best_d = None, 0.5 * face.height * HEIGHT
    for person in people:
        box = person.box(t)
        if box is None or _hidden(person, t, people):
            continue
        d = math.hypot(box[0] + box[2] / 2 - cx, box[1] + box[3] / 2 - cy)
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


def score(
    tracks: list[Track],
    owners: dict[str, list[int | None]],
    visible: dict[int, list[float]],
    attentive: dict[int, bool],
) -> dict[str, Any]:
    """Counts, clean tracking, switches, IDF1, dwell and watchers for one sequence."""
    truth = {i for i, seen in visible.items() if seen}
    faces_of = {t.track_id: [o for o in owners.get(t.track_id, []) if o is not None] for t in tracks}
    per_person: dict[int, Counter] = {i: Counter() for i in truth}
    switches = 0
    for track_id, sequence in faces_of.items():
        switches += sum(1 for a, b in itertools.pairwise(sequence) if a != b)
        for o in sequence:
            if o in per_person:
                per_person[o][track_id] += 1
    clean = sum(1 for i, parts in per_person.items() if len(parts) == 1 and set(faces_of[next(iter(parts))]) == {i})
    # IDF1: the best one-to-one pairing of people and tracks by shared detections.
    ids = sorted(truth)
    track_ids = [t.track_id for t in tracks]
    costs = [[-float(per_person[i][tid]) if per_person[i][tid] else None for tid in track_ids] for i in ids]
    matched = sum(per_person[ids[r]][track_ids[c]] for r, c in assign(costs, len(track_ids), 0.0, 0.0))
    detections_truth = sum(sum(p.values()) for p in per_person.values())
    detections_tracks = sum(len(s) for s in faces_of.values())
    dwell_errors = []
    by_id = {t.track_id: t for t in tracks}
    for i, parts in per_person.items():
        if parts:
            main = by_id[parts.most_common(1)[0][0]]
            dwell_errors.append(abs(main.dwell_s - (visible[i][-1] - visible[i][0])))
    return {
        "people": len(truth),
        "counted": len(tracks),
        "clean": clean,
        "switches": switches,
        "idtp": matched,
        "detections": detections_truth + detections_tracks,
        "dwell_errors": dwell_errors,
        "watchers_truth": sum(1 for i in truth if attentive.get(i)),
        "watchers": sum(1 for t in tracks if t.watcher),
    }


def run_sequence(
    kind: str, rate: float, seed: int, faces: list[Image.Image], analyzer: ImageAnalyzer
) -> dict[str, Any]:
    """One sequence of a behaviour at ``rate`` frames a second; its scores and whether a shuffled replay matched."""
    rng = random.Random(seed)
    people, seconds = scenario(kind, rng, faces)
    background = alternating_background(np.random.default_rng(seed), seed, WIDTH, HEIGHT)
    shelves = ImageDraw.Draw(background)
    for shelf in range(3):
        top = 60 + shelf * 70
        shelves.rectangle([0, top, WIDTH, top + 12], fill=(90, 70, 50))
    camera = f"{kind}-{rate:g}-{seed}"
    tracker = Tracker(camera)
    frames: list[Frame] = []
    owners: dict[str, list[int | None]] = {}
    visible: dict[int, list[float]] = {p.index: [] for p in people}
    attentive: dict[int, bool] = {}
    jitter = random.Random(seed + 1)
    tracks: list[Track] = []
    for n in range(int(seconds * rate)):
        t = n / rate + jitter.uniform(-JITTER_S, JITTER_S)
        for p in people:
            if not _hidden(p, t, people):
                visible[p.index].append(t)
        frame = analysed_frame(analyzer, camera, t, render(t, people, background))
        frames.append(frame)
        tracks += tracker.step(frame)[1]
        for track_id, index in tracker.last_assignment.items():
            who = owner(frame, index, people, t)
            owners.setdefault(track_id, []).append(who)
            if who is not None:  # a watcher, by the analyzer's own attention on that person's faces
                attentive[who] = attentive.get(who, False) or frame.faces[index].attentive
    tracks += tracker.end_idle(math.inf)
    result = score(tracks, owners, visible, attentive)
    first, minutes = replay(frames, camera)
    doubled = frames + frames
    shuffle = random.Random(seed * 7)
    doubled.sort(key=lambda f: f.captured_at + shuffle.uniform(0, SHUFFLE_S))
    again, again_minutes = replay(doubled, camera)
    signature = lambda ts: sorted((t.track_id, t.frames, round(t.dwell_s, 3)) for t in ts)  # noqa: E731
    result["replay_identical"] = signature(first) == signature(again) and minutes == again_minutes
    return result


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of several sequences together."""
    people = sum(r["people"] for r in rows)
    counted = sum(r["counted"] for r in rows)
    dwell = [e for r in rows for e in r["dwell_errors"]]
    watchers_truth = sum(r["watchers_truth"] for r in rows)
    return {
        "people": people,
        "counted": counted,
        "count_error_pct": round(100 * (counted - people) / max(1, people), 1),
        "clean_pct": round(100 * sum(r["clean"] for r in rows) / max(1, people), 1),
        "switches_per_person": round(sum(r["switches"] for r in rows) / max(1, people), 2),
        "idf1": round(2 * sum(r["idtp"] for r in rows) / max(1, sum(r["detections"] for r in rows)), 3),
        "dwell_abs_error_s": round(float(np.mean(dwell)), 2) if dwell else None,
        "watchers_error_pct": round(
            100 * (sum(r["watchers"] for r in rows) - watchers_truth) / max(1, watchers_truth), 1
        ),
        "replay_identical": f"{sum(r['replay_identical'] for r in rows)}/{len(rows)}",
    }


def run(rates: list[float], sequences: int, seed: int, data: Path, behaviours: list[str]) -> dict[str, Any]:
    """Every behaviour at every rate; per behaviour and rate, and over all behaviours per rate."""
    faces = [face for face, _ in load_test_faces(data, 60)]
    analyzer = ImageAnalyzer()
    by_rate: dict[str, Any] = {}
    for rate in rates:
        per_behaviour, everything = {}, []
        for kind in behaviours:
            rows = [run_sequence(kind, rate, seed + 100 * s + BEHAVIOURS.index(kind), faces, analyzer)
                    for s in range(sequences)]  # fmt: skip
            per_behaviour[kind] = summarise(rows)
            everything += rows
            print(f"{rate:g} fps {kind}: {per_behaviour[kind]}", file=sys.stderr)
        by_rate[f"{rate:g}"] = {"all": summarise(everything), "behaviours": per_behaviour}
    return {"sequences_per_behaviour": sequences, "jitter_s": JITTER_S, "rates": by_rate}


def main(argv: list[str] | None = None) -> int:
    """Run and print (and write) the JSON report."""
    from training.options import DEFAULT_DATA

    parser = argparse.ArgumentParser(prog="python -m bench.tracking", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[1.0, 2.0, 5.0])
    parser.add_argument("--sequences", type=int, default=2, help="sequences per behaviour and rate")
    parser.add_argument("--behaviours", nargs="+", default=list(BEHAVIOURS), choices=BEHAVIOURS)
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    add_json_option(parser, "tracking")
    args = parser.parse_args(argv)
    result = run(args.rates, args.sequences, args.seed, args.data, args.behaviours)
    return report(result, "tracking", argv, args.json)


if __name__ == "__main__":
    sys.exit(main())
