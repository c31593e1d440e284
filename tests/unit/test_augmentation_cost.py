"""The augmentation-cost benchmark runs and reports both models (bench.augmentation_cost)."""

import json

from bench.augmentation_cost import main


def test_the_benchmark_times_a_step_with_and_without_the_augmentation(tmp_path, capsys):
    report = tmp_path / "cost.json"
    assert main(["--batch", "2", "--steps", "3", "--json", str(report)]) == 0
    results = json.loads(report.read_text())["results"]
    assert set(results) == {"plain", "augmented"}
    assert all(row["ms_per_step"] > 0 and row["first_step_s"] > 0 for row in results.values())
    assert "| augmented |" in capsys.readouterr().out
