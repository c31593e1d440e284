"""Head pose (yaw, pitch, roll) from the detector's five keypoints, and whether the face looks at the camera.

Method: a rigid five-point face model (``FACE_MODEL``) is fitted to the keypoints under a
scaled orthographic camera (faces are small against their distance from the camera): a
linear least-squares start, then a Gauss-Newton step over the three angles alone (the scale
in closed form), so the fit cannot bend the face to absorb keypoint noise. The model's frontal layout is the
median UTKFace face (``agegender.faces.TEMPLATE``) levelled and made left-right symmetric, so
yaw = pitch = roll = 0 means a symmetric face posed like a typical UTKFace photo; its depths
are anthropometric averages (nose tip 0.43 eye distances in front of the eyes, mouth corners
0.03).

Angles, in degrees, from the camera's point of view as Rekognition reports them: ``Yaw`` > 0
when the face turns towards the image's right (the subject's left), ``Pitch`` > 0 when the
chin goes up, ``Roll`` > 0 when the face leans clockwise in the image. How accurate this is:
``python -m bench.pose_accuracy`` (faces of random shape projected at known angles, with the
detector's measured keypoint noise).

A face counts as attentive (looking at the camera, and so at a display beside it) when its
yaw and pitch are both within the configured limits (``AttentionLimits``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agegender.faces import TEMPLATE

#: Depth (towards the scene, in eye distances) of each keypoint relative to the eyes.
KEYPOINT_DEPTHS = np.array([0.0, 0.0, -0.43, -0.03, -0.03])


#: Keypoint order after a left-right mirror (the eyes swap, and the mouth corners).
MIRROR = [1, 0, 2, 4, 3]


def _face_model() -> np.ndarray:
    """The 3D five-point model: x right, y down (image axes), z away from the camera; eye distance 1."""
    dx, dy = TEMPLATE[1] - TEMPLATE[0]
    angle = -math.atan2(dy, dx)
    level = (TEMPLATE - TEMPLATE[:2].mean(axis=0)) @ np.array(
        [[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]]
    )
    mirrored = level[MIRROR] * (-1.0, 1.0)
    frontal = (level + mirrored) / 2 / math.hypot(dx, dy)
    model = np.column_stack([frontal, KEYPOINT_DEPTHS])
    return model - model.mean(axis=0)


FACE_MODEL = _face_model()
#: The model's pseudo-inverse, fixed once: the least-squares fit is then one small product.
_FIT = np.linalg.pinv(FACE_MODEL)


@dataclass(frozen=True)
class Pose:
    """Head rotation in degrees (see the module docstring for the signs)."""

    yaw: float
    pitch: float
    roll: float


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The rotation matrix ``Rz(roll) @ Ry(yaw) @ Rx(pitch)`` (degrees) in the model's axes."""
    y, p, r = (math.radians(a) for a in (yaw, pitch, roll))
    rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


#: Gauss-Newton steps after the linear start, and the finite-difference step (degrees). One step is as
#: accurate as six on ``python -m bench.pose_accuracy`` (median yaw error 4.8 degrees either way) at a third
#: of the time (0.4 against 1.2 ms a face, measured on a busy 2-vCPU machine).
REFINE_STEPS = 1
_STEP = 0.01


def _angles(matrix: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) in degrees of a rotation ``Rz(roll) @ Ry(yaw) @ Rx(pitch)``."""
    yaw = math.degrees(math.asin(float(np.clip(matrix[2, 0], -1.0, 1.0))))
    pitch = math.degrees(math.atan2(-matrix[2, 1], matrix[2, 2]))
    roll = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    return np.array([yaw, pitch, roll])


def _rotations(angles: np.ndarray) -> np.ndarray:
    """``rotation`` for each row of ``angles`` ``(k, 3)`` (yaw, pitch, roll in degrees) at once: ``(k, 3, 3)``."""
    y, p, r = np.radians(angles).T
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    # Rz(roll) @ Ry(yaw) @ Rx(pitch), written out.
    return np.stack(
        [
            np.stack([cr * cy, cr * sy * sp - sr * cp, -cr * sy * cp - sr * sp], axis=-1),
            np.stack([sr * cy, sr * sy * sp + cr * cp, -sr * sy * cp + cr * sp], axis=-1),
            np.stack([sy, -cy * sp, cy * cp], axis=-1),
        ],
        axis=1,
    )


def _residuals(angles: np.ndarray, centred: np.ndarray) -> np.ndarray:
    """For each row of ``angles``: keypoints minus the model so turned and scaled (least squares) onto them."""
    model = np.einsum("pj,kij->kpi", FACE_MODEL, _rotations(angles))[:, :, :2]  # (k, 5, 2)
    scale = np.sum(model * centred, axis=(1, 2)) / np.sum(model * model, axis=(1, 2))
    return (centred[None] - scale[:, None, None] * model).reshape(len(angles), -1)


def estimate_pose(points: np.ndarray) -> Pose:
    """The pose of five keypoints ``(5, 2)`` in pixels (or any units with square pixels)."""
    centred = np.asarray(points, dtype=np.float64) - np.mean(points, axis=0)
    projection = (_FIT @ centred).T  # (2, 3): scale x the first two rows of the rotation
    u, _, vt = np.linalg.svd(projection, full_matrices=False)
    top = u @ vt  # the nearest pair of orthonormal rows
    angles = _angles(np.vstack([top, np.cross(top[0], top[1])]))
    probes = np.vstack([np.zeros(3), _STEP * np.eye(3)])  # the point and one nudge per angle
    for _ in range(REFINE_STEPS):
        residuals = _residuals(angles + probes, centred)
        jacobian = ((residuals[1:] - residuals[0]) / _STEP).T
        step, *_ = np.linalg.lstsq(jacobian, -residuals[0], rcond=None)
        angles = angles + np.clip(step, -20.0, 20.0)
        if float(np.abs(step).max()) < 1e-3:
            break
    yaw, pitch, roll = (float(a) for a in angles)
    return Pose(max(-90.0, min(90.0, yaw)), (pitch + 180.0) % 360.0 - 180.0, (roll + 180.0) % 360.0 - 180.0)


@dataclass(frozen=True)
class AttentionLimits:
    """The largest yaw and pitch (degrees, either sign) of a face that looks at the camera."""

    yaw: float = 25.0
    pitch: float = 20.0

    def attentive(self, pose: Pose) -> bool:
        """True when ``pose`` is within both limits."""
        return abs(pose.yaw) <= self.yaw and abs(pose.pitch) <= self.pitch
