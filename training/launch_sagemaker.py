"""Launch ``training/train.py`` as a SageMaker TensorFlow training job.

    python -m training.launch_sagemaker --role arn:aws:iam::123456789012:role/SageMakerRole \
        --data s3://my-bucket/utkface/ --output s3://my-bucket/agegender/ --submit true

Without ``--submit true`` it prints the estimator configuration and exits (no AWS calls,
no ``sagemaker`` package needed). The job reads the training channel (the UTKFace archive),
checkpoints to S3 so a spot interruption resumes where it stopped, and leaves
``model.tar.gz`` (SavedModel in ``1/`` plus the ``.tflite`` files) under ``--output``.
"""

from __future__ import annotations

import argparse
import json
import sys

from training.options import REPO_ROOT, str_to_bool

#: SageMaker's TensorFlow training containers (Keras 3 ships with TF >= 2.16).
FRAMEWORK_VERSION = "2.16"
PY_VERSION = "py310"


def estimator_config(
    *,
    role: str,
    output: str,
    instance_type: str = "ml.g4dn.xlarge",
    spot: bool = True,
    max_run_seconds: int = 4 * 3600,
    hyperparameters: dict[str, str] | None = None,
) -> dict[str, object]:
    """Keyword arguments for ``sagemaker.tensorflow.TensorFlow``."""
    if not role.startswith("arn:aws"):
        raise ValueError(f"--role must be an IAM role ARN, got {role!r}")
    if not output.startswith("s3://"):
        raise ValueError(f"--output must be an s3:// URI, got {output!r}")
    output = output.rstrip("/")
    config: dict[str, object] = {
        "entry_point": "train.py",
        "source_dir": str(REPO_ROOT / "training"),
        # Copied beside train.py so `import agegender` and `import training` work in the container.
        "dependencies": [str(REPO_ROOT / "lambdas" / "agegender"), str(REPO_ROOT / "training")],
        "role": role,
        "framework_version": FRAMEWORK_VERSION,
        "py_version": PY_VERSION,
        "instance_count": 1,
        "instance_type": instance_type,
        "output_path": f"{output}/jobs",
        "checkpoint_s3_uri": f"{output}/checkpoints",
        "checkpoint_local_path": "/opt/ml/checkpoints",
        "max_run": max_run_seconds,
        "hyperparameters": {"epochs": "60", "input_size": "72", "arch": "resnet_small", **(hyperparameters or {})},
        "base_job_name": "agegender",
    }
    if spot:
        config["use_spot_instances"] = True
        config["max_wait"] = 2 * max_run_seconds
    return config


def main(argv: list[str] | None = None) -> int:
    """Print the estimator configuration, or start the job with ``--submit true``."""
    parser = argparse.ArgumentParser(prog="python -m training.launch_sagemaker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", required=True, help="SageMaker execution role ARN")
    parser.add_argument("--data", required=True, help="s3:// URI of the folder holding UTKFace.tar.gz")
    parser.add_argument("--output", required=True, help="s3:// URI for job output and checkpoints")
    parser.add_argument("--instance_type", default="ml.g4dn.xlarge")
    parser.add_argument("--spot", type=str_to_bool, default=True)
    parser.add_argument("--submit", type=str_to_bool, default=False, help="true: start the job")
    parser.add_argument("--hyperparameter", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    if not args.data.startswith("s3://"):
        parser.error(f"--data must be an s3:// URI, got {args.data!r}")
    try:
        extra = dict(item.split("=", 1) for item in args.hyperparameter)
    except ValueError:
        parser.error("--hyperparameter takes NAME=VALUE")
    config = estimator_config(
        role=args.role, output=args.output, instance_type=args.instance_type, spot=args.spot, hyperparameters=extra
    )
    print(json.dumps({"estimator": config, "inputs": {"training": args.data}}, indent=2))
    if args.submit:
        from sagemaker.tensorflow import TensorFlow  # only needed to really launch

        TensorFlow(**config).fit({"training": args.data}, wait=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
