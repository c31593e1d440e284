"""The model card's account of which epoch a run kept and what its faces went through (training.model_card)."""

from training.metrics import SELECTION_METRIC
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


def test_a_new_model_keeps_its_predecessors_figures_and_a_reevaluation_does_not(tmp_path):
    import json

    from training.model_card import PREDECESSOR_DIR, keep_predecessor

    def evaluation(folder, version, accuracy):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps({"model": {"version": version}, "gender_accuracy": accuracy}))
        (folder / "by_source.json").write_text(json.dumps({"utkface/test/aligned": {"gender_accuracy": accuracy}}))
        return folder

    ship = tmp_path / "models"
    evaluation(ship / "evaluation", "1", 0.9)
    keep_predecessor(ship, evaluation(tmp_path / "run2" / "evaluation", "2", 0.95))
    kept = json.loads((ship / PREDECESSOR_DIR / "metrics.json").read_text())
    assert kept["model"]["version"] == "1"
    assert (ship / PREDECESSOR_DIR / "by_source.json").exists()
    evaluation(ship / "evaluation", "2", 0.95)
    keep_predecessor(ship, evaluation(tmp_path / "rerun" / "evaluation", "2", 0.951))
    assert json.loads((ship / PREDECESSOR_DIR / "metrics.json").read_text())["model"]["version"] == "1"


def test_the_committed_card_is_what_render_makes():
    from tests.conftest import REPO_ROOT
    from training.model_card import render

    models = REPO_ROOT / "models"
    rendered = render(models, REPO_ROOT / "bench" / "results" / "classifier_latency.json")
    assert (models / "MODEL_CARD.md").read_text() == rendered, "run python -m training.model_card"
