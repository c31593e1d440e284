"""Eye keypoint precision of each detection pass and of the merged detections, by face size.

    python -m bench.keypoint_precision [--faces 120] [--json bench/results/keypoint_precision.json]

UTKFace test-split faces are pasted at several sizes into 1280x720 frames (plain and
textured backgrounds, alternately). The reference eyes are the detector's on the original
crop (how ``bench.eye_template`` measures the alignment template); each pass's error is the
larger eye-point distance from the reference, as a fraction of the reference eye distance.
The passes: the scan canvas the analyzer picks for the frame, the optional 320 px close-up
pass, and the two merged as the analyzer merges them when the close-up pass is on. ``box px`` is the median face box
side in that pass's input. Needs the UTKFace archive.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from agegender.analyzer import AnalyzerSettings, ImageAnalyzer, fit_scale
from bench import REPO_ROOT
from bench.detection_recall import alternating_background, load_test_faces
from training.options import DEFAULT_DATA

SIDES = (40, 80, 150, 250, 350, 500)
#: The optional close-up pass compared with the scan (the analyzer's default is the scan alone).
CLOSE_UP_SIDE = 320
WIDTH, HEIGHT = 1280, 720


def run(count: int, seed: int, data: Path) -> list[dict[str, object]]:
    """Eye-point error against the known eye positions, per detector pass and face size."""
    rng = np.random.default_rng(seed)
    analyzer = ImageAnalyzer(settings=AnalyzerSettings(close_up_side=CLOSE_UP_SIDE))
    detector = analyzer.detector
    assert detector is not None
    scan, close_up = analyzer.pass_shapes((WIDTH, HEIGHT))
    passes = {
        f"scan {scan[0]}x{scan[1]}": (lambda im: detector.detect(im, scan), fit_scale((WIDTH, HEIGHT), scan)),
        f"close-up {close_up[0]}x{close_up[1]}": (
            lambda im: detector.detect(im, close_up),
            fit_scale((WIDTH, HEIGHT), close_up),
        ),
        "merged (both passes)": (analyzer.detect, fit_scale((WIDTH, HEIGHT), scan)),
    }
    errors: dict[tuple[str, int], list[float]] = {(name, side): [] for name in passes for side in SIDES}
    boxes: dict[tuple[str, int], list[float]] = {key: [] for key in errors}
    references = 0
    for index, (face, _) in enumerate(load_test_faces(data, count)):
        reference = analyzer.detect(face)
        if not reference:
            continue
        references += 1
        eyes = reference[0].keypoints[:2]  # ratios of the crop
        for side in SIDES:
            frame = alternating_background(rng, index, WIDTH, HEIGHT)
            x, y = int(rng.integers(0, WIDTH - side)), int(rng.integers(0, HEIGHT - side))
            frame.paste(face.resize((side, side), Image.Resampling.BILINEAR), (x, y))
            truth = eyes * side + (x, y)
            eye_distance = float(np.hypot(*(truth[1] - truth[0])))
            for name, (detect, scale) in passes.items():
                hits = [
                    d
                    for d in detect(frame)
                    if x <= (d.box[0] + d.box[2]) / 2 * WIDTH <= x + side
                    and y <= (d.box[1] + d.box[3]) / 2 * HEIGHT <= y + side
                ]
                if hits:
                    found = hits[0].keypoints[:2] * (WIDTH, HEIGHT)
                    errors[name, side].append(float(np.abs(found - truth).max()) / eye_distance)
                    boxes[name, side].append(hits[0].width * WIDTH * scale)
    rows = []
    for (name, side), values in errors.items():
        rows.append(
            {
                "pass": name,
                "face_px": side,
                "found": len(values) / max(1, references),
                "box_px_in_input": float(np.median(boxes[name, side])) if values else None,
                "eye_error_median": float(np.median(values)) if values else None,
                "eye_error_p90": float(np.percentile(values, 90)) if values else None,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the keypoint bench; print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=120)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "keypoint_precision.json")
    args = parser.parse_args(argv)
    rows = run(args.faces, args.seed, args.data)
    print(f"{'pass':28s} {'face px':>7s} {'found':>6s} {'box px':>7s} {'err p50':>8s} {'err p90':>8s}")
    for row in rows:
        numbers = [row[k] for k in ("box_px_in_input", "eye_error_median", "eye_error_p90")]
        text = " ".join("     n/a" if v is None else f"{v:8.3f}" for v in numbers)
        print(f"{row['pass']:28s} {row['face_px']:7d} {row['found']:6.2f} {text}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
