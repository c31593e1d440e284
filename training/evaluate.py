"""Evaluate a TFLite model on a UTKFace split, through the Lambda's own inference code.

    python -m training.evaluate --model models/agegender.tflite --split test --output_dir models/evaluation

Writes ``metrics.json`` (``training.metrics``) and PNG plots (``training.plots``): label distributions,
gender confusion matrix, age error by age group, per-race figures, training curves; with ``--sources``,
every source through both crop paths (``by_source.json``) and the validation reliability diagram.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from agegender.classifier import AgeGenderClassifier
from training.dataset import FaceDataset, label_summary, load_faces
from training.metrics import check_figures, compute_metrics, gender_flip_rates
from training.plots import write_plots, write_reliability

log = logging.getLogger(__name__)


def evaluate_checks(model_path: Path, checks: dict[str, FaceDataset], output_dir: Path) -> dict[str, Any]:
    """``check_figures`` for every ``<source>/<split>/<path>`` set; writes ``by_source.json``."""
    classifier = AgeGenderClassifier(model_path, num_threads=2, max_batch=64)
    report, pooled_p, pooled_genders = {}, [], []
    for key, faces in checks.items():
        if not len(faces):
            continue
        prediction = classifier.predict_inputs(faces.images)
        report[key] = check_figures(classifier, faces, prediction)
        if "/val/" in key:
            pooled_p.append(prediction.p_female)
            pooled_genders.append(faces.genders)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "by_source.json").write_text(json.dumps(report, indent=2) + "\n")
    if pooled_p:
        write_reliability(output_dir, np.concatenate(pooled_p), np.concatenate(pooled_genders), sorted(
            key for key in report if "/val/" in key))  # fmt: skip
    for key, figures in report.items():
        log.info("%s: %d faces, gender %.2f%%", key, figures["faces"], 100 * figures["gender_accuracy"])
    return report


def evaluate_tflite(
    model_path: Path,
    dataset: FaceDataset,
    output_dir: Path,
    *,
    history_csv: Path | None = None,
    dataset_summary: dict[str, object] | None = None,
    reference: Path | None = None,
    num_threads: int = 2,
) -> dict[str, Any]:
    """Classify ``dataset`` with the TFLite model via ``AgeGenderClassifier``; write metrics and plots.

    With ``reference`` (another variant of the model, e.g. the float32 one beside an int8 one)
    its predictions on the same faces are compared by the export's parity rule.
    """
    classifier = AgeGenderClassifier(model_path, num_threads=num_threads, max_batch=64)
    if dataset.images.shape[1] != classifier.input_size:
        raise ValueError(f"dataset prepared at {dataset.images.shape[1]} px, model expects {classifier.input_size}")
    prediction = classifier.predict_inputs(dataset.images)
    metrics = compute_metrics(
        dataset.ages, dataset.genders, dataset.races, prediction.p_female, prediction.age, prediction.age_std
    )
    metrics["gender_flip_rate"] = gender_flip_rates(classifier, dataset.images)
    metrics["model"] = {
        "file": model_path.name,
        "bytes": model_path.stat().st_size,
        "name": classifier.contract.name,
        "version": classifier.contract.version,
        "architecture": classifier.contract.architecture,
        "quantization": classifier.contract.quantization,
        "input_size": classifier.input_size,
        "runtime": classifier.model.runtime_name,
    }
    if dataset_summary is not None:
        metrics["dataset"] = dataset_summary
    if reference is not None:
        from dataclasses import asdict

        from training.parity import parity

        expected = AgeGenderClassifier(reference, num_threads=num_threads, max_batch=64).predict_inputs(dataset.images)
        report = parity(classifier.contract.quantization, expected, prediction, dataset.ages)
        metrics["parity_vs_reference"] = {"reference": reference.name, **asdict(report)}
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_plots(output_dir, metrics, dataset, prediction.age, prediction.p_female, history_csv)
    log.info(
        "%s on %d faces: gender %.2f%%, age MAE %.2f y, race gap %.1f pts",
        model_path.name,
        len(dataset),
        100 * metrics["gender_accuracy"],
        metrics["age_mae"],
        metrics["race_gender_accuracy_gap"],
    )
    return metrics


def training_summary(output_dir: Path, version: str) -> dict[str, object] | None:
    """The training data's summary that this model version's training run wrote to ``output_dir``, if any.

    A re-evaluation (``make evaluate``) sees only the faces it evaluates, not what the model was
    trained on, so it keeps the run's account instead of replacing it.
    """
    previous = output_dir / "metrics.json"
    if not previous.exists():
        return None
    earlier = json.loads(previous.read_text())
    return earlier.get("dataset") if earlier.get("model", {}).get("version") == version else None


def main(argv: list[str] | None = None) -> int:
    """Evaluate a TFLite model on one split; write metrics.json and plots."""
    from training.options import DEFAULT_DATA

    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a .tflite file with its .contract.json beside it")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="UTKFace archive or folder")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--val_fraction", type=float, default=0.1)
    parser.add_argument("--test_fraction", type=float, default=0.1)
    parser.add_argument("--output_dir", type=Path, default=Path("artifacts/evaluation"))
    parser.add_argument("--history", type=Path, default=None, help="training history.csv for the curves")
    parser.add_argument("--reference", type=Path, default=None, help="another variant to check parity against")
    parser.add_argument("--cache_dir", type=Path, default=Path.home() / ".cache/agegender")
    parser.add_argument(
        "--sources",
        default="",
        help="instead: every split of these sources (training.sources' name[=path]), both crop paths, "
        "written to by_source.json; e.g. utkface,aaf,celeba",
    )
    parser.add_argument("--holdout_source", default="", help="with --sources: evaluate this source on all its faces")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from agegender.contract import load_contract

    contract = load_contract(args.model)
    size = contract.input_size
    if args.sources:
        from training.options import build_parser
        from training.sources import load_mixed, parse_source

        mixed = load_mixed(
            [parse_source(entry, args.data) for entry in args.sources.split(",") if entry.strip()],
            size,
            views=0,
            seed=build_parser().get_default("seed"),  # training's: the same evaluation views, from the cache
            cache_dir=args.cache_dir,
            holdout=args.holdout_source,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            crop_scale=contract.crop_scale,
        )
        evaluate_checks(args.model, mixed.checks, args.output_dir)
        return 0
    data = load_faces(
        args.data, size, val_fraction=args.val_fraction, test_fraction=args.test_fraction, cache_dir=args.cache_dir
    )
    evaluate_tflite(
        args.model,
        data.subset(args.split),
        args.output_dir,
        history_csv=args.history,
        dataset_summary=training_summary(args.output_dir, contract.version) or label_summary(data),
        reference=args.reference,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
