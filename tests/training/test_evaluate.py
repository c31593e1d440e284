import numpy as np
import pytest

from training.dataset import FaceDataset
from training.evaluate import training_summary
from training.metrics import compute_metrics
from training.plots import write_plots


@pytest.fixture
def hand_made():
    """Six faces whose metrics are worked out by hand below."""
    return {
        "true_ages": np.array([5, 25, 30, 70, 40, 110]),  # 110 counts as 100
        "true_genders": np.array([0, 1, 1, 0, 1, 0]),
        "races": np.array([0, 0, 1, 1, 2, 2]),
        "p_female": np.array([0.1, 0.8, 0.4, 0.3, 0.9, 0.6]),  # faces 2 and 5 wrong
        "pred_ages": np.array([7.0, 25.0, 33.0, 60.0, 40.0, 96.0]),
        "pred_age_std": np.array([1.0, 2.0, 2.0, 4.0, 1.0, 5.0]),
    }


def test_metrics_of_a_hand_made_set(hand_made):
    m = compute_metrics(**hand_made)
    assert m["faces"] == 6
    assert m["gender_accuracy"] == pytest.approx(4 / 6)
    assert m["gender"]["confusion_matrix"] == [[2, 1], [1, 2]]
    assert m["gender"]["per_class"]["Female"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    assert m["age_mae"] == pytest.approx((2 + 0 + 3 + 10 + 0 + 4) / 6)
    assert m["age_bias"] == pytest.approx((2 + 0 + 3 - 10 + 0 - 4) / 6)
    # Adience groups: true 4-6,25-32,25-32,60-,38-43,60- vs predicted 8-12,25-32,25-32,60-,38-43,60-
    assert m["adience_exact_accuracy"] == pytest.approx(5 / 6)
    assert m["adience_one_off_accuracy"] == pytest.approx(1.0)
    assert m["by_race"]["White"] == {"count": 2, "gender_accuracy": 1.0, "age_mae": 1.0}
    assert m["by_race"]["Black"] == {"count": 2, "gender_accuracy": 0.5, "age_mae": 6.5}
    assert m["by_race"]["Indian"] == {"count": 0}
    assert m["race_gender_accuracy_gap"] == pytest.approx(50.0)
    assert m["by_age_group"]["senior"]["count"] == 2
    assert m["by_age_group"]["teen"] == {"count": 0}
    # Ranges: [6,8] [23,27] [31,35] [56,64] [39,41] [91,100]: the truth is inside for faces 1, 4 and 5
    assert m["age_range_coverage"] == pytest.approx(3 / 6)


def test_the_race_gap_is_also_given_per_age_band():
    # Babies: race 0 right on 1 of 2, race 1 right on 2 of 2; adults: both races right on all; one face without age.
    m = compute_metrics(
        true_ages=np.array([1, 2, 1, 2, 30, 40, 35, -1]),
        true_genders=np.array([0, 1, 0, 1, 1, 0, 1, 0]),
        races=np.array([0, 0, 1, 1, 0, 1, 1, 0]),
        p_female=np.array([0.2, 0.3, 0.1, 0.7, 0.9, 0.1, 0.8, 0.9]),
        pred_ages=np.array([2.0, 2.0, 1.0, 3.0, 30.0, 40.0, 35.0, 20.0]),
    )
    bands = m["race_gap_by_age"]
    assert list(bands) == ["under 3", "3-17", "18 and over"]
    assert bands["under 3"]["gap"] == pytest.approx(50.0)
    assert bands["under 3"]["by_race"]["White"]["count"] == 2  # the face without an age is in no band
    assert bands["3-17"]["gap"] == 0.0
    assert bands["3-17"]["by_race"]["White"] == {"count": 0}
    assert bands["18 and over"]["gap"] == 0.0
    assert m["race_gender_accuracy_gap"] == pytest.approx(100 * (1.0 - 2 / 4))  # White 2/4 right overall, Black 4/4


def test_a_re_evaluation_keeps_its_training_runs_data_summary(tmp_path):
    import json

    assert training_summary(tmp_path, "1.0") is None  # nothing written yet
    summary = {"faces": 27791, "detector_views": 71891}
    (tmp_path / "metrics.json").write_text(json.dumps({"model": {"version": "1.0"}, "dataset": summary}))
    assert training_summary(tmp_path, "1.0") == summary
    assert training_summary(tmp_path, "2.0") is None  # another model's training data is not this one's


def test_plots_are_written(hand_made, tmp_path):
    m = compute_metrics(**hand_made)
    faces = FaceDataset(
        images=np.zeros((6, 16, 16, 3), dtype=np.uint8),
        ages=hand_made["true_ages"],
        genders=hand_made["true_genders"],
        races=hand_made["races"],
        names=np.array([f"f{i}" for i in range(6)]),
        splits=np.array(["test"] * 6),
        sources=np.array(["utkface"] * 6),
    )
    history = tmp_path / "history.csv"
    history.write_text(
        "epoch,gender_acc,val_gender_acc,age_probs_age_mae,val_age_probs_age_mae\n0,0.6,0.7,12,11\n1,0.8,0.8,9,9\n"
    )
    written = write_plots(tmp_path, m, faces, hand_made["pred_ages"], hand_made["p_female"], history)
    names = {p.name for p in written}
    assert names == {
        "label_distributions.png", "gender_confusion.png", "age_error_by_group.png", "per_group.png",
        "sample_predictions.png", "training_curves.png",
    }  # fmt: skip
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in written)


