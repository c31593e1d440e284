"""One training run: load the data, fit (resumable), export, check parity, evaluate, write ``run.json``, ship."""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.options import REPO_ROOT

if TYPE_CHECKING:
    import keras

    from training.dataset import FaceDataset
    from training.sources import MixedData
    from training.tflite_conversion import ExportResult

#: Evaluation plots that show dataset images (kept in the run's output, never shipped).
DATASET_IMAGE_PLOTS = "sample_predictions.png"

log = logging.getLogger("training")


def _verbosity(value: str) -> int:
    if value == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(value)


def fit_seed(args: argparse.Namespace) -> int:
    """The seed of the fit's shuffling, dropout and augmentation: ``--fit_seed``, else ``--seed``."""
    return args.seed if args.fit_seed is None else args.fit_seed


def load_data(args: argparse.Namespace) -> MixedData:
    """Every source's faces at ``--input_size`` with their fixed splits and runtime crops (``training.sources``),
    or the faces packed in ``--packed_data`` (``training.pack_format``).
    """
    from training.dataset import label_summary
    from training.sources import load_mixed, parse_source

    if args.packed_data:
        from training.pack_format import unpack

        data = unpack(args.packed_data)
        if data.train.images.shape[1] != args.input_size:
            raise ValueError(f"{args.packed_data} holds {data.train.images.shape[1]} px faces, not --input_size")
        return data
    entries = [entry for entry in args.sources.split(",") if entry.strip()] or ["utkface"]
    data = load_mixed(
        [parse_source(entry, args.train) for entry in entries],
        args.input_size,
        views=args.detector_views,
        seed=args.seed,
        cache_dir=args.cache_dir,
        crops_only=frozenset(name.strip() for name in args.crops_only.split(",") if name.strip()),
        holdout=args.holdout_source,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        max_images=args.max_images,
        child_weight=args.child_weight,
        teacher=args.teacher,
        crop_scale=args.crop_scale,
    )
    log.info("training rows: %s", label_summary(data.train))
    return data


def fit(args: argparse.Namespace, data: MixedData, extra_callbacks: tuple = ()) -> keras.Model:
    """Build and train the network; returns the inference model (without augmentation) at its chosen epoch.

    After each epoch every source's validation faces are classified through the detect+crop
    path (``SourceValidation``); the epoch with the best mean gender accuracy over the sources
    (the held-out source alone with ``--holdout_source``) is kept. An interrupted run restarted
    with the same ``--checkpoint_dir`` resumes from its last finished epoch (weights, optimizer
    state, schedule position and the best epoch so far).
    """
    import keras

    from agegender.contract import AGE_OUTPUT, GENDER_OUTPUT
    from training.augment import build_augmenter
    from training.callbacks import SourceValidation, TimeBudget
    from training.model import at_input_size, build_model, compile_model, with_augmentation

    train_set, val_set = data.train, data.val
    if len(train_set) == 0 or len(val_set) == 0:
        raise ValueError("the training and validation splits must not be empty")
    if args.init_model:
        import training.augment  # noqa: F401  (registers the custom layers for loading)

        loaded = keras.models.load_model(args.init_model, compile=False)
        model = at_input_size(loaded, args.arch, args.input_size, width=args.width, dropout=args.dropout)
    else:
        model = build_model(args.arch, args.input_size, width=args.width, dropout=args.dropout)
    if args.freeze_batch_norm:
        from training.from_tflite import freeze_batch_norm

        freeze_batch_norm(model)
    trainer = with_augmentation(model, build_augmenter(args.input_size, fit_seed(args))) if args.augment else model
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
        if args.teacher is None:
            return {GENDER_OUTPUT: split.genders[:, None].astype("float32"), AGE_OUTPUT: split.ages.astype("float32")}
        return distillation_targets(split, args.teacher_weight, args.teacher_age_weight)

    suffix = "/all/detected" if args.holdout_source else "/val/detected"
    watched = {key.split("/")[0]: faces for key, faces in data.checks.items() if key.endswith(suffix)}
    if args.holdout_source:
        watched = {args.holdout_source: watched[args.holdout_source]}
    validation = SourceValidation(model, watched, args.checkpoint_dir / "best")
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
            validation,
            keras.callbacks.CSVLogger(str(args.output_data_dir / "history.csv"), append=True),
            keras.callbacks.TerminateOnNaN(),
            *([TimeBudget(args.max_minutes)] if args.max_minutes else []),
            *extra_callbacks,
        ],
    )
    validation.restore_best()
    return model


def distillation_targets(
    split: FaceDataset, teacher_weight: float, age_weight: float | None = None
) -> dict[str, object]:
    """Targets that blend the teacher's outputs with the hard labels (``training.model.DISTILLED_AGE_COLUMNS``).

    Gender: ``w * teacher + (1 - w) * label`` where the teacher read the row, the label elsewhere. Age: the
    known age (or ``UNKNOWN``), the teacher's distribution (zeros where none) and ``age_weight`` (``w`` when
    None) per row, for ``AgeDistributionLoss`` to blend with the label's Gaussian.
    """
    import numpy as np

    from agegender.contract import AGE_OUTPUT, GENDER_OUTPUT

    taught = np.isfinite(split.teacher_p_female)
    hard = split.genders.astype("float32")
    gender = np.where(
        taught, teacher_weight * np.nan_to_num(split.teacher_p_female) + (1 - teacher_weight) * hard, hard
    )
    weight = np.where(taught, teacher_weight if age_weight is None else age_weight, 0.0).astype("float32")
    age = np.concatenate(
        [split.ages.astype("float32")[:, None], split.teacher_age.astype("float32"), weight[:, None]], axis=1
    )
    return {GENDER_OUTPUT: gender[:, None].astype("float32"), AGE_OUTPUT: age}


