"""Gender confidence calibration: a temperature fitted on validation faces and folded into the model.

``Gender.Confidence`` should mean what it says (of the faces given 80%, four in five right).
A single temperature ``T`` on the gender logit (``p = sigmoid(z / T)``) is the standard
post-hoc fix for a network's over- or under-confidence; it never changes a decision. It is
fitted here on every source's validation faces through both crop paths, minimising the
negative log-likelihood of exactly what the runtime reports (with ``flip_average``, the mean
of the face's and its mirror view's probabilities), and then folded into the gender layer's
weights (``z / T`` is the same layer with kernel and bias divided by ``T``), so the exported
model and its contract need nothing new at run time; the contract records the temperature.
The ``model.keras`` a training run saves stays as trained: every export fits and folds afresh.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

import keras
import numpy as np

from agegender.contract import GENDER_OUTPUT
from training.metrics import gender_calibration
from training.parity import keras_outputs

log = logging.getLogger(__name__)

#: Fewer validation faces than this fit noise, not calibration: the temperature stays 1.
MIN_CALIBRATION_FACES = 500
#: The search range of ``log(T)``: T from about 0.22 to 4.5, far beyond what a trained network needs.
LOG_T_RANGE = (-1.5, 1.5)
_EPS = 1e-6


@dataclass(frozen=True)
class Calibration:
    """The fitted temperature and what it does to validation faces."""

    temperature: float
    faces: int
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _logits(p_views: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p_views, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def calibrated(p_views: np.ndarray, temperature: float) -> np.ndarray:
    """The reported P(female) of each face, ``(N, V)`` per-view probabilities -> ``(N,)``, at ``temperature``."""
    return np.mean(1.0 / (1.0 + np.exp(-_logits(p_views) / temperature)), axis=1)


def negative_log_likelihood(p_views: np.ndarray, genders: np.ndarray, temperature: float) -> float:
    """Mean NLL of the true genders (1 = female) under the reported probabilities at ``temperature``."""
    p = np.clip(calibrated(p_views, temperature), _EPS, 1 - _EPS)
    y = np.asarray(genders, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def fit_temperature(p_views: np.ndarray, genders: np.ndarray, iterations: int = 60) -> Calibration:
    """Golden-section search of ``log(T)`` for the lowest NLL (the NLL is unimodal in ``T``)."""
    p_views = np.asarray(p_views, dtype=np.float64).reshape(len(genders), -1)
    lo, hi = LOG_T_RANGE
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = (negative_log_likelihood(p_views, genders, math.exp(x)) for x in (a, b))
    for _ in range(iterations):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = negative_log_likelihood(p_views, genders, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = negative_log_likelihood(p_views, genders, math.exp(b))
    temperature = math.exp((lo + hi) / 2)
    return Calibration(
        temperature=temperature,
        faces=len(genders),
        nll_before=negative_log_likelihood(p_views, genders, 1.0),
        nll_after=negative_log_likelihood(p_views, genders, temperature),
        ece_before=gender_calibration(calibrated(p_views, 1.0), genders)["expected_calibration_error"],
        ece_after=gender_calibration(calibrated(p_views, temperature), genders)["expected_calibration_error"],
    )


def view_probabilities(
    model: keras.Model, images: np.ndarray, *, flip_average: bool, mirror_resolution: float = 1.0
) -> np.ndarray:
    """``(N, V)`` P(female) from the Keras model: the face, and with ``flip_average`` its mirror view."""
    outputs = keras_outputs(model, images, flip_average=flip_average, mirror_resolution=mirror_resolution)
    return np.asarray(outputs[GENDER_OUTPUT]).reshape(-1, len(images)).T


def fold_temperature(model: keras.Model, temperature: float) -> None:
    """Divide the gender layer's kernel and bias by ``temperature`` (in place): ``sigmoid(z / T)``."""
    layer = model.get_layer(GENDER_OUTPUT)
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel / temperature, bias / temperature])


def calibrate(
    model: keras.Model, images: np.ndarray, genders: np.ndarray, *, flip_average: bool, mirror_resolution: float = 1.0
) -> Calibration:
    """Fit the temperature on these (validation) faces and fold it into ``model``."""
    views = view_probabilities(model, images, flip_average=flip_average, mirror_resolution=mirror_resolution)
    fitted = fit_temperature(views, genders)
    fold_temperature(model, fitted.temperature)
    log.info("gender temperature %.3f folded in: %s", fitted.temperature, fitted.as_dict())
    return fitted
