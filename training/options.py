"""Training's command-line options: SageMaker hyperparameters and locations, with local defaults.

Hyperparameters are options with explicit values (SageMaker passes ``--name value`` pairs;
booleans are ``true``/``false``). Locations come from SageMaker's environment with local
defaults: ``SM_CHANNEL_TRAINING`` (the UTKFace archive or folder), ``SM_MODEL_DIR`` (SavedModel
in ``1/`` plus the ``.tflite`` files and their contracts) and ``SM_OUTPUT_DATA_DIR`` (history,
metrics, plots). ``--model_dir``, which SageMaker's TensorFlow estimator always passes, is
accepted and ignored.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from agegender.assets import REPO_ROOT

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "datasets" / "utkface"
EXTRA_DATA = REPO_ROOT.parent / "shared" / "datasets" / "extra"
SAGEMAKER_CHECKPOINTS = Path("/opt/ml/checkpoints")

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
    """Every option of ``python -m training.train`` (``training.export`` adds ``--keras_model``)."""
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m training.train", description="Train, export and evaluate.")
    hp = parser.add_argument_group("hyperparameters")
    hp.add_argument("--arch", default="resnet_small", help="resnet_small | mini_xception | plain_cnn (baseline)")
    hp.add_argument(
        "--input_size", type=int, default=72, help="face crop side in pixels (72: the largest within 3 ms a face)"
    )
    hp.add_argument("--width", type=float, default=1.0, help="channel width multiplier")
    hp.add_argument(
        "--init_model",
        default="",
        help="fine-tune this model.keras instead of a new network (its weights move to --input_size)",
    )
    hp.add_argument("--dropout", type=float, default=0.3)
    hp.add_argument("--epochs", type=int, default=40)
    hp.add_argument(
        "--max_minutes",
        type=float,
        default=0.0,
        help="end training after the first epoch that finishes this many minutes in (0: no limit); the learning "
        "rate schedule still spans --epochs",
    )
    hp.add_argument("--batch_size", type=int, default=64)
    hp.add_argument("--learning_rate", type=float, default=3e-3, help="peak learning rate (cosine decay)")
    hp.add_argument("--warmup_epochs", type=float, default=1.0)
    hp.add_argument("--weight_decay", type=float, default=0.02, help="AdamW decoupled decay")
    hp.add_argument("--age_sigma", type=float, default=3.0, help="std (years) of the age label distribution")
    hp.add_argument("--age_l1_weight", type=float, default=0.1)
    hp.add_argument("--augment", type=str_to_bool, default=True, help="true | false")
    hp.add_argument("--seed", type=int, default=1337, help="the data's camera views and the fit's randomness")
    hp.add_argument(
        "--fit_seed",
        type=int,
        default=None,
        help="the fit's own seed (shuffling, dropout, augmentation; default --seed): runs that differ only here "
        "train on the same camera views, e.g. the members of a weight average (training.soup)",
    )
    hp.add_argument("--val_fraction", type=float, default=0.1)
    hp.add_argument("--test_fraction", type=float, default=0.1)
    hp.add_argument("--max_images", type=int, default=0, help="0 = all; a small number for smoke runs")
    hp.add_argument(
        "--detector_views",
        type=int,
        default=0,
        help="add N camera views of each training face, cropped by the runtime's detector (training.detector_crops); "
        "with --sources, 0 still makes the evaluation views",
    )
    hp.add_argument(
        "--sources",
        default="",
        help="comma-separated name[=path][:weight] (training.sources); empty = UTKFace alone from --train. "
        "e.g. utkface,aaf,celeba:0.8",
    )
    hp.add_argument(
        "--crops_only", default="celeba", help="sources whose own framing is never trained on, only runtime crops"
    )
    hp.add_argument(
        "--packed_data",
        type=Path,
        default=None,
        help="train on a file written by training.pack instead of loading --sources (e.g. on a GPU machine)",
    )
    hp.add_argument(
        "--child_weight",
        type=float,
        default=1.0,
        help="training rows of faces under 18 (known age) count this many times: their gender is the hardest, "
        "and each race group's share of them makes most of the race gap",
    )
    hp.add_argument("--holdout_source", default="", help="a source never trained on; checkpoints are chosen on it")
    hp.add_argument(
        "--teacher",
        type=Path,
        default=None,
        help="distil from this classifier (.tflite with contract, e.g. models/accurate/faceres_deep_f16.tflite): "
        "it reads every training camera view, framed as its contract says, and the student learns its outputs",
    )
    hp.add_argument(
        "--teacher_weight",
        type=float,
        default=0.5,
        help="with --teacher, the teacher's share of each target where a face also has its own label (a face "
        "without an age learns the teacher's alone); the hard labels keep the rest",
    )
    hp.add_argument(
        "--teacher_age_weight",
        type=float,
        default=None,
        help="the teacher's share of the age target alone (default: --teacher_weight); 0 keeps known ages on "
        "their labels, where the teacher is weaker, while gender still learns from it",
    )
    hp.add_argument(
        "--crop_scale",
        type=float,
        default=1.0,
        help="the camera views' face crop relative to the UTKFace framing (agegender.faces.TEMPLATE): 1.33 takes in "
        "the hair and outline as the accurate option does; recorded in the contract (use with --crops_only for "
        "every source: the source photos themselves are UTKFace-tight)",
    )
    hp.add_argument(
        "--freeze_batch_norm",
        type=str_to_bool,
        default=False,
        help="true | false: keep batch normalisation fixed (an --init_model rebuilt by training.from_tflite)",
    )
    hp.add_argument(
        "--flip_average", type=str_to_bool, default=True, help="true | false: average each face with its mirror image"
    )
    hp.add_argument(
        "--mirror_resolution",
        type=float,
        default=0.5,
        help="with --flip_average, the mirror view is seen at this fraction of the input side (1 = as is): "
        "a softer second opinion that is less swayed by skin texture",
    )
    hp.add_argument(
        "--calibrate",
        type=str_to_bool,
        default=True,
        help="true | false: fold a gender temperature fitted on the validation faces into the model",
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
    """Parse, warning about (not failing on) options SageMaker may add."""
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        log.warning("ignoring unknown arguments: %s", unknown)
    return args
