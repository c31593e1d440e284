"""Hostile and unlucky inputs: time, peak memory and outcome of analysing each, in a fresh process.

    python -m bench.hostile [--timeout 60] [--json bench/results/hostile.json]

Each input of ``bench.corpus.hostile()`` (many-page TIFF, many-scan progressive JPEG, wide
greyscale images, truncated multi-frame files, corrupt AVIF) is written to a temporary file and
analysed by ``agegender.analyzer.ImageAnalyzer`` in its own Python process, as the Lambda would:
the row gives the typed outcome, the seconds the analysis took and the process's peak memory
(VmHWM) after loading the models and after the analysis. A process still running after
``--timeout`` seconds is stopped and reported as such. The child imports whatever ``agegender``
its environment provides, so ``PYTHONPATH=<other checkout>/lambdas`` measures another version.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import REPO_ROOT
from bench.corpus import hostile

CHILD = """
import json, sys, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from agegender.analyzer import ImageAnalyzer
analyzer = ImageAnalyzer()
loaded = hwm()
data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
try:
    analysis = analyzer.analyze(data)
    outcome = f"analysed: {len(analysis.faces)} faces"
except Exception as exc:
    outcome = getattr(exc, "code", None) or f"uncaught {type(exc).__name__}"
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - started, "loaded_mb": loaded,
                  "peak_mb": hwm()}))
"""


def measure(data: bytes, timeout_s: float) -> dict[str, object]:
    """Analyse ``data`` in a fresh process; its outcome, seconds and memory (or that it ran out of time)."""
    with tempfile.NamedTemporaryFile() as file:
        file.write(data)
        file.flush()
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, file.name], capture_output=True, text=True, timeout=timeout_s
            )
        except subprocess.TimeoutExpired:
            return {"outcome": f"still running after {timeout_s:g} s (stopped)", "seconds": None, "peak_mb": None}
    if done.returncode != 0:
        return {"outcome": f"process died (exit {done.returncode})", "seconds": time.perf_counter() - started}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Measure every hostile input; print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "hostile.json")
    args = parser.parse_args(argv)
    rows = []
    print(f"{'input':34s} {'bytes':>10s} {'outcome':36s} {'s':>6s} {'MB loaded':>9s} {'MB peak':>8s}")
    for entry in hostile():
        row = {"input": entry.key, "bytes": len(entry.data), **measure(entry.data, args.timeout)}
        rows.append(row)
        numbers = [f"{row[k]:.2f}" if isinstance(row.get(k), float) else "-" for k in ("seconds",)]
        memory = [f"{row[k]:.0f}" if isinstance(row.get(k), float) else "-" for k in ("loaded_mb", "peak_mb")]
        outcome = str(row["outcome"])
        print(f"{entry.key:34s} {len(entry.data):>10d} {outcome:36s} {numbers[0]:>6s} {memory[0]:>9s} {memory[1]:>8s}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
