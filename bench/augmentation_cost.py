"""What the training augmentation costs a training step, on whichever Keras backend is active.

    python -m bench.augmentation_cost [--batch 64] [--steps 20] [--json bench/results/augmentation_cost.json]
    KERAS_BACKEND=jax python -m bench.augmentation_cost --json ""   # e.g. on a GPU machine

Builds the shipped architecture at its input size, compiled as ``training.run.fit`` compiles it,
once bare and once behind ``training.augment.build_augmenter``, and times ``train_on_batch`` on
random faces: the first step (tracing and compilation) and the median of ``--steps`` after three
more. The two models are timed in turns, so the machine's drift touches both alike.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import keras
import numpy as np

from bench import REPO_ROOT
from training.augment import build_augmenter
from training.model import build_model, compile_model, with_augmentation
from training.options import parse_args

ROUNDS = 3


def step_times(batch: int, steps: int) -> dict[str, dict[str, float]]:
    """First-step seconds and median ms per step, without and with the augmentation."""
    defaults = parse_args([])
    size = defaults.input_size
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (batch, size, size, 3)).astype("float32")
    targets = {"gender": rng.integers(0, 2, (batch, 1)).astype("float32"), "age_probs": rng.integers(1, 80, batch)}
    trainers, first = {}, {}
    for name, augmented in (("plain", False), ("augmented", True)):
        model = build_model(defaults.arch, size)
        trainer = with_augmentation(model, build_augmenter(size, defaults.seed)) if augmented else model
        compile_model(trainer, learning_rate=1e-3, weight_decay=defaults.weight_decay, sigma=defaults.age_sigma,
                      l1_weight=defaults.age_l1_weight)  # fmt: skip
        start = time.perf_counter()
        trainer.train_on_batch(faces, targets)
        first[name] = time.perf_counter() - start
        for _ in range(3):
            trainer.train_on_batch(faces, targets)
        trainers[name] = trainer
    samples: dict[str, list[float]] = {name: [] for name in trainers}
    for _ in range(ROUNDS):
        for name, trainer in trainers.items():
            for _ in range(steps // ROUNDS or 1):
                start = time.perf_counter()
                trainer.train_on_batch(faces, targets)
                samples[name].append((time.perf_counter() - start) * 1000)
    return {
        name: {"first_step_s": round(first[name], 2), "ms_per_step": round(statistics.median(samples[name]), 1)}
        for name in trainers
    }


def main(argv: list[str] | None = None) -> int:
    """Time both and print a table (and write JSON unless ``--json ''``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.augmentation_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json", default=str(REPO_ROOT / "bench" / "results" / "augmentation_cost.json"))
    args = parser.parse_args(argv)
    results = step_times(args.batch, args.steps)
    print(f"| {keras.backend.backend()}, batch {args.batch} | first step | ms per step |\n|---|---|---|")
    for name, row in results.items():
        print(f"| {name} | {row['first_step_s']} s | {row['ms_per_step']} |")
    if args.json:
        report = {"backend": keras.backend.backend(), "keras": keras.__version__, "machine": platform.processor()
                  or platform.machine(), "batch": args.batch, "steps": args.steps, "results": results}  # fmt: skip
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
