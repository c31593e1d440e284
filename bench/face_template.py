"""Where the detector puts the five keypoints on the classifier's training crops: the alignment template.

    python -m bench.face_template [--faces 600] [--json bench/results/face_template.json]

Runs the analyzer's own detection on UTKFace training-split crops (200 x 200, the aligned faces
the classifier learnt from) and reports the median position of each keypoint (eyes, nose tip,
mouth corners) as fractions of the crop side, with the median eye midpoint, eye distance and
roll. ``agegender.faces`` aligns every detected face so that its keypoints land there (a
least-squares similarity), so detect+crop gives the classifier the framing it was trained on.
Needs the UTKFace archive.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from agegender.analyzer import ImageAnalyzer
from agegender.detector import KEYPOINTS
from agegender.faces import eye_geometry
from bench import REPO_ROOT
from training.dataset import iter_files, parse_name, split_of
from training.options import DEFAULT_DATA


def measure(data: Path, count: int) -> dict[str, object]:
    """Median eye geometry of the first ``count`` training-split crops in which exactly one face is found."""
    analyzer = ImageAnalyzer()
    centres, distances, rolls, points, missed, seen = [], [], [], [], 0, 0
    for name, blob in iter_files(data / "UTKFace.tar.gz" if data.is_dir() else data):
        if parse_name(name) is None or split_of(name) != "train":
            continue
        seen += 1
        image = Image.open(io.BytesIO(blob)).convert("RGB")
        faces = analyzer.detect(image)
        if len(faces) != 1:
            missed += 1
            continue
        centre, distance, roll = eye_geometry(faces[0], *image.size)
        centres.append(centre / image.size)
        points.append(faces[0].keypoints)
        distances.append(distance / image.width)
        rolls.append(roll)
        if len(centres) == count:
            break
    centre = np.median(np.array(centres), axis=0)
    return {
        "detector": analyzer.model_info["Detector"],
        "crops_seen": seen,
        "crops_without_exactly_one_face": missed,
        "faces": len(centres),
        "keypoints": {
            name: [round(float(x), 3), round(float(y), 3)]
            for name, (x, y) in zip(KEYPOINTS, np.median(np.array(points), axis=0), strict=True)
        },
        "eye_center": [round(float(centre[0]), 3), round(float(centre[1]), 3)],
        "eye_distance": round(float(np.median(distances)), 3),
        "roll_degrees": round(float(np.median(rolls)), 2),
        "eye_distance_iqr": [round(float(q), 3) for q in np.percentile(distances, [25, 75])],
    }


def main(argv: list[str] | None = None) -> int:
    """Measure the template; print it, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=600)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "face_template.json")
    args = parser.parse_args(argv)
    report = measure(args.data, args.faces)
    for key, value in report.items():
        print(f"{key:32s} {value}")
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
