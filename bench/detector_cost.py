"""What the small-face scan costs: the short-range detector's multiply-adds and model time per input shape.

    python -m bench.detector_cost [--repeats 50] [--json bench/results/detector_cost.json]

Multiply-adds are counted from the model's convolutions (at its native 128x128 input, and
scaled by the pixel count for larger inputs, since every layer is convolutional); model time
is the TFLite call alone (no resizing, no decoding of boxes), one thread, median of
``--repeats``. The shapes are the native input and the scans of a 1280x720 frame at the long
sides that README's scan table lists.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from agegender.detector import SHORT_RANGE
from agegender.runtime import TFLiteModel, import_interpreter
from bench import REPO_ROOT

SCAN_LONG_SIDES = (640, 800, 880, 960)


def multiply_adds(model_path: Path) -> int:
    """Multiply-adds of every CONV_2D and DEPTHWISE_CONV_2D at the model's own input size."""
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


def model_ms(shape: tuple[int, int], repeats: int) -> float:
    """Median milliseconds of one detector model call at ``shape``."""
    model = TFLiteModel(SHORT_RANGE.path, num_threads=1, signature=None)
    name = model.input_names[0]
    tensor = np.random.default_rng(0).uniform(-1, 1, (1, *shape, 3)).astype(np.float32)
    model(**{name: tensor})  # resizes and plans once
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model(**{name: tensor})
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def main(argv: list[str] | None = None) -> int:
    """Count the detector's multiply-adds and time its model call per input size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "detector_cost.json")
    args = parser.parse_args(argv)
    native = SHORT_RANGE.input_size
    macs_native = multiply_adds(SHORT_RANGE.path)
    shapes = [(native, native)] + [(round(720 * side / 1280 / 16) * 16, side) for side in SCAN_LONG_SIDES]
    rows = []
    print(f"{'input (h x w)':>14s} {'M mult-adds':>12s} {'model ms':>9s} {'GMAC/s':>7s}")
    for height, width in shapes:
        macs = macs_native * height * width / native**2
        ms = model_ms((height, width), args.repeats)
        rows.append({"height": height, "width": width, "multiply_adds": macs, "model_ms": ms})
        print(f"{height:>6d} x {width:<5d} {macs / 1e6:12.1f} {ms:9.2f} {macs / ms / 1e6:7.1f}")
    report = {"machine": platform.processor() or platform.machine(), "detector": SHORT_RANGE.name, "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