def test_gender_calibration_bins_confidence_and_weights_the_gaps():
    from training.metrics import gender_calibration

    # Four faces at 0.9 confidence (three right) and two at 0.55 (both right).
    p_female = np.array([0.9, 0.9, 0.1, 0.1, 0.55, 0.45])
    truth = np.array([1, 0, 0, 0, 1, 0])
    report = gender_calibration(p_female, truth)
    high, low = report["bins"][-1], report["bins"][0]
    assert (high["share"], high["accuracy"]) == (pytest.approx(4 / 6), 0.75)
    assert (low["share"], low["accuracy"]) == (pytest.approx(2 / 6), 1.0)
    expected = 4 / 6 * abs(0.75 - 0.9) + 2 / 6 * abs(1.0 - 0.55)
    assert report["expected_calibration_error"] == pytest.approx(expected)


def test_the_reliability_report_and_diagram_are_written(tmp_path):
    import json

    from training.metrics import gender_calibration
    from training.plots import RELIABILITY_NAME, write_reliability

    rng = np.random.default_rng(0)
    p_female = rng.random(300)
    genders = (rng.random(300) < p_female).astype(int)
    report = write_reliability(tmp_path, p_female, genders, ["a/val/aligned"])
    saved = json.loads((tmp_path / f"{RELIABILITY_NAME}.json").read_text())
    assert saved == report
    assert saved["faces"] == 300
    assert saved["checks"] == ["a/val/aligned"]
    assert saved["expected_calibration_error"] == pytest.approx(
        gender_calibration(p_female, genders)["expected_calibration_error"]
    )
    assert (tmp_path / f"{RELIABILITY_NAME}.png").read_bytes()[:4] == b"\x89PNG"


def test_flip_rates_count_changed_decisions_per_perturbation():
    from types import SimpleNamespace

    from training.metrics import PERTURBATIONS, gender_flip_rates

    class Brightness:
        """P(female) is the mean of the top-left pixel block: blur and resizing move it, JPEG barely."""

        def predict_inputs(self, inputs):
            return SimpleNamespace(p_female=inputs[:, :4, :4].mean(axis=(1, 2, 3)) / 255.0)

    flat = np.full((3, 32, 32, 3), 200, dtype=np.uint8)
    assert gender_flip_rates(Brightness(), flat) == dict.fromkeys(PERTURBATIONS, 0.0)
    edge = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    edge[:, :4, :4] = 140  # just over 0.5 in its corner: blurring pulls it under
    assert gender_flip_rates(Brightness(), edge)["blur_1px"] == 1.0
