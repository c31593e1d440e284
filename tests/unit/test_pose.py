"""Head pose from five keypoints: known rotations come back, signs follow the documented convention."""

import numpy as np
import pytest

from agegender.faces import TEMPLATE
from agegender.pose import FACE_MODEL, AttentionLimits, Pose, estimate_pose, rotation


def projected(yaw, pitch, roll, scale=90.0, offset=(320.0, 240.0)):
    return (FACE_MODEL @ rotation(yaw, pitch, roll).T)[:, :2] * scale + offset


def test_the_median_utkface_face_is_near_frontal():
    pose = estimate_pose(TEMPLATE * 200)
    assert max(abs(pose.yaw), abs(pose.pitch)) < 3
    assert pose.roll == pytest.approx(-1.45, abs=0.3)  # UTKFace's median roll (bench/results/face_template.json)


@pytest.mark.parametrize("angles", [(30, 0, 0), (0, 20, 0), (0, 0, -15), (-45, -15, 10), (60, 10, 25)])
def test_known_rotations_come_back(angles):
    pose = estimate_pose(projected(*angles))
    assert (pose.yaw, pose.pitch, pose.roll) == pytest.approx(angles, abs=1e-6)


def test_signs_follow_the_camera_view():
    # Turned towards the image's right: the nose moves right of the eyes' midpoint.
    points = projected(0, 0, 0)
    points[2, 0] += 8
    assert estimate_pose(points).yaw > 10
    # Chin up: the nose rises towards the eyes.
    points = projected(0, 0, 0)
    points[2, 1] -= 6
    assert estimate_pose(points).pitch > 5
    # A mirrored face has the opposite yaw and roll.
    turned = projected(20, 5, 8)
    mirrored = turned.copy()
    mirrored[:, 0] = -mirrored[:, 0]
    mirrored = mirrored[[1, 0, 2, 4, 3]]  # left and right swap names in a mirror
    flipped = estimate_pose(mirrored)
    assert (flipped.yaw, flipped.pitch, flipped.roll) == pytest.approx((-20, 5, -8), abs=1e-6)


def test_noise_of_the_detectors_size_keeps_the_angle_within_a_few_degrees():
    rng = np.random.default_rng(0)
    errors = []
    for _ in range(200):
        yaw = rng.uniform(-40, 40)
        points = projected(yaw, 0, 0, scale=60) + rng.normal(0, 0.04 * 60, size=(5, 2))
        errors.append(abs(estimate_pose(points).yaw - yaw))
    assert np.median(errors) < 6


def test_attention_limits():
    limits = AttentionLimits(yaw=25, pitch=20)
    assert limits.attentive(Pose(yaw=-24.9, pitch=19, roll=40))
    assert not limits.attentive(Pose(yaw=30, pitch=0, roll=0))
    assert not limits.attentive(Pose(yaw=0, pitch=-21, roll=0))
