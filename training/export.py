"""Export, evaluate and ship a trained ``.keras`` model (e.g. one trained on JAX with ``--export false``).

python -m training.export --keras_model model.keras --ship_dir models
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import keras

from training.options import build_parser
from training.run import export_and_report, load_data
from training.soup import averaged_run


def main(argv: list[str] | None = None) -> int:
    """Export, evaluate and ship a trained ``.keras`` model (e.g. one trained on JAX with ``--export false``).

    Takes ``training.train``'s options (locations, ``--ship_dir``, ...) plus ``--keras_model``.
    """
    parser = build_parser()
    parser.prog = "python -m training.export"
    parser.add_argument("--keras_model", type=Path, required=True, help="model.keras written by training.train")
    args_list = sys.argv[1:] if argv is None else argv
    args, unknown = parser.parse_known_args(args_list)
    if unknown:
        parser.error(f"unknown arguments: {unknown}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import training.augment  # noqa: F401  (registers the custom layers for loading)

    model = keras.models.load_model(args.keras_model, compile=False)
    args.input_size = int(model.input_shape[1])
    args.arch = model.name.removeprefix("agegender_")
    command = " ".join(["python -m training.export", *args_list])
    previous = args.output_data_dir / "run.json"
    earlier = json.loads(previous.read_text()) if previous.exists() else averaged_run(args.keras_model, command)
    data = load_data(args)
    export_and_report(
        model,
        data,
        args,
        train_seconds=earlier.get("train_wall_seconds"),
        command=earlier.get("command") or command,
        hyperparameters=earlier.get("hyperparameters"),  # the training run's, not this command's defaults
        averaged_from=earlier.get("averaged_from"),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
