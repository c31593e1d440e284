"""A tiny end-to-end training run under the SageMaker environment contract."""

import json

import keras
import numpy as np
import pytest

from agegender.classifier import AgeGenderClassifier
from training import export, options, train
from training import run as training_run

pytestmark = pytest.mark.slow

TINY = ["--input_size", "32", "--width", "0.25", "--batch_size", "16", "--representative_images", "16"]


@pytest.fixture
def sagemaker_env(monkeypatch, tmp_path, utkface_archive):
    dirs = {"model": tmp_path / "opt/ml/model", "output": tmp_path / "opt/ml/output/data"}
    monkeypatch.setenv("SM_CHANNEL_TRAINING", str(utkface_archive))
    monkeypatch.setenv("SM_MODEL_DIR", str(dirs["model"]))
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(dirs["output"]))
    dirs["checkpoints"] = tmp_path / "checkpoints"
    dirs["ship"] = tmp_path / "ship"
    return dirs


def test_hyperparameters_are_explicit_and_unknown_ones_ignored(sagemaker_env):
    args = options.parse_args(
        ["--augment", "false", "--epochs", "3", "--model_dir", "s3://bucket/job/model", "--x", "1"]
    )
    assert args.augment is False
    assert args.epochs == 3
    assert args.sm_model_dir == sagemaker_env["model"]
    assert args.output_data_dir == sagemaker_env["output"]
    assert options.parse_args(["--augment", "TRUE"]).augment is True
    with pytest.raises(SystemExit):
        options.parse_args(["--augment"])  # no store_true flags: a value is required


def test_the_fit_seed_defaults_to_the_data_seed(sagemaker_env):
    assert training_run.fit_seed(options.parse_args(["--seed", "7"])) == 7
    args = options.parse_args(["--seed", "7", "--fit_seed", "2"])
    assert (args.seed, training_run.fit_seed(args)) == (7, 2)  # same camera views, another shuffle and dropout


def test_train_export_evaluate_ship(sagemaker_env):
    argv = [*TINY, "--epochs", "2", "--model_dir", "s3://bucket/job/model", "--checkpoint_dir",
            str(sagemaker_env["checkpoints"]), "--ship_dir", str(sagemaker_env["ship"])]  # fmt: skip
    assert train.main(argv) == 0
    model_dir, output = sagemaker_env["model"], sagemaker_env["output"]
    assert (model_dir / "1" / "saved_model.pb").exists()
    for quantization in ("float32", "int8"):
        assert (model_dir / f"agegender_{quantization}.tflite").stat().st_size > 1000
        assert (model_dir / f"agegender_{quantization}.contract.json").exists()
    parity = json.loads((model_dir / "parity.json").read_text())
    assert parity["reports"]["float32"]["passed"]  # float32 must match Keras exactly enough
    assert parity["reports"]["float32"]["gender_agreement"] == 1.0
    assert parity["flip_average"] is True  # the default: both views averaged, on both sides of the comparison
    assert json.loads((model_dir / "agegender_int8.contract.json").read_text())["flip_average"] is True
    run = json.loads((output / "run.json").read_text())
    assert run["shipped"] == f"agegender_{parity['shipped']}.tflite"
    # 17 validation faces are too few to fit a temperature (tests/training/test_calibration.py fits one).
    assert run["gender_calibration"] == {
        "temperature": 1.0,
        "fitted_on": ["utkface/val/aligned"],
        "skipped": "17 validation faces < 500",
    }
    contract = json.loads((model_dir / "agegender_int8.contract.json").read_text())
    assert contract["extra"]["gender_temperature"] == 1.0
    assert contract["mirror_resolution"] == 0.5  # the recipe's default second view
    assert set(run["test_metrics"]) == {"gender_accuracy", "age_mae", "race_gender_accuracy_gap", "evaluated"}
    assert run["test_metrics"]["evaluated"] == "utkface/test/aligned"
    assert "utkface/test/aligned" in run["by_source"]  # synthetic faces: the detector finds none to add
    metrics = json.loads((output / "evaluation" / "metrics.json").read_text())
    assert metrics["model"]["quantization"] == parity["shipped"]
    other = "float32" if parity["shipped"] == "int8" else "int8"
    assert metrics["parity_vs_reference"]["reference"] == f"agegender_{other}.tflite"
    assert metrics["parity_vs_reference"]["faces"] == metrics["faces"]
    assert (output / "evaluation" / "training_curves.png").exists()
    assert (sagemaker_env["ship"] / "agegender.tflite").exists()
    assert (sagemaker_env["ship"] / "agegender.contract.json").exists()
    assert (sagemaker_env["ship"] / "evaluation" / "metrics.json").exists()
    assert (sagemaker_env["ship"] / "evaluation" / "reliability_validation.png").exists()
    assert (output / "evaluation" / "sample_predictions.png").exists()
    assert not (sagemaker_env["ship"] / "evaluation" / "sample_predictions.png").exists()  # dataset faces
    assert (sagemaker_env["ship"] / f"agegender_{other}.contract.json").exists()
    assert (sagemaker_env["ship"] / "training" / "parity.json").exists()
    card = (sagemaker_env["ship"] / "MODEL_CARD.md").read_text()
    assert "Test-split figures" in card
    assert f"{100 * metrics['gender_accuracy']:.2f}%" in card
    assert "non-commercial" in card
    assert "- Weights kept: the last (no per-source validation recorded)." in card  # synthetic faces: none detected
    assert run["command"].startswith("python -m training.train --input_size 32")
    assert (output / "model.keras").exists()

    # The same steps from the saved .keras model (how a model trained on JAX, without TF, is exported).
    again = sagemaker_env["ship"].parent / "ship-again"
    assert export.main(["--keras_model", str(output / "model.keras"), "--ship_dir", str(again), *TINY[:2]]) == 0
    faces = np.random.default_rng(3).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    first = AgeGenderClassifier(sagemaker_env["ship"] / "agegender.tflite").predict_inputs(faces)
    second = AgeGenderClassifier(again / "agegender.tflite").predict_inputs(faces)
    # Re-calibrating int8 may move outputs by a quantisation step; decisions must not change.
    np.testing.assert_array_equal(first.p_female >= 0.5, second.p_female >= 0.5)
    np.testing.assert_allclose(first.p_female, second.p_female, atol=0.02)
    np.testing.assert_allclose(first.age, second.age, atol=0.5)


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("simulated preemption")