def calibrate_gender(model: keras.Model, data: MixedData, args: argparse.Namespace) -> dict[str, Any]:
    """Fit the gender temperature on every source's validation faces (both crop paths) and fold it
    into ``model`` (``training.calibration``); with ``--calibrate false`` or too few validation faces
    for a meaningful fit (``MIN_CALIBRATION_FACES``), T = 1 and the reason is recorded.
    """
    from training.calibration import MIN_CALIBRATION_FACES, calibrate
    from training.dataset import FaceDataset

    if not args.calibrate:
        return {"temperature": 1.0, "fitted_on": [], "skipped": "--calibrate false"}
    keys = sorted(key for key in data.checks if "/val/" in key and len(data.checks[key]))
    count = sum(len(data.checks[key]) for key in keys)
    if count < MIN_CALIBRATION_FACES:
        return {"temperature": 1.0, "fitted_on": keys, "skipped": f"{count} validation faces < {MIN_CALIBRATION_FACES}"}
    faces = FaceDataset.concatenate([data.checks[key] for key in keys])
    fitted = calibrate(
        model, faces.images, faces.genders, flip_average=args.flip_average, mirror_resolution=args.mirror_resolution
    )
    return {**fitted.as_dict(), "fitted_on": keys}


def export_and_report(
    model: keras.Model,
    data: MixedData,
    args: argparse.Namespace,
    *,
    train_seconds: float | None,
    command: str | None,
    hyperparameters: dict[str, object] | None = None,
    averaged_from: list[str] | None = None,
) -> dict[str, object]:
    """Export (SavedModel + TFLite), check parity, evaluate the shipped variant, write ``run.json``, ship.

    ``averaged_from``: the training commands of the runs whose weights ``model`` averages (``training.soup``).
    """
    import numpy as np

    from training import tflite_conversion
    from training.dataset import UTKFACE, label_summary

    train_set = data.train
    test_key = f"{UTKFACE}/test/aligned" if f"{UTKFACE}/test/aligned" in data.checks else next(iter(data.checks))
    check = data.checks[test_key]
    calibration_summary = calibrate_gender(model, data, args)
    rng = np.random.default_rng(args.seed)
    representative = train_set.images[rng.permutation(len(train_set))[: args.representative_images]]
    result = tflite_conversion.export_all(
        model,
        model_dir=args.sm_model_dir,
        name=args.model_name,
        version=args.model_version,
        architecture=args.arch,
        representative=representative,
        check_inputs=check.images,
        check_ages=check.ages,
        flip_average=args.flip_average,
        mirror_resolution=args.mirror_resolution,
        crop_scale=args.crop_scale,
        contract_extra={"gender_temperature": round(calibration_summary["temperature"], 4)},
    )
    shipped = result.tflite[result.shipped]
    summary: dict[str, object] = {
        "command": command,
        "hyperparameters": hyperparameters
        or {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "train_wall_seconds": None if train_seconds is None else round(train_seconds, 1),
        **({"averaged_from": averaged_from} if averaged_from else {}),
        "parameters": int(model.count_params()),
        "tflite_bytes": {q: p.stat().st_size for q, p in result.tflite.items()},
        "parity": {q: r.__dict__ for q, r in result.parity.items()},
        "shipped": shipped.name,
        "gender_calibration": calibration_summary,
    }
    if args.evaluate and len(check):
        from training.evaluate import evaluate_checks, evaluate_tflite

        metrics = evaluate_tflite(
            shipped,
            check,
            args.output_data_dir / "evaluation",
            history_csv=args.output_data_dir / "history.csv",
            dataset_summary={**label_summary(data.train), "detector_misses": data.misses, "sources": data.sources},
            reference=next(path for q, path in result.tflite.items() if q != result.shipped),
        )
        names = ("gender_accuracy", "age_mae", "race_gender_accuracy_gap")
        headline: dict[str, object] = {k: metrics[k] for k in names}
        summary["test_metrics"] = {**headline, "evaluated": test_key}
        summary["by_source"] = evaluate_checks(shipped, data.checks, args.output_data_dir / "evaluation")
    (args.output_data_dir / "run.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if args.ship_dir:
        ship(result, args.output_data_dir, args.ship_dir)
    return summary


def train(args: argparse.Namespace, extra_callbacks: tuple = (), command: str | None = None) -> dict[str, object]:
    """Train, then (with ``--export true``) export, evaluate and ship; returns the run summary."""
    import keras

    keras.utils.set_random_seed(fit_seed(args))
    args.output_data_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    data = load_data(args)
    model = fit(args, data, extra_callbacks)
    train_seconds = time.time() - started
    model.save(args.output_data_dir / "model.keras")
    if not args.export:
        summary: dict[str, object] = {
            "command": command,
            "train_wall_seconds": round(train_seconds, 1),
            "exported": False,
        }
        (args.output_data_dir / "run.json").write_text(json.dumps(summary, indent=2) + "\n")
        log.info("trained in %.0f s; export with: python -m training.export --keras_model %s", train_seconds,
                 args.output_data_dir / "model.keras")  # fmt: skip
        return summary
    report = export_and_report(model, data, args, train_seconds=train_seconds, command=command)
    log.info("done in %.0f s: %s", time.time() - started, json.dumps(report.get("test_metrics", {})))
    return report


def ship(result: ExportResult, output_dir: Path, ship_dir: Path) -> None:
    """Copy the chosen model as ``agegender.tflite`` (what the Lambda loads), the other variant
    under its own name for comparison, their contracts, the parity report and the evaluation.
    """
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
        from training.model_card import keep_predecessor, render

        keep_predecessor(ship_dir, output_dir / "evaluation")

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
