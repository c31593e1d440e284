"""How accurate ``Pose`` and ``Attention`` are: synthetic faces at known angles, and a real-image symmetry check.

    python -m bench.pose_accuracy [--faces 2000] [--real 300] [--json bench/results/pose_accuracy.json]

1. Synthetic: faces whose 3D shape differs from the model's (each coordinate of each keypoint
   moved by ``SHAPE_NOISE`` eye distances), turned to yaw -60..60, pitch -30..30, roll -20..20
   degrees, projected with perspective (camera ``DISTANCE_EYES`` eye distances away), with the
   detector's own keypoint noise added (``KEYPOINT_NOISE`` eye distances: the median eye-point
   error ``python -m bench.keypoint_precision`` measured: 0.07 on 80-150 px faces, 0.04 on 350-500 px). Reports the
   absolute angle errors and how often ``Attention`` (default limits) agrees with the truth.
2. Real: UTKFace test-split faces (needs the archive) detected at their own size and mirrored:
   a face and its mirror image must get opposite yaw and roll and the same pitch, so half the
   yaw sum of each pair is an estimate of the error that no synthetic model can hide.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import ImageOps

from agegender.pose import FACE_MODEL, MIRROR, AttentionLimits, Pose, estimate_pose, rotation
from bench import add_json_option, report

SHAPE_NOISE = 0.05
KEYPOINT_NOISE = 0.05
DISTANCE_EYES = 25.0
RANGES = {"yaw": 60.0, "pitch": 30.0, "roll": 20.0}


def synthetic(count: int, seed: int) -> dict[str, object]:
    """Angle errors and attention agreement on ``count`` random synthetic faces."""
    rng = np.random.default_rng(seed)
    limits = AttentionLimits()
    errors: dict[str, list[float]] = {name: [] for name in RANGES}
    agree = []
    for _ in range(count):
        truth = Pose(*(rng.uniform(-RANGES[n], RANGES[n]) for n in ("yaw", "pitch", "roll")))
        shape = FACE_MODEL + rng.normal(0, SHAPE_NOISE, FACE_MODEL.shape)
        turned = shape @ rotation(truth.yaw, truth.pitch, truth.roll).T
        depth = DISTANCE_EYES + turned[:, 2:]
        points = turned[:, :2] * DISTANCE_EYES / depth + rng.normal(0, KEYPOINT_NOISE, (5, 2))
        found = estimate_pose(points * 60.0)
        for name in RANGES:
            errors[name].append(abs(getattr(found, name) - getattr(truth, name)))
        agree.append(limits.attentive(found) == limits.attentive(truth))
    summary = {
        name: {"median": round(float(np.median(v)), 2), "p90": round(float(np.percentile(v, 90)), 2)}
        for name, v in errors.items()
    }
    return {"faces": count, "abs_error_degrees": summary, "attention_agreement": round(float(np.mean(agree)), 4)}


def mirrored_pairs(count: int, data: Path) -> dict[str, object]:
    """Yaw/roll antisymmetry and pitch symmetry of real detections under a mirror."""
    from agegender.analyzer import ImageAnalyzer
    from bench.detection_recall import load_test_faces

    analyzer = ImageAnalyzer()
    yaw_half_sum, roll_half_sum, pitch_half_diff, yaws = [], [], [], []
    for face, _ in load_test_faces(data, count):
        found = analyzer.detect(face)
        flipped = analyzer.detect(ImageOps.mirror(face))
        if not found or not flipped:
            continue
        a = estimate_pose(found[0].keypoints * face.size)
        mirrored_points = flipped[0].keypoints[MIRROR] * face.size
        b = estimate_pose(mirrored_points * (-1, 1))  # the mirror's points mirrored back: should equal a
        yaws.append(abs(a.yaw))
        yaw_half_sum.append(abs(a.yaw - b.yaw) / 2)
        roll_half_sum.append(abs(a.roll - b.roll) / 2)
        pitch_half_diff.append(abs(a.pitch - b.pitch) / 2)

    def stats(values: list[float]) -> dict[str, float]:
        return {"median": round(float(np.median(values)), 2), "p90": round(float(np.percentile(values, 90)), 2)}

    return {
        "faces": len(yaws),
        "median_abs_yaw_degrees": round(float(np.median(yaws)), 2),
        "mirror_disagreement_degrees": {
            "yaw": stats(yaw_half_sum),
            "pitch": stats(pitch_half_diff),
            "roll": stats(roll_half_sum),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Run both checks and print (and optionally write) the JSON report."""
    from training.options import DEFAULT_DATA

    parser = argparse.ArgumentParser(prog="python -m bench.pose_accuracy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=2000, help="synthetic faces")
    parser.add_argument("--real", type=int, default=300, help="UTKFace test faces for the mirror check (0: skip)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    add_json_option(parser, "pose_accuracy")
    args = parser.parse_args(argv)
    result: dict[str, object] = {"synthetic": synthetic(args.faces, args.seed)}
    if args.real:
        result["real_mirror_check"] = mirrored_pairs(args.real, args.data)
    return report(result, "pose_accuracy", argv, args.json)


if __name__ == "__main__":
    sys.exit(main())
