"""The model card's account of which epoch a run kept and what its faces went through (training.model_card)."""

from training.evaluate import SELECTION_METRIC
from training.model_card import augmentation_summary, kept_epoch


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