def test_interrupted_run_resumes_from_its_checkpoint(sagemaker_env):
    argv = [*TINY, "--epochs", "3", "--export", "false", "--checkpoint_dir", str(sagemaker_env["checkpoints"])]
    with pytest.raises(KeyboardInterrupt):
        training_run.train(options.parse_args(argv), extra_callbacks=(_Interrupt(),))
    assert any(sagemaker_env["checkpoints"].iterdir())
    training_run.train(options.parse_args(argv))
    history = (sagemaker_env["output"] / "history.csv").read_text().splitlines()
    epochs = [line.split(",")[0] for line in history[1:]]
    assert epochs == ["0", "1", "2"], history  # epoch 2 ran once, after the restart; 0 and 1 were not redone
    run = json.loads((sagemaker_env["output"] / "run.json").read_text())
    assert run["exported"] is False
    assert (sagemaker_env["output"] / "model.keras").exists()


def test_faces_without_an_age_add_no_age_loss():
    from training.model import AgeDistributionLoss

    loss = AgeDistributionLoss()
    from agegender.labels import MAX_AGE

    probs = np.full((3, MAX_AGE + 1), 1 / (MAX_AGE + 1), dtype="float32")
    per_face = np.asarray(loss.call(np.array([30.0, -1.0, 5.0], dtype="float32"), probs))
    assert per_face[1] == 0.0
    assert per_face[0] > 0
    assert per_face[2] > 0


def test_the_best_epoch_on_the_sources_is_kept(tmp_path):
    from training.callbacks import SELECTION_METRIC, SourceValidation
    from training.dataset import FaceDataset
    from training.model import build_model

    model = build_model("plain_cnn", 16, width=0.25)
    faces = FaceDataset(
        images=np.random.default_rng(0).integers(0, 255, (8, 16, 16, 3), dtype=np.uint8), ages=np.full(8, 30),
        genders=np.array([0, 1] * 4), races=np.zeros(8, int), names=np.array([f"f{i}" for i in range(8)]),
        splits=np.array(["val"] * 8), sources=np.array(["a"] * 8),
    )  # fmt: skip
    callback = SourceValidation(model, {"a": faces}, tmp_path / "best")
    logs = {}
    callback.on_epoch_end(0, logs)
    assert set(logs) == {"val_a_gender_acc", "val_a_age_mae", SELECTION_METRIC}
    kept = [w.copy() for w in model.get_weights()]
    assert callback.best() == {"epoch": 0, "score": logs[SELECTION_METRIC]}
    model.set_weights([w * 0 for w in kept])  # a worse epoch (all outputs equal): accuracy 50%
    callback.on_epoch_end(1, {})
    if callback.best()["epoch"] == 0:
        callback.restore_best()
        np.testing.assert_array_equal(model.get_weights()[0], kept[0])


def test_a_time_budget_ends_training_after_the_epoch_that_passes_it():
    from training.callbacks import TimeBudget

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((8, 2), "float32"), np.zeros((8, 1), "float32")
    assert len(model.fit(x, y, epochs=4, verbose=0, callbacks=[TimeBudget(0.0)]).history["loss"]) == 1
    assert len(model.fit(x, y, epochs=4, verbose=0, callbacks=[TimeBudget(60.0)]).history["loss"]) == 4
