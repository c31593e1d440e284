"""Evaluate a TFLite model on a UTKFace split, through the Lambda's own inference code.

    python -m training.evaluate --model models/agegender.tflite --split test --output_dir models/evaluation

Writes ``metrics.json`` and PNG plots: label distributions, gender confusion matrix,
age error by age group, per-race figures, a grid of sample predictions, training curves.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from agegender import labels
from agegender.classifier import AgeGenderClassifier, BatchPrediction
from training.dataset import CHILD_AGE, UNKNOWN, FaceDataset, label_summary, load_faces

log = logging.getLogger(__name__)


def _gender_report(truth: np.ndarray, predicted: np.ndarray) -> dict[str, object]:
    matrix = np.zeros((2, 2), dtype=int)  # rows: true Male/Female, columns: predicted
    np.add.at(matrix, (truth, predicted), 1)
    per_class = {}
    for index, name in enumerate(labels.GENDERS):
        tp = matrix[index, index]
        precision = tp / max(1, matrix[:, index].sum())
        recall = tp / max(1, matrix[index, :].sum())
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": float(precision), "recall": float(recall), "f1": float(f1)}
    return {"labels": list(labels.GENDERS), "confusion_matrix": matrix.tolist(), "per_class": per_class}


#: Confidence bins (0.5-1.0) of the gender reliability table and its expected calibration error.
CALIBRATION_BINS = 10


def gender_calibration(p_female: np.ndarray, true_genders: np.ndarray, bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """How well ``Gender.Confidence`` means what it says: per confidence bin, the share of faces, their mean
    confidence and their accuracy, and the expected calibration error (the share-weighted gap).
    """
    p = np.asarray(p_female, dtype=np.float64)
    confidence = np.maximum(p, 1 - p)
    correct = (p >= 0.5).astype(int) == np.asarray(true_genders, dtype=int)
    edges = np.linspace(0.5, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    table, error = [], 0.0
    for b in range(bins):
        mask = index == b
        if not mask.any():
            continue
        share, mean_conf, accuracy = float(mask.mean()), float(confidence[mask].mean()), float(correct[mask].mean())
        error += share * abs(accuracy - mean_conf)
        table.append({"from": float(edges[b]), "to": float(edges[b + 1]), "share": share,
                      "mean_confidence": mean_conf, "accuracy": accuracy})  # fmt: skip
    return {"expected_calibration_error": error, "bins": table}


def _jpeg(image: Image.Image, quality: int = 75) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(buffer).convert("RGB")


#: Small changes a photo goes through between camera and Lambda; a stable classifier keeps its decision.
PERTURBATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "jpeg_q75": _jpeg,
    "half_size": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR).resize(
        im.size, Image.Resampling.BILINEAR
    ),
    "blur_1px": lambda im: im.filter(ImageFilter.GaussianBlur(1)),
}


def gender_flip_rates(classifier: AgeGenderClassifier, inputs: np.ndarray) -> dict[str, float]:
    """Share of faces whose gender decision changes when the model input is JPEG-75, halved and
    enlarged back, or blurred by 1 px (each alone).
    """
    base = classifier.predict_inputs(inputs).p_female >= 0.5
    rates = {}
    for name, perturb in PERTURBATIONS.items():
        changed = np.stack([np.asarray(perturb(Image.fromarray(face)), dtype=np.uint8) for face in inputs])
        rates[name] = float(np.mean((classifier.predict_inputs(changed).p_female >= 0.5) != base))
    return rates


#: Age bands the race gap is also reported in: (name, lowest age, first age above), the last open-ended.
#: Babies' apparent gender is close to chance, so a group's share of them moves its accuracy.
RACE_GAP_AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("under 3", 0, 3),
    (f"3-{CHILD_AGE - 1}", 3, CHILD_AGE),
    (f"{CHILD_AGE} and over", CHILD_AGE, None),
)


def _gap_points(by_race: dict[str, dict[str, float | int]]) -> float:
    """Best minus worst gender accuracy over the groups with faces, in percentage points."""
    accuracies = [v["gender_accuracy"] for v in by_race.values() if v["count"]]
    return float(100 * (max(accuracies) - min(accuracies))) if accuracies else 0.0


def compute_metrics(
    true_ages: np.ndarray,
    true_genders: np.ndarray,
    races: np.ndarray,
    p_female: np.ndarray,
    pred_ages: np.ndarray,
    pred_age_std: np.ndarray | None = None,
) -> dict[str, Any]:
    """All evaluation figures from labels and predictions (plain numpy, no model).

    Ages above ``MAX_AGE`` count as ``MAX_AGE`` (the model cannot say more). Gender
    accuracy gaps are in percentage points.
    """
    truth_age = labels.clip_age(np.asarray(true_ages, dtype=np.float64))
    true_genders = np.asarray(true_genders, dtype=int)
    races = np.asarray(races, dtype=int)
    pred_gender = (np.asarray(p_female) >= 0.5).astype(int)
    pred_ages = np.asarray(pred_ages, dtype=np.float64)
    correct = pred_gender == true_genders
    abs_err = np.abs(pred_ages - truth_age)

    def slice_figures(mask: np.ndarray) -> dict[str, float | int]:
        count = int(mask.sum())
        if count == 0:
            return {"count": 0}
        return {"count": count, "gender_accuracy": float(correct[mask].mean()), "age_mae": float(abs_err[mask].mean())}

    adience_true = labels.ADIENCE_GROUPS.index_of(truth_age)
    adience_pred = labels.ADIENCE_GROUPS.index_of(pred_ages)

    def by_race_in(mask: np.ndarray) -> dict[str, dict[str, float | int]]:
        return {labels.RACES[r]: slice_figures(mask & (races == r)) for r in range(len(labels.RACES))}

    by_race = by_race_in(np.ones(len(correct), dtype=bool))
    aged = np.asarray(true_ages) != UNKNOWN
    by_band = {
        name: by_race_in(aged & (truth_age >= low) & (truth_age < (np.inf if high is None else high)))
        for name, low, high in RACE_GAP_AGE_BANDS
    }
    groups = labels.DEFAULT_AGE_GROUPS
    group_index = groups.index_of(truth_age)
    metrics: dict[str, Any] = {
        "faces": int(np.size(truth_age)),
        "gender_accuracy": float(correct.mean()),
        "gender": _gender_report(true_genders, pred_gender),
        "gender_calibration": gender_calibration(p_female, true_genders),
        "age_mae": float(abs_err.mean()),
        "age_median_abs_error": float(np.median(abs_err)),
        "age_bias": float((pred_ages - truth_age).mean()),
        "adience_exact_accuracy": float((adience_true == adience_pred).mean()),
        "adience_one_off_accuracy": float((np.abs(adience_true - adience_pred) <= 1).mean()),
        "by_race": by_race,
        "race_gender_accuracy_gap": _gap_points(by_race),
        "race_gap_by_age": {name: {"gap": _gap_points(band), "by_race": band} for name, band in by_band.items()},
        "by_age_group": {name: slice_figures(group_index == i) for i, name in enumerate(groups.names)},
        "by_adience_group": {
            name: slice_figures(adience_true == i) for i, name in enumerate(labels.ADIENCE_GROUPS.names)
        },
    }
    if pred_age_std is not None:
        ranges = [labels.age_range(m, s) for m, s in zip(pred_ages, pred_age_std, strict=True)]
        low, high = np.array(ranges).T
        metrics["age_range_coverage"] = float(((truth_age >= low) & (truth_age <= high)).mean())
        metrics["age_range_mean_width"] = float((high - low).mean())
    return metrics


def check_figures(
    classifier: AgeGenderClassifier, faces: FaceDataset, prediction: BatchPrediction | None = None
) -> dict[str, Any]:
    """The compact figures of one source and path: gender accuracy, age MAE (faces with an age), ECE, flip rates."""
    if prediction is None:
        prediction = classifier.predict_inputs(faces.images)
    aged = faces.ages != UNKNOWN
    errors = np.abs(prediction.age[aged] - labels.clip_age(faces.ages[aged]))
    return {
        "faces": len(faces),
        "gender_accuracy": float(((prediction.p_female >= 0.5) == (faces.genders == 1)).mean()),
        "age_mae": float(errors.mean()) if aged.any() else None,
        "gender_ece": gender_calibration(prediction.p_female, faces.genders)["expected_calibration_error"],
        "gender_flip_rate": gender_flip_rates(classifier, faces.images),
    }


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


#: The ``history.csv`` column an epoch is chosen on: the mean over the sources of each one's detect+crop
#: validation gender accuracy (``val_<source>_gender_acc``), logged by ``training.callbacks.SourceValidation``.
SELECTION_METRIC = "val_sources_gender_acc"
#: The validation reliability report and diagram ``evaluate_checks`` writes (every source, both paths).
RELIABILITY_NAME = "reliability_validation"


def write_reliability(output_dir: Path, p_female: np.ndarray, genders: np.ndarray, keys: list[str]) -> dict[str, Any]:
    """The reliability table of these faces' gender confidence as JSON and as a diagram (PNG)."""
    report = {"faces": len(genders), "checks": keys, **gender_calibration(p_female, genders)}
    (output_dir / f"{RELIABILITY_NAME}.json").write_text(json.dumps(report, indent=2) + "\n")
    plot_reliability(report, output_dir / f"{RELIABILITY_NAME}.png")
    return report


