"""Parity of an exported model with the Keras model, decoded by the runtime's own code."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from agegender import labels
from agegender.classifier import BatchPrediction, decode_outputs, with_mirror_images
from agegender.contract import AGE_OUTPUT, GENDER_OUTPUT

#: Parity bars for a TFLite variant against the Keras model on the test split.
MIN_GENDER_AGREEMENT = 0.995
MAX_MAE_DELTA = 0.3


def keras_outputs(
    model: keras.Model, inputs: np.ndarray, *, flip_average: bool = False, mirror_resolution: float = 1.0
) -> dict[str, np.ndarray]:
    """The Keras model's raw outputs for the views the runtime feeds it: the faces, then (with
    ``flip_average``) their mirror views (``with_mirror_images``).
    """
    batch = with_mirror_images(inputs, mirror_resolution) if flip_average else inputs
    return model.predict(batch.astype(np.float32), batch_size=256, verbose=0)


def keras_predict(
    model: keras.Model, inputs: np.ndarray, *, flip_average: bool = False, mirror_resolution: float = 1.0
) -> BatchPrediction:
    """The Keras model's predictions, combined and decoded by the runtime's ``decode_outputs``."""
    outputs = keras_outputs(model, inputs, flip_average=flip_average, mirror_resolution=mirror_resolution)
    return decode_outputs(outputs[GENDER_OUTPUT], outputs[AGE_OUTPUT], flip_average=flip_average)


@dataclass(frozen=True)
class ParityReport:
    """How a TFLite variant compares with the Keras model on the same faces."""

    quantization: str
    faces: int
    gender_agreement: float
    mae_keras: float
    mae_tflite: float
    mae_delta: float
    mean_abs_age_difference: float
    passed: bool


def parity(
    quantization: str, reference: BatchPrediction, candidate: BatchPrediction, true_ages: np.ndarray
) -> ParityReport:
    """Gender decisions must agree on >= 99.5% of faces and the age MAE differ by <= 0.3 years."""
    truth = labels.clip_age(true_ages.astype(np.float64))
    agreement = float(np.mean((reference.p_female >= 0.5) == (candidate.p_female >= 0.5)))
    mae_ref = float(np.mean(np.abs(reference.age - truth)))
    mae_cand = float(np.mean(np.abs(candidate.age - truth)))
    delta = abs(mae_cand - mae_ref)
    return ParityReport(
        quantization=quantization,
        faces=int(np.size(truth)),
        gender_agreement=agreement,
        mae_keras=mae_ref,
        mae_tflite=mae_cand,
        mae_delta=delta,
        mean_abs_age_difference=float(np.mean(np.abs(candidate.age - reference.age))),
        passed=agreement >= MIN_GENDER_AGREEMENT and delta <= MAX_MAE_DELTA,
    )
