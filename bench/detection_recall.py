"""Detection recall and false detections on composite camera frames, and gender accuracy through
detect+crop against the classifier alone (``--no-detect``) on the same faces.

    python -m bench.detection_recall [--frames 1000] [--min-side 30 --max-side 200]
                                     [--min-score 0.6] [--close-up-side 320] [--json ...]

Frames are 1280x720, plain or textured backgrounds, with 1-4 UTKFace test-split faces
each (by default 30-200 px; never overlapping, so fewer where large ones leave no room),
built deterministically from a seed. A detection matches a face when its centre lies inside
the pasted square and its width is 0.3-1.3 of the square's side; a further detection whose
centre lies inside an already matched square is a duplicate (the face reported twice); the
rest are false detections. Needs the UTKFace archive.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from agegender.analyzer import AnalyzerSettings, ImageAnalyzer
from agegender.classifier import AgeGenderClassifier
from bench import REPO_ROOT
from training.dataset import iter_files, parse_name, split_of
from training.options import DEFAULT_DATA

SIZE_BUCKETS = ((30, 60), (60, 100), (100, 200), (200, 400), (400, 700))


def textured_background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Blurred coloured noise plus random rectangles: edges and texture without faces."""
    noise = rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8)
    base = Image.fromarray(noise).resize((width, height), Image.Resampling.BICUBIC)
    pixels = np.asarray(base, dtype=np.int16)
    for _ in range(25):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, 300)), y0 + int(rng.integers(20, 200))
        pixels[y0:y1, x0:x1] = rng.integers(0, 255, 3)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))


def alternating_background(rng: np.random.Generator, index: int, width: int, height: int) -> Image.Image:
    """Frame ``index``'s background: textured for odd indices, one random plain colour for even ones."""
    if index % 2:
        return textured_background(rng, width, height)
    return Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(40, 220, 3)))


def load_test_faces(data: Path, count: int, split: str = "test") -> list[tuple[Image.Image, int]]:
    """``count`` faces of ``split`` (image, gender label), in archive order."""
    faces = []
    for name, blob in iter_files(data / "UTKFace.tar.gz" if data.is_dir() else data):
        label = parse_name(name)
        if label is not None and split_of(name) == split:
            faces.append((Image.open(io.BytesIO(blob)).convert("RGB"), label.gender))
            if len(faces) == count:
                break
    return faces


def place(rng: np.random.Generator, sides: list[int], width: int, height: int) -> list[tuple[int, int, int]]:
    """Non-overlapping (x, y, side) squares inside the frame."""
    boxes: list[tuple[int, int, int]] = []
    for side in sides:
        for _ in range(200):
            x, y = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
            if all(
                x + side + 10 < bx or bx + bs + 10 < x or y + side + 10 < by or by + bs + 10 < y for bx, by, bs in boxes
            ):
                boxes.append((x, y, side))
                break
    return boxes


def paired_gap(reference: list[bool], candidate: list[bool]) -> dict[str, float] | None:
    """``reference`` minus ``candidate`` accuracy on the same faces, in points, with its 95% interval.

    Only the faces the two get different answers on move the gap, so its spread comes from
    those (the paired, McNemar-style variance): on 500 faces a 1-point gap is inside the noise.
    """
    if not reference:
        return None
    count = len(reference)
    only_reference = sum(r and not c for r, c in zip(reference, candidate, strict=True))
    only_candidate = sum(c and not r for r, c in zip(reference, candidate, strict=True))
    gap = (only_reference - only_candidate) / count
    spread = 1.96 * np.sqrt(max(0.0, (only_reference + only_candidate) / count - gap**2) / count)
    return {
        "gap": round(100 * gap, 2),
        "low": round(float(100 * (gap - spread)), 2),
        "high": round(float(100 * (gap + spread)), 2),
        "faces_only_reference_right": only_reference,
        "faces_only_candidate_right": only_candidate,
    }


