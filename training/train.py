"""SageMaker-style training entry point: train, export and evaluate the age+gender model.

Runs unchanged on a laptop and as a SageMaker TensorFlow training job::

    python -m training.train --epochs 40 --input_size 72 --arch resnet_small

Options and their SageMaker environment defaults: ``training.options``; the run itself: ``training.run``.
"""

from __future__ import annotations

import logging
import sys

from training.options import parse_args
from training.run import train


def main(argv: list[str] | None = None) -> int:
    """Train (then export, evaluate and ship unless told not to) with the given options."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args_list = sys.argv[1:] if argv is None else argv
    train(parse_args(args_list), command=" ".join(["python -m training.train", *args_list]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
