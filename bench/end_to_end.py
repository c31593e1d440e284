"""End-to-end speed of one image (decode, detect, crop, classify, serialise), cold start and peak memory.

    python -m bench.end_to_end [--repeats 20] [--scan-long-side N] [--json bench/results/end_to_end.json]

One TFLite thread, one process. Frames are JPEGs (quality 90) of 1280x720 and 1920x1080
with 0, 1, 3 and 10 UTKFace test-split faces of 60-160 px on a plain background (the
faces need the UTKFace archive; without it only the 0-face frames are timed), each timed
once per round, in turn, ``--repeats`` rounds; medians per frame. Cold start is
a fresh ``python`` process from its start to its first result (imports and model loads
included), median of ``--cold-starts``; peak memory is that process's maximum RSS after
analysing a 1920x1080 frame with 10 faces.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from agegender.analyzer import AnalyzerSettings, ImageAnalyzer
from agegender.results import result_document
from bench import REPO_ROOT

FRAME_SIZES = ((1280, 720), (1920, 1080))
FACE_COUNTS = (0, 1, 3, 10)

COLD_START = """
import json, resource, sys, time
from agegender.analyzer import ImageAnalyzer
from agegender.results import result_document
analyzer = ImageAnalyzer()
analysis = analyzer.analyze(open({image!r}, "rb").read())
json.dumps(result_document(source={{}}, model=analyzer.model_info, image=analysis.image, faces=analysis.faces))
# VmHWM, not ru_maxrss: after fork+exec ru_maxrss still counts the benchmark process that started this one.
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
fallback_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
peak_mb = int(status["VmHWM"].split()[0] if "VmHWM" in status else fallback_kb) / 1024
print(json.dumps({{"faces": len(analysis.faces), "max_rss_mb": peak_mb}}))
"""


def frame(width: int, height: int, faces: list[Image.Image], seed: int) -> bytes:
    """A JPEG camera-like frame with the given faces pasted at random places."""
    rng = np.random.default_rng(seed)
    canvas = Image.new("RGB", (width, height), (118, 124, 120))
    columns = 5
    for i, face in enumerate(faces):
        side = int(rng.integers(60, 161))
        x = (i % columns) * (width // columns) + 20
        y = (i // columns) * (height // 2) + 40
        canvas.paste(face.resize((side, side), Image.Resampling.BILINEAR), (x, y))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_faces(count: int) -> list[Image.Image]:
    """Faces for the frames: UTKFace test faces when present, else synthetic ones."""
    try:
        from bench.detection_recall import load_test_faces
        from training.options import DEFAULT_DATA

        return [face for face, _ in load_test_faces(DEFAULT_DATA, count)]
    except (FileNotFoundError, ImportError):
        return []


def main(argv: list[str] | None = None) -> int:
    """Time decode + detect + classify per frame, cold start and peak memory; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--cold-starts", type=int, default=10)
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "end_to_end.json")
    parser.add_argument(
        "--close-up-side", type=int, default=AnalyzerSettings.close_up_side, help="the close-up pass; 0 = none"
    )
    args = parser.parse_args(argv)
    faces = test_faces(max(FACE_COUNTS))
    analyzer = ImageAnalyzer(settings=AnalyzerSettings(close_up_side=args.close_up_side))
    cases = [
        (width, height, count, frame(width, height, faces[:count], seed=count))
        for width, height in FRAME_SIZES
        for count in FACE_COUNTS
        if count <= len(faces)
    ]
    for *_, data in cases:
        analyzer.analyze(data)  # warm-up: every interpreter shape is planned before timing
    # Round-robin over the frames, so that the machine's speed drifting during the run
    # affects every row alike.
    samples: list[list[float]] = [[] for _ in cases]
    found = [0] * len(cases)
    for _ in range(args.repeats):
        for index, (*_, data) in enumerate(cases):
            started = time.perf_counter()
            analysis = analyzer.analyze(data)
            json.dumps(
                result_document(source={}, model=analyzer.model_info, image=analysis.image, faces=analysis.faces)
            )
            samples[index].append((time.perf_counter() - started) * 1000)
            found[index] = len(analysis.faces)
    rows = [
        {"frame": f"{width}x{height}", "faces": count, "found": found[index],
         "median_ms": float(np.median(samples[index])), "p95_ms": float(np.percentile(samples[index], 95))}
        for index, (width, height, count, _) in enumerate(cases)
    ]  # fmt: skip
    cold = []
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "frame.jpg"
        image.write_bytes(frame(1920, 1080, faces[:10], seed=10))
        code = COLD_START.format(image=str(image))
        for _ in range(args.cold_starts):
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            cold.append(((time.perf_counter() - started) * 1000, json.loads(out.stdout.strip().splitlines()[-1])))
    report = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "threads": 1,
        },
        "close_up_side": args.close_up_side,
        "per_image": rows,
        "cold_start_ms_median": float(np.median([ms for ms, _ in cold])),
        "peak_rss_mb": float(max(info["max_rss_mb"] for _, info in cold)),
    }
    print(f"{'frame':<10} {'faces':>5} {'found':>5} {'ms/image':>9} {'p95':>7}")
    for r in rows:
        print(f"{r['frame']:<10} {r['faces']:>5} {r['found']:>5} {r['median_ms']:>9.1f} {r['p95_ms']:>7.1f}")
    print(f"cold start (fresh process to first result), median of {len(cold)}: {report['cold_start_ms_median']:.0f} ms")
    print(f"peak memory (max RSS, 1920x1080 with 10 faces): {report['peak_rss_mb']:.0f} MB")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
