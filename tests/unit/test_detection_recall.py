"""The camera-frame bench's paired gap between the two crop paths (bench.detection_recall)."""

import pytest

from bench.detection_recall import paired_gap


def test_only_the_faces_the_paths_disagree_on_move_the_gap():
    reference = [True] * 90 + [True] * 6 + [False] * 2 + [False] * 2
    candidate = [True] * 90 + [False] * 6 + [True] * 2 + [False] * 2
    gap = paired_gap(reference, candidate)
    assert gap["gap"] == pytest.approx(4.0)
    assert (gap["faces_only_reference_right"], gap["faces_only_candidate_right"]) == (6, 2)
    assert gap["low"] < 4.0 < gap["high"]
    assert gap["high"] - gap["low"] == pytest.approx(2 * 1.96 * ((8 / 100 - 0.04**2) / 100) ** 0.5 * 100, abs=0.02)


def test_identical_answers_have_no_gap_and_no_spread():
    same = [True, False, True, True]
    assert paired_gap(same, same)["low"] == paired_gap(same, same)["high"] == 0.0
    assert paired_gap([], []) is None


def test_more_faces_narrow_the_interval():
    small = paired_gap([True] * 95 + [False] * 5, [False] * 5 + [True] * 95)
    large = paired_gap([True] * 950 + [False] * 50, [False] * 50 + [True] * 950)
    assert small["gap"] == large["gap"] == 0.0
    assert large["high"] - large["low"] < (small["high"] - small["low"]) / 3
