"""The shipped model's recipe as one resumable command (training.recipe)."""

import pytest

from training.options import parse_args
from training.recipe import RECIPE, main, model_path, record_path, run_recipe


class Recorder:
    """A runner that records each command and leaves the record its stage would write."""

    def __init__(self, work_dir, fail_on: str | None = None):
        self.work_dir, self.fail_on, self.commands = work_dir, fail_on, []

    def __call__(self, command: list[str]) -> None:
        self.commands.append(command)
        written = _option(command, "--output_data_dir") or _option(command, "--output")
        stage = next(s for s in RECIPE if written and written.startswith(f"{self.work_dir / s.name}/"))
        if stage.name == self.fail_on:
            raise RuntimeError(f"{stage.name} failed")
        record_path(self.work_dir, stage).parent.mkdir(parents=True, exist_ok=True)
        record_path(self.work_dir, stage).write_text("{}")


def _option(command: list[str], name: str) -> str | None:
    return command[len(command) - 1 - command[::-1].index(name) + 1] if name in command else None


def test_every_stage_parses_and_builds_on_earlier_stages():
    seen: set[str] = set()
    for stage in RECIPE:
        assert stage.name not in seen
        assert {*stage.average, *([stage.init] if stage.init else [])} <= seen, stage.name
        if not stage.average:
            parse_args(stage.options.split())  # an option training.train does not know fails here
        seen.add(stage.name)
    assert RECIPE[-1].init  # the shipped model is a training run (which exports), not an average
    assert not RECIPE[-1].average


def test_stages_run_in_order_from_their_parents_and_only_the_last_exports_and_ships(tmp_path):
    runner = Recorder(tmp_path)
    ran = run_recipe(tmp_path, ship_dir=tmp_path / "ship", extra=["--max_images", "60", "--epochs", "1"], runner=runner)
    assert ran == [stage.name for stage in RECIPE]
    for stage, command in zip(RECIPE, runner.commands, strict=True):
        if stage.average:
            assert command[:2] == ["-m", "training.soup"]
            members = [model_path(tmp_path, s) for s in RECIPE if s.name in stage.average]
            assert command[command.index("--models") + 1 : command.index("--output")] == list(map(str, members))
            continue
        assert command[:2] == ["-m", "training.train"]
        assert _option(command, "--output_data_dir") == str(tmp_path / stage.name / "output")
        assert _option(command, "--epochs") == "1"  # the options after -- come last, so they win
        if stage.init:
            parent = next(s for s in RECIPE if s.name == stage.init)
            assert _option(command, "--init_model") == str(model_path(tmp_path, parent))
        last = stage is RECIPE[-1]
        assert _option(command, "--export") == (None if last else "false")
        assert _option(command, "--ship_dir") == (str(tmp_path / "ship") if last else None)


def test_a_rerun_resumes_after_the_stages_already_done(tmp_path):
    with pytest.raises(RuntimeError, match="plain_views2 failed"):
        run_recipe(tmp_path, runner=Recorder(tmp_path, fail_on="plain_views2"))
    names = [stage.name for stage in RECIPE]
    done_before = names[: names.index("plain_views2")]
    assert all(record_path(tmp_path, s).exists() for s in RECIPE if s.name in done_before)
    assert run_recipe(tmp_path, runner=Recorder(tmp_path)) == names[len(done_before) :]
    assert run_recipe(tmp_path, runner=Recorder(tmp_path)) == []


def test_a_dry_run_runs_nothing_and_logs_every_command(tmp_path, caplog):
    caplog.set_level("INFO", logger="training")
    assert main(["--work_dir", str(tmp_path), "--dry_run", "--", "--max_images", "60"]) == 0
    assert not any(tmp_path.iterdir())
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("stage ")]
    assert len(logged) == len(RECIPE)
    assert all(line.endswith("--max_images 60") for line in logged if "training.train" in line)
