"""Tracks without identity, one camera's ordered state, and the audience records."""

from __future__ import annotations

import random

from agegender.frame_message import Face, Frame, parse_frame
from audience.camera import CameraSettings, CameraState
from audience.records import minute_record, track_record
from audience.tracker import Tracker

T0 = 1_795_780_800.0  # 2026-11-27T12:00:00Z, a minute boundary


def face(
    x: float, y: float = 0.4, size: float = 0.08, *, gender="Female", age=31.0, attentive=True, appearance=()
) -> Face:
    return Face(
        x - size / 2,
        y - size / 2,
        size,
        size * 1.2,
        True,
        gender,
        95.0,
        age,
        "adult" if age >= 20 else "teen",
        attentive,
        appearance=appearance,
    )


def frame(t: float, *faces: Face, camera: str = "door") -> Frame:
    return Frame(camera, f"{camera}-{t:.3f}", T0 + t, tuple(faces))


def walk(start: float, end: float, x0: float, dx: float, **kwargs) -> dict[float, Face]:
    """A person's faces at 1 fps from ``start`` to ``end`` (seconds), moving ``dx`` a second."""
    return {t: face(x0 + dx * (t - start), **kwargs) for t in range(int(start), int(end) + 1)}


def frames_of(*people: dict[float, Face], until: int = 40) -> list[Frame]:
    return [frame(t, *(p[t] for p in people if t in p)) for t in range(until)]


def run(frames: list[Frame], settings: CameraSettings | None = None) -> tuple[list, list, CameraState]:
    state = CameraState("door", settings)
    finished, minutes = [], []
    for f in frames:
        changes = state.add(f)
        finished += changes.finished
        minutes += changes.minutes
    changes = state.sweep(T0 + 3600)
    return finished + changes.finished, minutes + changes.minutes, state


def test_two_people_crossing_stay_two_tracks():
    left = walk(0, 12, 0.2, 0.05)
    right = walk(2, 14, 0.8, -0.05, gender="Male", age=45)
    finished, _, _ = run(frames_of(left, right))
    assert len(finished) == 2
    by_start = sorted(finished, key=lambda t: t.first_seen)
    assert by_start[0].dwell_s == 12
    assert by_start[0].gender == "Female"
    assert by_start[1].gender == "Male"
    assert by_start[1].dwell_s == 12


def test_a_short_gap_keeps_the_track_and_a_long_one_splits_it():
    person = walk(0, 20, 0.5, 0.0)
    gappy = {t: f for t, f in person.items() if t not in (5, 6)}  # missed twice: one person
    assert len(run(frames_of(gappy))[0]) == 1
    away = {t: f for t, f in person.items() if not 6 <= t <= 12}  # gone 7 s: two passages
    assert len(run(frames_of(away))[0]) == 2


def test_attention_time_counts_the_intervals_looked_at():
    person = walk(0, 10, 0.5, 0.0)
    for t in (4, 5, 6):
        person[t] = face(0.5, attentive=False)
    (track,), _, _ = run(frames_of(person))
    assert track.dwell_s == 10
    assert track.attention_s == 7  # 0-3 and 7-10 fully (6 s), 3-4 and 6-7 half each (1 s)
    assert track.watcher


def test_redelivered_and_shuffled_frames_change_nothing():
    people = [walk(0, 15, 0.1, 0.04), walk(5, 25, 0.9, -0.03, gender="Male", age=50), walk(30, 50, 0.5, 0.0)]
    frames = frames_of(*people, until=70)
    expected = run(frames)
    shuffled = list(frames) + list(frames)  # every message twice
    rng = random.Random(3)
    shuffled.sort(key=lambda f: f.captured_at + rng.uniform(0, 2.0))  # and reordered within 2 s
    again = run(shuffled)
    key = lambda t: (t.track_id, t.first_seen, t.last_seen, t.frames, t.attention_s, t.gender)  # noqa: E731
    assert sorted(map(key, again[0])) == sorted(map(key, expected[0]))
    assert again[1] == expected[1]
    assert again[2].duplicate_frames == len(frames)
    assert again[2].late_frames == 0


def test_frames_too_late_are_dropped_and_counted():
    state = CameraState("door", CameraSettings(reorder_window_s=2.0))
    for t in range(10):
        state.add(frame(t, face(0.5)))
    assert state.add(frame(3.5, face(0.5))).late
    assert state.late_frames == 1


def test_minutes_count_people_watchers_and_mix():
    woman = walk(50, 70, 0.3, 0.0)
    man = walk(55, 65, 0.7, 0.0, gender="Male", age=70, attentive=False)
    _, minutes, _ = run(frames_of(woman, man, until=90))
    first, second = minutes[:2]
    assert (first["minute"], first["opportunities_to_see"], first["watchers"]) == (T0, 2, 1)
    assert first["mix"] == {"adult|Female": 1, "adult|Male": 1}
    assert (second["minute"], second["opportunities_to_see"], second["watchers"]) == (T0 + 60, 2, 1)


def test_live_tracks_include_pending_frames():
    state = CameraState("door", CameraSettings(reorder_window_s=3.0))
    state.add(frame(0, face(0.5)))
    presence = state.live()
    tracks, newest = presence.tracks, presence.newest
    assert len(tracks) == 1
    assert newest == T0
    assert not state.tracker.tracks  # nothing committed yet


