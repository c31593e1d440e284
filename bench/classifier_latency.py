"""Classifier latency per face: every shipped model variant, batch 1 and 8, one CPU thread.

    python -m bench.classifier_latency [--models models] [--repeats 300] [--json bench/results/classifier_latency.json]

Times ``AgeGenderClassifier.predict_inputs`` (the runtime call plus decoding of the age
distribution) on prepared inputs, so image decoding and face detection are excluded.
Runs on each TFLite runtime that imports here (ai-edge-litert, tflite-runtime).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from agegender import runtime
from agegender.classifier import AgeGenderClassifier
from bench import REPO_ROOT


def available_runtimes() -> list[str]:
    """The TFLite runtimes installed here (LiteRT, tflite-runtime)."""
    names = []
    for module, name in (
        ("ai_edge_litert.interpreter", "ai-edge-litert"),
        ("tflite_runtime.interpreter", "tflite-runtime"),
    ):
        try:
            __import__(module)
            names.append(name)
        except ImportError:
            pass
    return names


def force_runtime(name: str) -> None:
    """Make ``runtime.import_interpreter`` return the named runtime's Interpreter."""
    if name == "ai-edge-litert":
        from ai_edge_litert.interpreter import Interpreter
    else:
        from tflite_runtime.interpreter import Interpreter
    runtime.import_interpreter = lambda: (Interpreter, name)


def time_per_face(classifier: AgeGenderClassifier, batch: int, repeats: int) -> dict[str, float]:
    """Median and p90 milliseconds per face at one batch size."""
    rng = np.random.default_rng(0)
    size = classifier.input_size
    inputs = rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
    for _ in range(20):
        classifier.predict_inputs(inputs)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        classifier.predict_inputs(inputs)
        samples.append((time.perf_counter() - start) * 1000 / batch)
    return {"median_ms": float(np.median(samples)), "p95_ms": float(np.percentile(samples, 95))}


def main(argv: list[str] | None = None) -> int:
    """Time every shipped variant at batch 1 and 8; print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=REPO_ROOT / "models")
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "classifier_latency.json")
    args = parser.parse_args(argv)
    rows = []
    unavailable = {}
    for runtime_name in available_runtimes():
        force_runtime(runtime_name)
        for model_path in sorted(args.models.glob("*.tflite")):
            try:
                classifier = AgeGenderClassifier(model_path, num_threads=1, max_batch=8)
            except (ImportError, SystemError, RuntimeError) as exc:
                # e.g. tflite-runtime 2.14, built against numpy 1.x, under numpy 2
                unavailable[runtime_name] = f"{type(exc).__name__}: {exc}"
                break
            for batch in (1, 8):
                rows.append(
                    {
                        "runtime": runtime_name,
                        "model": model_path.name,
                        "quantization": classifier.contract.quantization,
                        "bytes": model_path.stat().st_size,
                        "batch": batch,
                        **time_per_face(classifier, batch, args.repeats),
                    }
                )
    print(f"{'runtime':<15} {'model':<26} {'quant':<8} {'bytes':>9} {'batch':>5} {'ms/face':>8} {'p95':>7}")
    for r in rows:
        print(
            f"{r['runtime']:<15} {r['model']:<26} {r['quantization']:<8} {r['bytes']:>9} {r['batch']:>5} "
            f"{r['median_ms']:>8.3f} {r['p95_ms']:>7.3f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    for name, reason in unavailable.items():
        print(f"{name}: cannot run here ({reason})")
    machine = {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(), "threads": 1}
    report = {"machine": machine, "results": rows, "unavailable": unavailable}
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
