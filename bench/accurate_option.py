"""Both classifiers through the Lambda's own detect+crop path, on faces no model here trained on.

    python -m bench.accurate_option [--faces 400] [--json bench/results/accurate_option.json]

For each source's test split (UTKFace, All-Age-Faces, CelebA: ``training.sources``), up to
``--faces`` faces, spread over the split's order, are each pasted once into a camera frame
(``training.detector_crops.camera_view`` with the evaluation faults) and analysed by
``ImageAnalyzer`` with the small model and with the accurate option: the same frames, detector
and crop code, each model with its contract's framing. Reports gender accuracy and age MAE per
source and per age band, the adult race gap (UTKFace), ms per face on one thread, and USD per
million images from ``bench.cost``'s prices. With ``--reference`` (the SavedModel that
``scripts/convert_teacher.py`` writes) the accurate option's TFLite outputs are compared with it
on the same crops.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from agegender.analyzer import ImageAnalyzer
from agegender.assets import ACCURATE_MODEL_PATH, DEFAULT_MODEL_PATH
from agegender.classifier import AgeGenderClassifier
from bench import REPO_ROOT
from bench.classifier_latency import time_per_face
from bench.cost import cost_per_million, measured_ms
from infra.config import PipelineConfig

#: Age bands of the report (years, inclusive low, exclusive high); children's per the issue's bands.
BANDS = ((0, 3), (3, 10), (10, 18), (18, 30), (30, 40), (40, 50), (50, 60), (60, 70), (70, 200))
ADULT_AGE = 18
SOURCES = ("utkface", "aaf", "celeba")


def band_name(low: int, high: int) -> str:
    """``(18, 30)`` -> ``18-29``; the open band ``70+``."""
    return f"{low}+" if high >= 200 else f"{low}-{high - 1}"


def test_faces(source: str, count: int) -> list[tuple[Any, bytes]]:
    """Up to ``count`` test-split ``(FaceLabel, bytes)`` of one source, evenly spread over the split."""
    from training.dataset import find_source, labelled_files, row_name, split_of
    from training.sources import KNOWN_PATHS

    faces = [
        (label, blob)
        for label, blob in labelled_files(find_source(KNOWN_PATHS[source]))
        if split_of(row_name(source, label.name)) == "test"
    ]
    step = max(1, len(faces) // count) if count else 1
    return faces[::step][:count] if count else faces


def camera_frames(source: str, faces: list[tuple[Any, bytes]], seed: int) -> list[bytes]:
    """One camera frame per face, the same for every model (seeded per source)."""
    import io

    from PIL import Image

    from training.detector_crops import EVALUATION_FAULTS, camera_view

    rng = np.random.default_rng([seed, SOURCES.index(source)])
    return [camera_view(Image.open(io.BytesIO(blob)), rng, EVALUATION_FAULTS) for _, blob in faces]


def classify(analyzer: ImageAnalyzer, frames: list[bytes]) -> dict[str, np.ndarray]:
    """Whether the result says Female, with what confidence (0-1), its age, and whether a face was classified,
    for the most confident face of each frame (the result's own fields, as a user reads them).
    """
    female, confidence, ages, found = [], [], [], []
    for frame in frames:
        faces = analyzer.analyze(frame).faces
        face = faces[0] if faces and faces[0]["Classified"] else None
        found.append(face is not None)
        female.append(face is not None and face["Gender"]["Value"] == "Female")
        confidence.append(face["Gender"]["Confidence"] / 100 if face is not None else np.nan)
        ages.append(face["Age"]["Value"] if face is not None else np.nan)
    return {
        "female": np.array(female),
        "confidence": np.array(confidence),
        "age": np.array(ages),
        "found": np.array(found),
    }


def calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the gender confidences, in points (equal-width bins over 0.5-1)."""
    edges = np.linspace(0.5, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = sum(
        abs(float(right[index == b].mean()) - float(confidence[index == b].mean())) * (index == b).sum()
        for b in range(bins)
        if (index == b).any()
    )
    return float(100 * error / max(1, len(confidence)))


def figures(read: dict[str, np.ndarray], labels: list[Any]) -> dict[str, Any]:
    """Gender accuracy, its calibration error and age MAE on found faces, overall and per band; the adult race
    gap.
    """
    female, confidence, ages, found = read["female"], read["confidence"], read["age"], read["found"]
    genders = np.array([label.gender for label in labels])
    true_ages = np.array([label.age for label in labels], dtype=float)
    races = np.array([label.race for label in labels])
    right = female == (genders == 1)
    known = found & (true_ages >= 0)
    report: dict[str, Any] = {
        "faces": len(labels),
        "found": int(found.sum()),
        "gender_accuracy": float(right[found].mean()),
        "gender_ece_points": calibration_error(confidence[found], right[found]),
        "age_mae": float(np.abs(ages - true_ages)[known].mean()) if known.any() else None,
        "by_band": {},
    }
    for low, high in BANDS:
        mask = found & (true_ages >= low) & (true_ages < high)
        if mask.sum() >= 10:
            report["by_band"][band_name(low, high)] = {
                "faces": int(mask.sum()),
                "gender_accuracy": float(right[mask].mean()),
                "gender_ece_points": calibration_error(confidence[mask], right[mask]),
                "age_mae": float(np.abs(ages - true_ages)[mask].mean()),
            }
    adults = found & (true_ages >= ADULT_AGE) & (races >= 0) & (races < 4)  # "Others" is too mixed to compare
    by_race = [right[adults & (races == race)].mean() for race in range(4) if (adults & (races == race)).sum() >= 20]
    report["adult_race_gap_points"] = float(100 * (max(by_race) - min(by_race))) if len(by_race) > 1 else None
    return report


def agreement(read: dict[str, np.ndarray], teacher: dict[str, np.ndarray]) -> dict[str, float]:
    """How often a model says what the accurate option (the teacher) says, on faces both classified: the
    in-the-wild proxy that needs no labels.
    """
    both = read["found"] & teacher["found"]
    return {
        "gender_agreement": float((read["female"] == teacher["female"])[both].mean()),
        "age_mean_abs_difference": float(np.abs(read["age"] - teacher["age"])[both].mean()),
    }


def ms_per_face(model_path: Path, repeats: int = 100) -> float:
    """Median classifier milliseconds per face, batch 1, one thread (``bench.classifier_latency``'s timing)."""
    return time_per_face(AgeGenderClassifier(model_path, num_threads=1), 1, repeats)["median_ms"]


def usd_per_million(extra_ms_per_face: float, faces: int = 3, s3_io_ms: float = 30.0) -> float:
    """``bench.cost``'s arm64 total with each of ``faces`` faces taking ``extra_ms_per_face`` longer."""
    config = PipelineConfig()
    base = measured_ms(REPO_ROOT / "bench" / "results" / "end_to_end.json", "1280x720", faces)
    items = cost_per_million(
        base + faces * extra_ms_per_face + s3_io_ms,
        architecture="arm64",
        memory_mb=config.memory_mb,
        batch_size=config.batch_size,
    )
    return float(sum(items.values()))


def reference_parity(reference: Path, frames: list[bytes]) -> dict[str, float]:
    """The accurate TFLite against the SavedModel on the same crops: decision agreement and output gaps."""
    import tensorflow as tf

    from agegender.contract import AGE_OUTPUT, GENDER_OUTPUT, INPUT_NAME
    from agegender.labels import age_statistics
    from training.detector_crops import runtime_crop

    classifier = AgeGenderClassifier(ACCURATE_MODEL_PATH, num_threads=2, max_batch=32)
    contract = classifier.contract
    crops = [runtime_crop(frame, contract.input_size, crop_scale=contract.crop_scale) for frame in frames]
    inputs = np.stack([crop for crop in crops if crop is not None])
    lite = classifier.predict_inputs(inputs)
    serve = tf.saved_model.load(str(reference)).signatures["serving_default"]
    gender, ages = [], []
    for start in range(0, len(inputs), 32):
        out = serve(**{INPUT_NAME: tf.constant(inputs[start : start + 32].astype(np.float32))})
        gender.append(out[GENDER_OUTPUT].numpy().reshape(-1))
        ages.append(out[AGE_OUTPUT].numpy())
    p_ref = np.concatenate(gender)
    age_ref, _ = age_statistics(np.concatenate(ages))
    return {
        "crops": len(inputs),
        "gender_decision_agreement": float(((lite.p_female >= 0.5) == (p_ref >= 0.5)).mean()),
        "max_p_female_difference": float(np.abs(lite.p_female - p_ref).max()),
        "max_age_difference_years": float(np.abs(lite.age - age_ref).max()),
        "mean_age_difference_years": float(np.abs(lite.age - age_ref).mean()),
    }


def main(argv: list[str] | None = None) -> int:
    """Run both models on every source; print the figures, write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=400, help="faces per source (0 = the whole test split)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", type=Path, default=REPO_ROOT / "build" / "teacher" / "saved_model")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "accurate_option.json")
    parser.add_argument("--candidate", type=Path, default=None, help="also measure this classifier (e.g. a new run)")
    args = parser.parse_args(argv)
    models = {"small": DEFAULT_MODEL_PATH, "accurate": ACCURATE_MODEL_PATH}
    if args.candidate:
        models["candidate"] = args.candidate
    analyzers = {
        name: ImageAnalyzer(AgeGenderClassifier(path, num_threads=2, max_batch=8)) for name, path in models.items()
    }
    report: dict[str, Any] = {
        "faces_per_source": args.faces,
        "sources": {},
        "models": {},
        "agreement_with_accurate": {},
    }
    all_frames = []
    for source in SOURCES:
        faces = test_faces(source, args.faces)
        frames = camera_frames(source, faces, args.seed)
        all_frames += frames
        labels = [label for label, _ in faces]
        report["sources"][source] = {}
        reads = {}
        for name, analyzer in analyzers.items():
            reads[name] = classify(analyzer, frames)
            report["sources"][source][name] = figures(reads[name], labels)
            row = report["sources"][source][name]
            mae = f"{row['age_mae']:.2f} y" if row["age_mae"] is not None else "-"
            accuracy = 100 * row["gender_accuracy"]
            print(f"{source:8s} {name:9s} found {row['found']}/{row['faces']} gender {accuracy:.1f}% "
                  f"age MAE {mae} race gap {row['adult_race_gap_points']}", flush=True)  # fmt: skip
        report["agreement_with_accurate"][source] = {
            name: agreement(reads[name], reads["accurate"]) for name in reads if name != "accurate"
        }
        print(f"{source:8s} agreement with accurate: {report['agreement_with_accurate'][source]}", flush=True)
    for name, path in models.items():
        ms = ms_per_face(path)
        report["models"][name] = {
            "file": str(path.resolve().relative_to(REPO_ROOT))
            if path.resolve().is_relative_to(REPO_ROOT)
            else str(path),
            "bytes": path.stat().st_size,
            "ms_per_face": ms,
            "usd_per_million_images": usd_per_million(ms - ms_per_face(DEFAULT_MODEL_PATH) if name != "small" else 0.0),
        }
        print(f"{name}: {ms:.2f} ms a face, {report['models'][name]['usd_per_million_images']:.2f} USD per million")
    if args.reference.is_dir():
        report["parity_vs_saved_model"] = reference_parity(args.reference, all_frames)
        print("parity:", report["parity_vs_saved_model"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
