"""What detection costs: the detector's multiply-adds and model time for each shipped input shape.

    python -m bench.detector_cost [--repeats 50] [--json bench/results/detector_cost.json]

Multiply-adds are counted from each fixed-shape model file's convolutions; model time is the
TFLite call alone (no resizing, no decoding of boxes), one thread, median of ``--repeats``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from agegender.detector import INPUT_NAME, YUNET_N
from agegender.runtime import TFLiteModel, import_interpreter
from bench import REPO_ROOT


def multiply_adds(model_path: Path) -> int:
    """Multiply-adds of every CONV_2D and DEPTHWISE_CONV_2D at the model's (fixed) input size."""
    interpreter_cls, _ = import_interpreter()
    interpreter = interpreter_cls(model_path=str(model_path))
    interpreter.allocate_tensors()
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    total = 0
    for op in interpreter._get_ops_details():  # the public API has no per-op view
        if op["op_name"] not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        out = tensors[op["outputs"][0]]["shape"]
        weights = tensors[op["inputs"][1]]["shape"]  # (out, kh, kw, in) or (1, kh, kw, channels)
        per_output = weights[1] * weights[2] * (weights[3] if op["op_name"] == "CONV_2D" else 1)
        total += int(out[1]) * int(out[2]) * int(out[3]) * int(per_output)
    return total


def model_ms(path: Path, repeats: int) -> float:
    """Median milliseconds of one model call on a random image of the model's input shape."""
    model = TFLiteModel(path, num_threads=1)
    shape = tuple(int(d) for d in model.input_details[INPUT_NAME]["shape"])
    tensor = np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32)
    model(**{INPUT_NAME: tensor})  # plans once
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model(**{INPUT_NAME: tensor})
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def main(argv: list[str] | None = None) -> int:
    """Count the detector's multiply-adds and time its model call per shipped input shape."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "detector_cost.json")
    args = parser.parse_args(argv)
    rows = []
    print(f"{'input (w x h)':>14s} {'M mult-adds':>12s} {'model ms':>9s} {'GMAC/s':>7s}")
    for width, height in YUNET_N.shapes:
        path = YUNET_N.path(width, height)
        macs = multiply_adds(path)
        ms = model_ms(path, args.repeats)
        rows.append({"width": width, "height": height, "multiply_adds": macs, "model_ms": ms})
        print(f"{width:>6d} x {height:<5d} {macs / 1e6:12.1f} {ms:9.2f} {macs / ms / 1e6:7.1f}")
    report = {"machine": platform.processor() or platform.machine(), "detector": YUNET_N.name, "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
