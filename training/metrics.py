"""What a classifier's answers say about it: gender and age figures, per group, calibration and stability.

Pure numpy over predictions and labels (``compute_metrics``, ``gender_calibration``), plus the two
figures that run the classifier again on changed copies of the faces (``gender_flip_rates``,
``check_figures``). ``training.evaluate`` runs them and ``training.plots`` draws them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from agegender import labels
from agegender.classifier import AgeGenderClassifier, BatchPrediction
from training.dataset import CHILD_AGE, UNKNOWN, FaceDataset

#: The ``history.csv`` column an epoch is chosen on: the mean over the sources of each one's detect+crop
#: validation gender accuracy (``val_<source>_gender_acc``), logged by ``training.callbacks.SourceValidation``.
SELECTION_METRIC = "val_sources_gender_acc"


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