def test_state_round_trips_through_json():
    state = CameraState("door")
    for t in range(8):
        state.add(frame(t, face(0.2 + 0.05 * t), face(0.8)))
    copy = CameraState.from_dict(state.to_dict())
    assert copy.to_dict() == state.to_dict()
    assert copy.add(frame(7, face(0.55))).duplicate


def test_records_are_partitioned_by_camera_and_date():
    (track,), minutes, _ = run(frames_of(walk(0, 5, 0.5, 0.0), until=10))
    key, record = track_record("door", track)
    assert key == f"audience/camera=door/date=2026-11-27/track-{track.track_id}.json"
    assert record["dwell_s"] == 5
    assert record["gender"] == "Female"
    key, record = minute_record(minutes[0])
    assert key == "audience/camera=door/date=2026-11-27/minute-1200.json"
    assert record["opportunities_to_see"] == 1


def test_frames_parse_from_the_inference_summary():
    summary = {
        "FrameId": "abc",
        "Camera": {"Id": "door", "CapturedAt": "2026-11-27T12:00:05.250Z"},
        "Source": {"Key": "cameras/door/x.jpg"},
        "Result": {"Key": "results/x.json"},
        "Error": None,
        "Faces": [
            {
                "BoundingBox": {"Left": 0.1, "Top": 0.2, "Width": 0.1, "Height": 0.12},
                "Classified": True,
                "Gender": "Male",
                "GenderConfidence": 91.0,
                "Age": 33.0,
                "AgeGroup": "adult",
                "Attention": True,
            }
        ],
    }
    parsed = parse_frame(summary)
    assert parsed.camera == "door"
    assert parsed.captured_at == T0 + 5.25
    assert parsed.faces[0].attentive
    assert parsed.faces[0].centre == (0.15000000000000002, 0.26)


def test_the_tracker_never_links_faces_of_very_different_size():
    tracker = Tracker("door")
    tracker.step(frame(0, face(0.5, size=0.05)))
    seen, _ = tracker.step(frame(1, face(0.5, size=0.2)))
    assert len(tracker.tracks) == 2
    assert seen[0].frames == 1


def test_a_frame_still_on_its_way_is_known_to_be_missing():
    state = CameraState("door")
    for t in range(6):
        state.add(frame(t, face(0.5)))
    assert not state.live().frame_missing
    state.add(frame(8, face(0.5)))  # 6 and 7 are late: one of them may hold a child
    assert state.live().frame_missing
    state.add(frame(7, face(0.5)))
    assert state.live().frame_missing
    state.add(frame(6, face(0.5, age=8.0)))
    assert not state.live().frame_missing
    jittery = CameraState("jitter")
    for t in (0, 1.08, 1.95, 3.1, 3.9, 5.07, 6.0):  # +-100 ms of capture jitter is no missing frame
        jittery.add(frame(t, face(0.5)))
        assert not jittery.live().frame_missing


def _faces_of(*people: dict[float, Face]) -> list[Frame]:
    times = sorted({t for p in people for t in p})
    return [frame(t, *(p[t] for p in people if t in p)) for t in times]


def test_walking_in_and_stopping_or_standing_then_leaving_is_one_person():
    height = 0.08 * 1.2 / (16 / 9)  # a face height in ratios of the frame's width
    stops = {t: face(0.1 + min(t, 4) * 3 * height) for t in range(12)}  # 3 face heights a second, then still
    leaves = {t: face(0.3 + max(0, t - 6) * 4 * height) for t in range(10)}  # still, then 4 heights a second
    assert len(run(_faces_of(stops))[0]) == 1
    assert len(run(_faces_of(leaves))[0]) == 1


def test_fast_walkers_in_single_file_keep_their_own_tracks():
    height = 0.08 * 1.2 / (16 / 9)
    speed = 4.5 * height  # face heights a second, at 1 frame a second
    first = {t: face(0.05 + speed * t, appearance=(9,) * 12 + (1,) * 12) for t in range(6)}
    second = {t: face(0.05 + speed * (t - 1.5), appearance=(1,) * 12 + (9,) * 12) for t in range(2, 8)}
    finished, _, _ = run(_faces_of(first, second))
    assert sorted(t.frames for t in finished) == [6, 6]


def test_a_newcomer_where_someone_just_left_gets_a_new_track():
    gone = {t: face(0.5, appearance=(9,) * 12 + (1,) * 12) for t in range(6)}
    newcomer = {t: face(0.52, appearance=(1,) * 12 + (9,) * 12) for t in range(9, 16)}  # 3 s later, same spot
    finished, _, _ = run(_faces_of(gone, newcomer))
    assert sorted(t.frames for t in finished) == [6, 7]


def test_a_turning_head_and_a_one_frame_glitch_stay_in_the_track():
    person = {t: face(0.5, size=0.05 if 4 <= t <= 6 else 0.08) for t in range(12)}  # the box shrinks to 0.6
    assert len(run(_faces_of(person))[0]) == 1
    glitch = {0: face(0.9)}  # one stray detection: never a person
    assert len(run(_faces_of(person, glitch))[0]) == 1


def test_capture_jitter_does_not_decide_whether_a_track_ends():
    rng = random.Random(3)
    person = {t + rng.uniform(-0.1, 0.1): face(0.5) for t in range(0, 30, 3)}  # every third frame lost
    assert len(run(_faces_of(person))[0]) == 1
