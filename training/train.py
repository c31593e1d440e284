"""SageMaker-style training entry point: train, export and evaluate the age+gender model.

Runs unchanged on a laptop and as a SageMaker TensorFlow training job::

    python -m training.train --epochs 40 --input_size 64 --arch resnet_small

Hyperparameters are command-line options with explicit values (SageMaker passes
``--name value`` pairs; booleans are ``true``/``false``). Locations come from SageMaker's
environment with local defaults: ``SM_CHANNEL_TRAINING`` (the UTKFace archive or folder),
``SM_MODEL_DIR`` (SavedModel in ``1/`` plus the ``.tflite`` files and their contracts) and
``SM_OUTPUT_DATA_DIR`` (history, metrics, plots). ``--model_dir``, which SageMaker's
TensorFlow estimator always passes, is accepted and ignored.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

    from training.dataset import FaceDataset
    from training.export import ExportResult

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "utkface"
SAGEMAKER_CHECKPOINTS = Path("/opt/ml/checkpoints")
#: Evaluation plots that show dataset images (kept in the run's output, never shipped).
DATASET_IMAGE_PLOTS = "sample_predictions.png"

log = logging.getLogger("training")


def str_to_bool(value: str) -> bool:
    """Explicit boolean hyperparameters: ``true``/``false`` (SageMaker passes strings)."""
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n\n")[0])
    hp = parser.add_argument_group("hyperparameters")
    hp.add_argument("--arch", default="resnet_small", help="resnet_small | mini_xception | plain_cnn (baseline)")
    hp.add_argument("--input_size", type=int, default=64, help="face crop side in pixels")
    hp.add_argument("--width", type=float, default=1.0, help="channel width multiplier")
    hp.add_argument("--init_model", default="", help="fine-tune this model.keras instead of a new network")
    hp.add_argument("--dropout", type=float, default=0.3)
    hp.add_argument("--epochs", type=int, default=40)
    hp.add_argument("--batch_size", type=int, default=64)
    hp.add_argument("--learning_rate", type=float, default=3e-3, help="peak learning rate (cosine decay)")
    hp.add_argument("--warmup_epochs", type=float, default=1.0)
    hp.add_argument("--weight_decay", type=float, default=0.02, help="AdamW decoupled decay")
    hp.add_argument("--age_sigma", type=float, default=3.0, help="std (years) of the age label distribution")
    hp.add_argument("--age_l1_weight", type=float, default=0.1)
    hp.add_argument("--augment", type=str_to_bool, default=True, help="true | false")
    hp.add_argument("--seed", type=int, default=1337)
    hp.add_argument("--val_fraction", type=float, default=0.1)
    hp.add_argument("--test_fraction", type=float, default=0.1)
    hp.add_argument("--max_images", type=int, default=0, help="0 = all; a small number for smoke runs")
    hp.add_argument(
        "--flip_average", type=str_to_bool, default=True, help="true | false: average each face with its mirror image"
    )
    hp.add_argument("--representative_images", type=int, default=500, help="int8 calibration images")
    hp.add_argument("--model_name", default="agegender")
    hp.add_argument("--model_version", default=time.strftime("%Y%m%d%H%M", time.gmtime()))
    hp.add_argument("--export", type=str_to_bool, default=True, help="false where TensorFlow is absent (JAX/GPU)")
    hp.add_argument("--evaluate", type=str_to_bool, default=True, help="evaluate the shipped TFLite model")
    hp.add_argument("--verbose", default="auto", help="auto | 0 | 1 (progress bar) | 2 (one line per epoch)")
    loc = parser.add_argument_group("locations (SageMaker environment, local defaults)")
    loc.add_argument("--train", type=Path, default=Path(env("SM_CHANNEL_TRAINING", str(DEFAULT_DATA))))
    loc.add_argument("--sm_model_dir", type=Path, default=Path(env("SM_MODEL_DIR", str(REPO_ROOT / "artifacts/model"))))
    loc.add_argument(
        "--output_data_dir", type=Path, default=Path(env("SM_OUTPUT_DATA_DIR", str(REPO_ROOT / "artifacts/output")))
    )
    default_ckpt = SAGEMAKER_CHECKPOINTS if SAGEMAKER_CHECKPOINTS.is_dir() else REPO_ROOT / "artifacts/checkpoints"
    loc.add_argument("--checkpoint_dir", type=Path, default=default_ckpt, help="resume point (BackupAndRestore)")
    loc.add_argument(
        "--cache_dir", type=Path, default=Path(env("AGEGENDER_CACHE", str(Path.home() / ".cache/agegender")))
    )
    loc.add_argument("--ship_dir", type=Path, default=None, help="copy the shipped model, contract and report here")
    loc.add_argument("--model_dir", default=None, help="passed by SageMaker's TF estimator (an S3 URI); ignored")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        log.warning("ignoring unknown arguments: %s", unknown)
    return args


def _verbosity(value: str) -> int:
    if value == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(value)


def load_data(args: argparse.Namespace) -> FaceDataset:
    """The faces at ``--input_size``, with their fixed split (``--max_images`` keeps the first N)."""
    from training.dataset import label_summary, load_faces

    data = load_faces(
        args.train,
        args.input_size,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        cache_dir=args.cache_dir,
    )
    if args.max_images:
        data = data.head(args.max_images)
    log.info("faces: %s", label_summary(data))
    return data


def fit(args: argparse.Namespace, data: FaceDataset, extra_callbacks: tuple = ()) -> keras.Model:
    """Build and train the network; returns the inference model (without augmentation).

    An interrupted run restarted with the same ``--checkpoint_dir`` resumes from its last
    finished epoch (weights, optimizer state and schedule position).
    """
    import keras

    from training.augment import build_augmenter
    from training.model import AGE_PROBS, GENDER, build_model, compile_model, with_augmentation

    train_set, val_set = data.subset("train"), data.subset("val")
    if len(train_set) == 0 or len(val_set) == 0:
        raise ValueError("the training and validation splits must not be empty")
    if args.init_model:
        import training.augment  # noqa: F401  (registers the custom layers for loading)

        model = keras.models.load_model(args.init_model, compile=False)
        if model.input_shape[1] != args.input_size:
            raise ValueError(f"--init_model takes {model.input_shape[1]} px inputs, not --input_size {args.input_size}")
    else:
        model = build_model(args.arch, args.input_size, width=args.width, dropout=args.dropout)
    trainer = with_augmentation(model, build_augmenter(args.input_size, args.seed)) if args.augment else model
    steps_per_epoch = math.ceil(len(train_set) / args.batch_size)
    warmup = int(args.warmup_epochs * steps_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=args.learning_rate / 10,
        decay_steps=max(1, args.epochs * steps_per_epoch - warmup),
        warmup_target=args.learning_rate,
        warmup_steps=warmup,
        alpha=0.01,
    )
    compile_model(
        trainer,
        learning_rate=schedule,
        weight_decay=args.weight_decay,
        sigma=args.age_sigma,
        l1_weight=args.age_l1_weight,
    )

    def targets(split: FaceDataset) -> dict[str, object]:
        return {GENDER: split.genders[:, None].astype("float32"), AGE_PROBS: split.ages.astype("float32")}

    trainer.fit(
        train_set.images.astype("float32"),
        targets(train_set),
        validation_data=(val_set.images.astype("float32"), targets(val_set)),
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        verbose=_verbosity(args.verbose),
        callbacks=[
            keras.callbacks.BackupAndRestore(str(args.checkpoint_dir)),
            keras.callbacks.CSVLogger(str(args.output_data_dir / "history.csv"), append=True),
            keras.callbacks.TerminateOnNaN(),
            *extra_callbacks,
        ],
    )
    return model


def export_and_report(
    model: keras.Model,
    data: FaceDataset,
    args: argparse.Namespace,
    *,
    train_seconds: float | None,
    command: str | None,
) -> dict[str, object]:
    """Export (SavedModel + TFLite), check parity, evaluate the shipped variant, write ``run.json``, ship."""
    import numpy as np

    from training import export
    from training.dataset import label_summary

    train_set, test_set = data.subset("train"), data.subset("test")
    check = test_set if len(test_set) else data.subset("val")
    rng = np.random.default_rng(args.seed)
    calibration = train_set.images[rng.permutation(len(train_set))[: args.representative_images]]
    result = export.export_all(
        model,
        model_dir=args.sm_model_dir,
        name=args.model_name,
        version=args.model_version,
        architecture=args.arch,
        representative=calibration,
        check_inputs=check.images,
        check_ages=check.ages,
        flip_average=args.flip_average,
    )
    shipped = result.tflite[result.shipped]
    summary: dict[str, object] = {
        "command": command,
        "hyperparameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "train_wall_seconds": None if train_seconds is None else round(train_seconds, 1),
        "parameters": int(model.count_params()),
        "tflite_bytes": {q: p.stat().st_size for q, p in result.tflite.items()},
        "parity": {q: r.__dict__ for q, r in result.parity.items()},
        "shipped": shipped.name,
    }
    if args.evaluate and len(check):
        from training.evaluate import evaluate_tflite

        metrics = evaluate_tflite(
            shipped,
            check,
            args.output_data_dir / "evaluation",
            history_csv=args.output_data_dir / "history.csv",
            dataset_summary=label_summary(data),
            reference=next(path for q, path in result.tflite.items() if q != result.shipped),
        )
        summary["test_metrics"] = {k: metrics[k] for k in ("gender_accuracy", "age_mae", "race_gender_accuracy_gap")}
    (args.output_data_dir / "run.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if args.ship_dir:
        ship(result, args.output_data_dir, args.ship_dir)
    return summary


def train(args: argparse.Namespace, extra_callbacks: tuple = (), command: str | None = None) -> dict[str, object]:
    """Train, then (with ``--export true``) export, evaluate and ship; returns the run summary."""
    import keras

    keras.utils.set_random_seed(args.seed)
    args.output_data_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    data = load_data(args)
    model = fit(args, data, extra_callbacks)
    train_seconds = time.time() - started
    model.save(args.output_data_dir / "model.keras")
    if not args.export:
        summary = {"command": command, "train_wall_seconds": round(train_seconds, 1), "exported": False}
        (args.output_data_dir / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
        log.info("trained in %.0f s; export with: python -m training.export --keras_model %s", train_seconds,
                 args.output_data_dir / "model.keras")  # fmt: skip
        return summary
    summary = export_and_report(model, data, args, train_seconds=train_seconds, command=command)
    log.info("done in %.0f s: %s", time.time() - started, json.dumps(summary.get("test_metrics", {})))
    return summary


def ship(result: ExportResult, output_dir: Path, ship_dir: Path) -> None:
    """Copy the chosen model as ``agegender.tflite`` (what the Lambda loads), the other variant
    under its own name for comparison, their contracts, the parity report and the evaluation."""
    from agegender.contract import contract_path

    ship_dir.mkdir(parents=True, exist_ok=True)
    for quantization, path in result.tflite.items():
        target = ship_dir / ("agegender.tflite" if quantization == result.shipped else path.name)
        shutil.copyfile(path, target)
        shutil.copyfile(contract_path(path), contract_path(target))
    (ship_dir / "training").mkdir(exist_ok=True)
    for source in (output_dir / "run.json", output_dir / "history.csv", result.tflite["int8"].parent / "parity.json"):
        if source.exists():
            shutil.copyfile(source, ship_dir / "training" / source.name)
    if (output_dir / "evaluation").is_dir():
        from training.model_card import render

        # The sample-prediction grid shows dataset faces, which must never be committed: not shipped.
        shutil.copytree(
            output_dir / "evaluation",
            ship_dir / "evaluation",
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(DATASET_IMAGE_PLOTS),
        )
        # The committed latency figures describe the repository's models/ only.
        latency = REPO_ROOT / "bench" / "results" / "classifier_latency.json"
        (ship_dir / "MODEL_CARD.md").write_text(render(ship_dir, latency if ship_dir == REPO_ROOT / "models" else None))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args_list = sys.argv[1:] if argv is None else argv
    train(parse_args(args_list), command=" ".join(["python -m training.train", *args_list]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
