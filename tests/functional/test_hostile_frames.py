"""Generated hostile messages through the audience stage's handlers (bench.hostile_frames, a few hundred here).

``python -m bench.hostile_frames`` runs 5,000 and times a frame with 1,000 displays.
"""

from __future__ import annotations

import os

from bench.hostile_frames import run_messages

MESSAGES = int(os.environ.get("AGEGENDER_HOSTILE_MESSAGES", "300"))


def test_no_hostile_message_breaks_an_invariant():
    result = run_messages(MESSAGES, rng_seed=28)
    assert result["violations"] == []
    assert result["messages"] >= MESSAGES
    assert result["frames_taken_in"] + sum(result["skipped"].values()) == result["messages"]
    assert result["frames_taken_in"] > MESSAGES // 10  # the stage did real work, not only skipping
    assert {"NotJson", "InvalidCameraId", "BadCaptureTime"} <= set(result["skipped"])
