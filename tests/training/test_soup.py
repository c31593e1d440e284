"""Averaging the weights of fine-tuned runs (training.soup)."""

import keras
import numpy as np
import pytest

from training.model import build_model
from training.soup import average, main


def _models(count: int, arch: str = "plain_cnn", width: float = 0.25) -> list[keras.Model]:
    models = []
    for seed in range(count):
        keras.utils.set_random_seed(seed)
        models.append(build_model(arch, 32, width=width))
    return models


def test_every_weight_is_the_mean_of_the_runs():
    models = _models(3)
    expected = [np.mean(ws, axis=0) for ws in zip(*(m.get_weights() for m in models), strict=True)]
    soup = average(models)
    for got, want in zip(soup.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert not np.allclose(soup.get_weights()[0], _models(1)[0].get_weights()[0])  # not just the first run


def test_runs_of_different_networks_are_refused():
    with pytest.raises(ValueError, match="one architecture"):
        average([*_models(1), *_models(1, width=0.5)])
    with pytest.raises(ValueError, match="no models"):
        average([])


def test_the_command_writes_a_loadable_soup(tmp_path):
    paths = []
    for index, model in enumerate(_models(2)):
        paths.append(tmp_path / f"run{index}.keras")
        model.save(paths[-1])
    main(["--models", *map(str, paths), "--output", str(tmp_path / "soup" / "model.keras")])
    soup = keras.models.load_model(tmp_path / "soup" / "model.keras", compile=False)
    want = (keras.models.load_model(paths[0]).get_weights()[0] + keras.models.load_model(paths[1]).get_weights()[0]) / 2
    np.testing.assert_allclose(soup.get_weights()[0], want, rtol=1e-6)
