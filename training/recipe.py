"""The shipped model's training recipe as one resumable command.

    python -m training.recipe --work_dir artifacts/recipe --ship_dir models

The shipped classifier is not one run but a line of them (``RECIPE``): a 64 px network trained
on UTKFace, fine-tuned on the three sources, moved to 72 px, trained on with the augmentation,
fine-tuned three ways without it, averaged (``training.soup``), and fine-tuned once more; only the
last stage exports, evaluates and ships. Each stage runs as its own ``python -m training.train``
(or ``training.soup``) process under ``--work_dir/<stage>/``. A stage whose record is written
(``run.json``, or ``soup.json`` for the average) is skipped, and an interrupted stage resumes from
its checkpoint, so the recipe (hours on 2 vCPUs: ``docs/training.md``) can run in the background
across working sessions, one stage at a time. Options after ``--`` go to every training
stage, after its own (so they win: ``-- --max_images 60 --epochs 1`` is a smoke run).
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from training.options import REPO_ROOT

log = logging.getLogger("training")

#: The data every stage after the first trains on (training.sources).
THREE_SOURCES = "--sources utkface,aaf,celeba:0.8"
#: The last stages' fine-tune: a small peak learning rate and no in-network augmentation (the camera
#: views before detection stay), which lets the 72 px network fit the faces the runtime produces.
PLAIN_FINE_TUNE = "--learning_rate 3e-4 --warmup_epochs 0.1 --augment false"


@dataclass(frozen=True)
class Stage:
    """A step of the recipe: a ``training.train`` run (from ``init``'s model) or the weight average of ``average``."""

    name: str
    options: str = ""
    init: str | None = None
    average: tuple[str, ...] = ()


#: The shipped model's line (its model card names it), stage by stage, in order.
RECIPE: tuple[Stage, ...] = (
    Stage("utkface64", "--epochs 18 --detector_views 1 --input_size 64"),
    Stage(
        "sources64",
        f"{THREE_SOURCES} --detector_views 1 --epochs 10 --learning_rate 1e-3 --warmup_epochs 0.3 --input_size 64",
        init="utkface64",
    ),
    Stage(
        "sources72",
        f"{THREE_SOURCES} --detector_views 1 --epochs 6 --learning_rate 1e-3 --warmup_epochs 0.3",
        init="sources64",
    ),
    Stage(
        "augmented72",
        f"{THREE_SOURCES} --detector_views 1 --epochs 7 --learning_rate 6e-4 --warmup_epochs 0.2",
        init="sources72",
    ),
    Stage("plain_views1", f"{THREE_SOURCES} --detector_views 1 --epochs 3 {PLAIN_FINE_TUNE}", init="augmented72"),
    Stage("plain_views2", f"{THREE_SOURCES} --detector_views 2 --epochs 2 {PLAIN_FINE_TUNE}", init="augmented72"),
    Stage(
        "plain_children",
        f"{THREE_SOURCES} --detector_views 2 --epochs 2 --child_weight 2 {PLAIN_FINE_TUNE}",
        init="augmented72",
    ),
    Stage("average", average=("plain_views1", "plain_views2", "plain_children")),
    Stage("final", f"{THREE_SOURCES} --detector_views 2 --epochs 2 {PLAIN_FINE_TUNE}", init="average"),
)

#: Runs one stage's command (argv without the interpreter); raises on failure.
Runner = Callable[[list[str]], None]


def model_path(work_dir: Path, stage: Stage) -> Path:
    """Where ``stage`` leaves its Keras model."""
    if stage.average:
        return work_dir / stage.name / "model.keras"
    return work_dir / stage.name / "output" / "model.keras"


def record_path(work_dir: Path, stage: Stage) -> Path:
    """The file a stage writes last: once it exists the stage is done."""
    if stage.average:
        from training.soup import provenance_path

        return provenance_path(model_path(work_dir, stage))
    return work_dir / stage.name / "output" / "run.json"


def stage_command(
    stage: Stage, work_dir: Path, *, last: bool, ship_dir: Path | None, extra: Sequence[str] = ()
) -> list[str]:
    """The ``python -m ...`` arguments that run ``stage`` (only the last one exports, and ships to ``ship_dir``)."""
    by_name = {each.name: each for each in RECIPE}
    if stage.average:
        members = [str(model_path(work_dir, by_name[name])) for name in stage.average]
        return ["-m", "training.soup", "--models", *members, "--output", str(model_path(work_dir, stage))]
    folder = work_dir / stage.name
    command = ["-m", "training.train", *stage.options.split()]
    if stage.init:
        command += ["--init_model", str(model_path(work_dir, by_name[stage.init]))]
    command += ["--output_data_dir", str(folder / "output"), "--sm_model_dir", str(folder / "model"),
                "--checkpoint_dir", str(folder / "ckpt"), "--verbose", "2"]  # fmt: skip
    if not last:
        command += ["--export", "false"]
    elif ship_dir is not None:
        command += ["--ship_dir", str(ship_dir)]
    return command + list(extra)


def run_recipe(
    work_dir: Path,
    *,
    ship_dir: Path | None = None,
    extra: Sequence[str] = (),
    runner: Runner | None = None,
) -> list[str]:
    """Run every stage not yet done, in order; returns the names of the stages run this time."""
    run = runner or _subprocess_runner
    ran = []
    for index, stage in enumerate(RECIPE):
        if record_path(work_dir, stage).exists():
            log.info("stage %s: done before (%s)", stage.name, record_path(work_dir, stage))
            continue
        command = stage_command(stage, work_dir, last=index == len(RECIPE) - 1, ship_dir=ship_dir, extra=extra)
        log.info("stage %s: python %s", stage.name, " ".join(command))
        run(command)
        ran.append(stage.name)
    return ran


def _subprocess_runner(command: list[str]) -> None:
    """Each stage in its own interpreter: a stage's TensorFlow state and memory end with it."""
    subprocess.run([sys.executable, *command], check=True, cwd=REPO_ROOT)


def main(argv: list[str] | None = None) -> int:
    """Run the recipe (or, with ``--dry_run``, only log what it would run)."""
    args_list = sys.argv[1:] if argv is None else argv
    split = args_list.index("--") if "--" in args_list else len(args_list)
    own, extra = args_list[:split], args_list[split + 1 :]
    parser = argparse.ArgumentParser(prog="python -m training.recipe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--work_dir", type=Path, default=REPO_ROOT / "artifacts" / "recipe", help="a folder per stage")
    parser.add_argument("--ship_dir", type=Path, default=None, help="where the last stage ships (e.g. models)")
    parser.add_argument("--dry_run", action="store_true", help="log the stages not yet done, running none")
    args = parser.parse_args(own)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runner: Runner | None = (lambda command: None) if args.dry_run else None  # the log line shows each command
    ship_dir = args.ship_dir.resolve() if args.ship_dir else None
    run_recipe(args.work_dir.resolve(), ship_dir=ship_dir, extra=extra, runner=runner)
    return 0


if __name__ == "__main__":
    sys.exit(main())