def run(
    frames: int,
    seed: int,
    data: Path,
    settings: AnalyzerSettings | None = None,
    sides: tuple[int, int] = (30, 200),
    split: str = "test",
    model: Path | None = None,
) -> dict[str, object]:
    """Paste faces into frames, detect, and score recall, false detections, duplicates and gender."""
    rng = np.random.default_rng(seed)
    classifier = AgeGenderClassifier(model) if model else None
    analyzer = ImageAnalyzer(classifier, settings=settings or AnalyzerSettings())
    faces = load_test_faces(data, frames * 4, split)
    cursor = 0
    truth_total, found, false_detections, duplicates, detections_total = 0, 0, 0, 0, 0
    by_size = {f"{lo}-{hi}px": [0, 0] for lo, hi in SIZE_BUCKETS if lo < sides[1] and hi > sides[0]}
    gender_detect, gender_crop, detect_ms, gender_sizes = [], [], [], []
    for index in range(frames):
        width, height = 1280, 720
        background = alternating_background(rng, index, width, height)
        count = int(rng.integers(1, 5))
        frame_sides = [int(rng.integers(sides[0], sides[1] + 1)) for _ in range(count)]
        boxes = place(rng, frame_sides, width, height)
        pasted = []
        for x, y, side in boxes:
            face, gender = faces[cursor % len(faces)]
            cursor += 1
            background.paste(face.resize((side, side), Image.Resampling.BILINEAR), (x, y))
            pasted.append((x, y, side, face, gender))
        buffer = io.BytesIO()
        background.save(buffer, format="JPEG", quality=90)
        started = time.perf_counter()
        analysis = analyzer.analyze(buffer.getvalue())
        detect_ms.append((time.perf_counter() - started) * 1000)
        detections_total += len(analysis.faces)
        matched: dict[int, dict] = {}
        for detail in analysis.faces:
            box = detail["BoundingBox"]
            cx, cy = (box["Left"] + box["Width"] / 2) * width, (box["Top"] + box["Height"] / 2) * height
            hit = next(
                (
                    i
                    for i, (x, y, side, _, _) in enumerate(pasted)
                    if i not in matched
                    and x <= cx <= x + side
                    and y <= cy <= y + side
                    and 0.3 <= box["Width"] * width / side <= 1.3
                ),
                None,
            )
            if hit is None:
                inside_matched = any(
                    x <= cx <= x + side and y <= cy <= y + side
                    for i, (x, y, side, _, _) in enumerate(pasted)
                    if i in matched
                )
                duplicates += inside_matched
                false_detections += not inside_matched
                continue
            matched[hit] = detail
        for i, (_, _, side, face, gender) in enumerate(pasted):
            truth_total += 1
            bucket = next(f"{lo}-{hi}px" for lo, hi in SIZE_BUCKETS if lo <= side <= hi)
            by_size[bucket][1] += 1
            if i in matched:
                found += 1
                by_size[bucket][0] += 1
                if matched[i].get("Classified"):  # the same faces through both paths
                    gender_detect.append((matched[i]["Gender"]["Value"] == "Female") == bool(gender))
                    attributes = analyzer.classifier.predict_faces([face])[0]
                    gender_crop.append((attributes.p_female >= 0.5) == bool(gender))
                    gender_sizes.append(bucket)
    return {
        "frames": frames,
        "faces": truth_total,
        "recall": found / truth_total,
        "recall_by_size": {k: (v[0] / v[1] if v[1] else None) for k, v in by_size.items()},
        "false_detections": false_detections,
        "false_detection_rate": false_detections / max(1, detections_total),
        "duplicates": duplicates,
        "gender_accuracy_detect_crop": float(np.mean(gender_detect)) if gender_detect else None,
        "gender_accuracy_no_detect_same_faces": float(np.mean(gender_crop)) if gender_crop else None,
        "gender_gap_points": paired_gap(gender_crop, gender_detect),
        "gender_accuracy_by_size": {
            f"{lo}-{hi}px": {
                "detect_crop": float(np.mean([d for d, b in zip(gender_detect, gender_sizes, strict=True) if b == k])),
                "no_detect": float(np.mean([c for c, b in zip(gender_crop, gender_sizes, strict=True) if b == k])),
            }
            for lo, hi in SIZE_BUCKETS
            if (k := f"{lo}-{hi}px") in gender_sizes
        },
        "analyze_ms_median": float(np.median(detect_ms)),
        "detector": analyzer.model_info["Detector"],
        "classifier": analyzer.model_info["Version"],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the recall bench; print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frames", type=int, default=1000, help="1000 frames hold ~2,500 faces: a 1-point gap's interval is ~+-1"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--min-score", type=float, default=AnalyzerSettings.min_confidence, help="detector threshold")
    parser.add_argument("--close-up-side", type=int, default=AnalyzerSettings.close_up_side, help="0 = no close-up")
    parser.add_argument("--min-side", type=int, default=30, help="smallest face (px)")
    parser.add_argument("--max-side", type=int, default=200, help="largest face (px), at most 700")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"], help="whose faces")
    parser.add_argument("--model", type=Path, default=None, help="classifier .tflite (default: the shipped one)")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "detection_recall.json")
    args = parser.parse_args(argv)
    if not 0 < args.min_side <= args.max_side <= 700:
        parser.error("need 0 < --min-side <= --max-side <= 700")
    settings = AnalyzerSettings(min_confidence=args.min_score, close_up_side=args.close_up_side)
    report = {
        "min_score": args.min_score,
        "close_up_side": args.close_up_side,
        "face_sides": [args.min_side, args.max_side],
        "split": args.split,
        **run(
            args.frames,
            args.seed,
            args.data,
            settings,
            sides=(args.min_side, args.max_side),
            split=args.split,
            model=args.model,
        ),
    }
    for key, value in report.items():
        print(f"{key:40s} {value}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
