"""The gender temperature: fitted on labelled probabilities, folded into the network's gender layer."""

import keras
import numpy as np
import pytest

from agegender.contract import GENDER_OUTPUT
from training.calibration import calibrate, calibrated, fit_temperature, fold_temperature, view_probabilities
from training.model import build_model


def _overconfident(temperature: float, faces: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two views per face whose true logit is ``z``, reported as ``z * temperature`` (too sure when T > 1)."""
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(0.0, 2.0, faces)
    genders = (rng.random(faces) < 1 / (1 + np.exp(-true_logit))).astype(int)
    views = true_logit[:, None] + rng.normal(0.0, 0.1, (faces, 2))
    return 1 / (1 + np.exp(-views * temperature)), genders


@pytest.mark.parametrize("temperature", [0.6, 1.0, 2.0])
def test_the_fit_recovers_the_temperature_and_lowers_the_error(temperature):
    p_views, genders = _overconfident(temperature)
    fitted = fit_temperature(p_views, genders)
    assert fitted.temperature == pytest.approx(temperature, rel=0.12)
    assert fitted.nll_after <= fitted.nll_before + 1e-9
    if temperature != 1.0:
        assert fitted.ece_after < fitted.ece_before
    # A temperature never changes a decision.
    assert np.array_equal(calibrated(p_views, fitted.temperature) >= 0.5, calibrated(p_views, 1.0) >= 0.5)


def test_folding_divides_the_gender_logit_and_leaves_age_alone():
    keras.utils.set_random_seed(3)
    model = build_model("resnet_small", 32, width=0.25)
    images = np.random.default_rng(1).integers(0, 256, (12, 32, 32, 3)).astype("float32")
    before = model.predict(images, verbose=0)
    p_views = view_probabilities(model, images, flip_average=True)
    fold_temperature(model, 2.5)
    after = model.predict(images, verbose=0)
    np.testing.assert_allclose(after["age_probs"], before["age_probs"], atol=1e-6)
    np.testing.assert_allclose(
        view_probabilities(model, images, flip_average=True).mean(axis=1), calibrated(p_views, 2.5), atol=1e-5
    )
    assert p_views.shape == (12, 2)
    assert np.asarray(after[GENDER_OUTPUT]).shape == (12, 1)


def test_calibrate_fits_and_folds_in_one_step():
    keras.utils.set_random_seed(4)
    model = build_model("resnet_small", 32, width=0.25)
    images = np.random.default_rng(2).integers(0, 256, (40, 32, 32, 3)).astype("float32")
    genders = np.random.default_rng(3).integers(0, 2, 40)
    kernel = model.get_layer(GENDER_OUTPUT).get_weights()[0].copy()
    fitted = calibrate(model, images, genders, flip_average=False)
    np.testing.assert_allclose(model.get_layer(GENDER_OUTPUT).get_weights()[0], kernel / fitted.temperature)
    assert fitted.faces == 40
