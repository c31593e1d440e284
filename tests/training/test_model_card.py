"""The model card's account of which epoch a run kept and what its faces went through (training.model_card)."""

from training.evaluate import SELECTION_METRIC
from training.model_card import augmentation_summary, kept_epoch, training_lines


def test_the_kept_epoch_is_the_best_on_the_selection_metric(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text(f"epoch,loss,{SELECTION_METRIC}\n0,1.0,0.9386\n1,0.9,0.9330\n2,0.8,0.9372\n")
    assert kept_epoch(history) == (
        "epoch 1 of 3, the best mean detect+crop validation gender accuracy over the sources "
        "(93.86%; the last epoch: 93.72%)"
    )
    assert kept_epoch(tmp_path / "missing.csv") == "not recorded"
    history.write_text("epoch,loss\n0,1.0\n")
    assert kept_epoch(history) == "the last (no per-source validation recorded)"


def test_the_augmentation_line_says_what_this_run_did():
    full = augmentation_summary({"augment": True})
    assert full.startswith("camera faults")
    assert "random resized crop" in full
    assert "pasted hard-edged on a cluttered frame" in full  # training.detector_crops.TRAINING_FAULTS
    plain = augmentation_summary({"augment": False, "init_model": None})
    assert "nothing more in this run (`--augment false`)" in plain
    assert "random resized crop" not in plain
    fine_tune = augmentation_summary({"augment": False, "init_model": "parent/model.keras"})
    assert "the model it fine-tuned (`--init_model`) was trained with horizontal flip" in fine_tune


def test_the_training_lines_name_one_runs_epoch_or_an_averages_runs(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text(f"epoch,loss,{SELECTION_METRIC}\n0,1.0,0.93\n1,0.9,0.94\n")
    hp = {"epochs": 2, "batch_size": 64}
    one = training_lines({"train_wall_seconds": 600}, hp, history)
    assert one == ["- Wall time: 10 min on the machine it ran on (2 epochs, batch 64).",
                   f"- Weights kept: {kept_epoch(history)}."]  # fmt: skip
    run = {"train_wall_seconds": 1800, "averaged_from": ["python -m training.train --fit_seed 2", "b/model.keras"]}
    averaged = training_lines(run, hp, tmp_path / "absent.csv")
    assert averaged[0].startswith("- Weights: the mean, weight by weight, of 2 runs (`python -m training.soup`)")
    assert "`python -m training.train --fit_seed 2`; `b/model.keras`." in averaged[0]
    assert averaged[1] == (
        "- Wall time: 30 min for the 2 runs together on the machine they ran on (2 epochs each, batch 64)."
    )