def plot_reliability(report: dict[str, Any], path: Path) -> None:
    """The reliability diagram of a ``write_reliability`` report: accuracy against confidence per bin, and shares."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = report["bins"]
    centres = [(b["from"] + b["to"]) / 2 for b in bins]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0.5, 1.0], [0.5, 1.0], color="grey", linestyle="--", label="perfect calibration")
    top.bar(centres, [b["accuracy"] for b in bins], width=0.045, color="tab:blue", alpha=0.7, label="accuracy")
    top.plot([b["mean_confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", color="tab:orange",
             label="accuracy at mean confidence")  # fmt: skip
    top.set_ylim(0.4, 1.0)
    top.set_ylabel("share of decisions right")
    ece = 100 * report["expected_calibration_error"]
    top.set_title(f"Gender confidence, {report['faces']:,} validation faces: ECE {ece:.2f}%", fontsize=10)
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(centres, [b["share"] for b in bins], width=0.045, color="tab:grey")
    bottom.set_xlabel("Gender.Confidence")
    bottom.set_ylabel("share of faces")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _read_history(path: Path) -> dict[str, list[float]]:
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {})}


def write_plots(
    output_dir: Path,
    metrics: dict[str, Any],
    dataset: FaceDataset,
    pred_ages: np.ndarray,
    p_female: np.ndarray,
    history_csv: Path | None = None,
) -> list[Path]:
    """Write the report's PNG plots; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []

    def save(fig, name: str) -> None:
        path = output_dir / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    axes[0].bar(labels.GENDERS, [int((dataset.genders == g).sum()) for g in range(2)], color=["tab:blue", "tab:red"])
    axes[0].set_title("gender")
    axes[1].hist(dataset.ages, bins=range(0, 118, 2), color="tab:gray")
    axes[1].set_title("age (years)")
    axes[2].bar(labels.RACES, [int((dataset.races == r).sum()) for r in range(len(labels.RACES))], color="tab:green")
    axes[2].set_title("race")
    fig.suptitle(f"label distributions ({len(dataset)} faces)")
    save(fig, "label_distributions.png")

    gender = metrics["gender"]
    fig, ax = plt.subplots(figsize=(4, 3.5))
    matrix = np.array(gender["confusion_matrix"])
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", color="black" if value < matrix.max() / 2 else "white")
    ax.set_xticks([0, 1], labels.GENDERS)
    ax.set_yticks([0, 1], labels.GENDERS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"gender accuracy {100 * metrics['gender_accuracy']:.1f}%")
    save(fig, "gender_confusion.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for ax, (key, title) in zip(
        axes, [("by_adience_group", "Adience group"), ("by_age_group", "age group")], strict=True
    ):
        groups = {k: v for k, v in metrics[key].items() if v["count"]}
        ax.bar(list(groups), [v["age_mae"] for v in groups.values()], color="tab:orange")
        ax.set_title(f"age MAE by {title} (overall {metrics['age_mae']:.2f} y)")
        ax.set_ylabel("years")
        ax.tick_params(axis="x", rotation=30)
    save(fig, "age_error_by_group.png")

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    races = {k: v for k, v in metrics["by_race"].items() if v["count"]}
    axes[0].bar(list(races), [100 * v["gender_accuracy"] for v in races.values()], color="tab:purple")
    axes[0].set_ylim(min(80, *(100 * v["gender_accuracy"] for v in races.values())) - 2, 100)
    axes[0].set_title(f"gender accuracy by race (gap {metrics['race_gender_accuracy_gap']:.1f} pts)")
    axes[1].bar(list(races), [v["age_mae"] for v in races.values()], color="tab:purple")
    axes[1].set_title("age MAE by race")
    truth = labels.clip_age(dataset.ages)
    axes[2].scatter(truth, pred_ages, s=3, alpha=0.3)
    axes[2].plot([0, labels.MAX_AGE], [0, labels.MAX_AGE], color="black", linewidth=1)
    axes[2].set_xlabel("true age")
    axes[2].set_ylabel("predicted age")
    axes[2].set_title("age: predicted vs true")
    save(fig, "per_group.png")

    count = min(24, len(dataset))
    picks = np.random.default_rng(0).choice(len(dataset), size=count, replace=False)
    cols = 8
    rows = max(1, int(np.ceil(count / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.9), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), picks, strict=False):
        predicted = labels.gender_decision(float(p_female[i]))[0][0]
        ok = predicted == labels.GENDERS[dataset.genders[i]][0]
        ax.imshow(dataset.images[i])
        ax.set_title(
            f"{predicted} {pred_ages[i]:.0f}\n(true {labels.GENDERS[dataset.genders[i]][0]} {dataset.ages[i]})",
            fontsize=7,
            color="black" if ok else "red",
        )
    save(fig, "sample_predictions.png")

    if history_csv is not None and history_csv.exists():
        history = _read_history(history_csv)
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
        for ax, metric, title in [
            (axes[0], "gender_acc", "gender accuracy"),
            (axes[1], "age_probs_age_mae", "age MAE (years)"),
        ]:
            for prefix, style in (("", "-"), ("val_", "--")):
                if prefix + metric in history:
                    ax.plot(history["epoch"], history[prefix + metric], style, label=prefix.rstrip("_") or "train")
            ax.set_xlabel("epoch")
            ax.set_title(title)
            ax.legend()
        save(fig, "training_curves.png")
    return written


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
