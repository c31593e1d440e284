"""Per-source validation after every epoch, and keeping the epoch that generalises best (``SELECTION_METRIC``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np

from agegender.contract import AGE_OUTPUT, GENDER_OUTPUT
from training.dataset import UNKNOWN, FaceDataset
from training.metrics import SELECTION_METRIC


def source_figures(model: keras.Model, faces: FaceDataset) -> tuple[float, float]:
    """Gender accuracy and age MAE (over faces with an age; NaN without) of ``model`` on ``faces``."""
    outputs = model.predict(faces.images.astype("float32"), batch_size=256, verbose=0)
    p_female = np.asarray(outputs[GENDER_OUTPUT]).reshape(-1)
    probs = np.asarray(outputs[AGE_OUTPUT])
    expected = probs @ np.arange(probs.shape[1], dtype=np.float64)
    aged = faces.ages != UNKNOWN
    mae = float(np.abs(expected[aged] - faces.ages[aged]).mean()) if aged.any() else float("nan")
    return float(((p_female >= 0.5) == (faces.genders == 1)).mean()), mae


class SourceValidation(keras.callbacks.Callback):
    """Logs every source's validation figures and keeps the weights of the best epoch on their mean gender accuracy.

    The best weights and score live in ``best_dir`` (beside the run's checkpoints), so an
    interrupted and resumed run still knows its best epoch.
    """

    def __init__(self, model: keras.Model, sources: dict[str, FaceDataset], best_dir: Path) -> None:
        super().__init__()
        self.inference_model = model
        self.sources = {name: faces for name, faces in sources.items() if len(faces)}
        self.best_dir = best_dir
        self.weights = best_dir / "best.weights.h5"
        self.score_file = best_dir / "best.json"

    def best(self) -> dict[str, float]:
        """The best epoch so far and its score (empty before the first)."""
        return json.loads(self.score_file.read_text()) if self.score_file.exists() else {}

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if logs is None or not self.sources:
            return
        accuracies = []
        for name, faces in self.sources.items():
            accuracy, mae = source_figures(self.inference_model, faces)
            logs[f"val_{name}_gender_acc"] = accuracy
            logs[f"val_{name}_age_mae"] = mae
            accuracies.append(accuracy)
        logs[SELECTION_METRIC] = score = float(np.mean(accuracies))
        if score > self.best().get("score", -1.0):
            self.best_dir.mkdir(parents=True, exist_ok=True)
            self.inference_model.save_weights(self.weights)
            self.score_file.write_text(json.dumps({"epoch": epoch, "score": score}) + "\n")

    def restore_best(self) -> None:
        """Load the best epoch's weights into the inference model (no-op before any epoch finished)."""
        if self.weights.exists():
            self.inference_model.load_weights(self.weights)


class TimeBudget(keras.callbacks.Callback):
    """Ends training after the first epoch that finishes ``minutes`` after training began (a machine lent for
    a fixed time, SageMaker's ``max_run``): the best epoch so far is kept as usual.
    """

    def __init__(self, minutes: float) -> None:
        super().__init__()
        self.minutes = minutes
        self.started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if time.monotonic() - self.started > self.minutes * 60:
            self.model.stop_training = True
