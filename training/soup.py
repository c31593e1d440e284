"""Average the weights of fine-tuned runs of one network (a uniform "model soup").

    python -m training.soup --models a/model.keras b/model.keras c/model.keras --output soup.keras

Runs fine-tuned from the same ``--init_model`` stay in one basin of the loss, so their mean
weights make a model that is usually at least as good as the best of them, at no cost at
inference (Wortsman et al., 2022). Batch-norm statistics are averaged like every other weight.
Export and evaluate the result like any trained model (``python -m training.export --keras_model``).
Beside ``soup.keras`` goes ``soup.json``: this command and each member's training command (from
the ``run.json`` beside its ``model.keras``), which the export carries into the model card.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np

log = logging.getLogger("training")

#: What a member's ``run.json`` contributes to the average's provenance.
MEMBER_FIELDS = ("command", "hyperparameters", "train_wall_seconds")


def average(models: list[keras.Model]) -> keras.Model:
    """The first model with every weight replaced by the mean over ``models`` (same architecture)."""
    if not models:
        raise ValueError("no models to average")
    weights = [model.get_weights() for model in models]
    shapes = [[w.shape for w in each] for each in weights]
    if any(shape != shapes[0] for shape in shapes[1:]):
        raise ValueError("the models do not share one architecture")
    mean = [np.mean([each[i] for each in weights], axis=0).astype(weights[0][i].dtype) for i in range(len(shapes[0]))]
    models[0].set_weights(mean)
    return models[0]


def provenance(paths: list[Path], command: str) -> dict[str, Any]:
    """This average's command and, per member, its ``run.json`` (command, hyperparameters, wall time) where found."""
    members = []
    for path in paths:
        run_json = path.parent / "run.json"
        run = json.loads(run_json.read_text()) if run_json.exists() else {}
        members.append({"model": str(path), **{field: run.get(field) for field in MEMBER_FIELDS}})
    return {"command": command, "members": members}


def provenance_path(soup: Path) -> Path:
    """Where ``soup``'s provenance lives: ``soup.json`` beside ``soup.keras``."""
    return soup.with_suffix(".json")


def averaged_run(keras_model: Path, export_command: str) -> dict[str, Any]:
    """What a weight average's export records of its training (``training.soup``'s ``soup.json``), or nothing.

    The hyperparameters are the first member's (the members differ in their fit, not their recipe),
    the wall time is the members' together, and every member's command is kept.
    """
    record = provenance_path(keras_model)
    if not record.exists():
        return {}
    soup = json.loads(record.read_text())
    members = soup["members"]
    walls = [m["train_wall_seconds"] for m in members]
    return {
        "command": f"{soup['command']} && {export_command}",
        "hyperparameters": members[0]["hyperparameters"],
        "train_wall_seconds": sum(walls) if all(w is not None for w in walls) else None,
        "averaged_from": [m["command"] or m["model"] for m in members],
    }


def main(argv: list[str] | None = None) -> int:
    """Load the models, average them, save the soup."""
    parser = argparse.ArgumentParser(prog="python -m training.soup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, nargs="+", required=True, help="model.keras files of one network")
    parser.add_argument("--output", type=Path, required=True, help="where to write the averaged model.keras")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import training.augment  # noqa: F401  (registers the custom layers for loading)

    soup = average([keras.models.load_model(path, compile=False) for path in args.models])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    soup.save(args.output)
    command = " ".join(["python -m training.soup", *(sys.argv[1:] if argv is None else argv)])
    provenance_path(args.output).write_text(json.dumps(provenance(args.models, command), indent=2) + "\n")
    log.info("averaged %d models into %s", len(args.models), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
