"""The evaluation's pictures: label distributions, confusion, errors per group, training curves, reliability.

Matplotlib is imported inside each function (Agg backend), so importing this module stays cheap.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from agegender import labels
from training.dataset import FaceDataset
from training.metrics import gender_calibration

#: The validation reliability report and diagram (every source, both paths; ``training.evaluate``).
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
