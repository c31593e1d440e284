"""The model card's account of which epoch a run kept (training.model_card)."""

from training.evaluate import SELECTION_METRIC
from training.model_card import kept_epoch


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
