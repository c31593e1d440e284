"""Averaging the weights of fine-tuned runs (training.soup)."""

import json

import keras
import numpy as np
import pytest

from training.model import build_model
from training.soup import average, averaged_run, main


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


def test_the_soup_records_its_members_and_the_export_carries_them(tmp_path):
    paths = []
    for index, model in enumerate(_models(2)):
        run_dir = tmp_path / f"run{index}"
        run_dir.mkdir()
        paths.append(run_dir / "model.keras")
        model.save(paths[-1])
        record = {"command": f"python -m training.train --fit_seed {index}", "hyperparameters": {"epochs": 2 + index},
                  "train_wall_seconds": 100.0 * (index + 1), "parity": "not a member field"}  # fmt: skip
        (run_dir / "run.json").write_text(json.dumps(record))
    output = tmp_path / "soup" / "model.keras"
    main(["--models", *map(str, paths), "--output", str(output)])

    soup = json.loads((tmp_path / "soup" / "model.json").read_text())
    assert soup["command"] == f"python -m training.soup --models {paths[0]} {paths[1]} --output {output}"
    assert [m["command"] for m in soup["members"]] == ["python -m training.train --fit_seed 0",
                                                        "python -m training.train --fit_seed 1"]  # fmt: skip
    assert "parity" not in soup["members"][0]

    run = averaged_run(output, "python -m training.export --keras_model soup/model.keras")
    assert run["command"] == f"{soup['command']} && python -m training.export --keras_model soup/model.keras"
    assert run["hyperparameters"] == {"epochs": 2}  # the first member's recipe
    assert run["train_wall_seconds"] == 300.0  # the members' together
    assert run["averaged_from"] == [m["command"] for m in soup["members"]]
    assert averaged_run(paths[0], "export") == {}  # a plain run's model has no soup record


def test_members_without_a_run_record_are_named_by_their_file(tmp_path):
    paths = []
    for index, model in enumerate(_models(2)):
        paths.append(tmp_path / f"m{index}.keras")
        model.save(paths[-1])
    main(["--models", *map(str, paths), "--output", str(tmp_path / "soup.keras")])
    run = averaged_run(tmp_path / "soup.keras", "export")
    assert run["averaged_from"] == [str(p) for p in paths]
    assert run["train_wall_seconds"] is None
    assert run["hyperparameters"] is None
    assert json.loads((tmp_path / "soup.json").read_text())["members"][0]["command"] is None
