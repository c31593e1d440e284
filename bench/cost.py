"""Cost per million images on Lambda, from the measured duration, next to Rekognition DetectFaces.

    python -m bench.cost [--end-to-end bench/results/end_to_end.json] [--frame 1280x720 --faces 3]

Duration per image = the measured end-to-end median for that frame (``bench/end_to_end.py``,
one thread, this machine's CPU standing in for the 1 vCPU Lambda gives at 1,769 MB) plus the
S3 read and write inside AWS (``--s3-io-ms``, an assumption, stated in the output). Requests per
image: one S3 GET (the upload) and one PUT (the result), one SNS publish (the S3 notification;
delivery to SQS is free), about 1 + 2/batch SQS requests (SNS's send, the poller's receive and
delete per batch), 1/batch Lambda invocations. The upload's own PUT is left out on both sides:
Rekognition needs the image in S3 too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench import REPO_ROOT
from infra.config import PipelineConfig

#: AWS list prices, US East (N. Virginia), USD; from aws.amazon.com/{lambda,s3,sns,sqs,rekognition}/pricing
#: (first tiers), as read on 2026-11-23 from the stored copies of those pages available here.
PRICES_DATE = "2026-11-23 (AWS us-east-1 list prices, first tier)"
LAMBDA_GB_SECOND = {"arm64": 0.0000133334, "x86_64": 0.0000166667}
PRICES = {
    "lambda_request": 0.20 / 1e6,
    "s3_get": 0.0004 / 1000,
    "s3_put": 0.005 / 1000,
    "sns_publish": 0.50 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "rekognition_detect_faces": 1.00 / 1000,
}


def measured_ms(path: Path, frame: str, faces: int) -> float:
    """The median end-to-end milliseconds of one frame size and face count from a bench JSON."""
    rows = json.loads(path.read_text())["per_image"]
    (row,) = [r for r in rows if r["frame"] == frame and r["faces"] == faces]
    return float(row["median_ms"])


def cost_per_million(duration_ms: float, *, architecture: str, memory_mb: int, batch_size: int) -> dict[str, float]:
    """USD per million images, by item."""
    gb_seconds = memory_mb / 1024 * duration_ms / 1000
    per_image = {
        "lambda duration": gb_seconds * LAMBDA_GB_SECOND[architecture],
        "lambda requests": PRICES["lambda_request"] / batch_size,
        "s3 get + put": PRICES["s3_get"] + PRICES["s3_put"],
        "sns publish": PRICES["sns_publish"],
        "sqs requests": PRICES["sqs_request"] * (1 + 2 / batch_size),
    }
    return {item: usd * 1e6 for item, usd in per_image.items()}


def main() -> int:
    """Print and write the cost per million images for both architectures."""
    config = PipelineConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--end-to-end", type=Path, default=REPO_ROOT / "bench" / "results" / "end_to_end.json")
    parser.add_argument("--frame", default="1280x720")
    parser.add_argument("--faces", type=int, default=3)
    parser.add_argument("--s3-io-ms", type=float, default=30.0, help="assumed in-region S3 GET + PUT time per image")
    parser.add_argument("--memory-mb", type=int, default=config.memory_mb)
    parser.add_argument("--batch-size", type=int, default=config.batch_size)
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "cost.json")
    args = parser.parse_args()

    compute_ms = measured_ms(args.end_to_end, args.frame, args.faces)
    duration_ms = compute_ms + args.s3_io_ms
    rekognition = PRICES["rekognition_detect_faces"] * 1e6
    print(f"prices: {PRICES_DATE}")
    print(f"duration per image: {compute_ms:.1f} ms measured ({args.frame}, {args.faces} faces, {args.end_to_end.name})"
          f" + {args.s3_io_ms:.0f} ms S3 I/O (assumed) = {duration_ms:.1f} ms at {args.memory_mb} MB;"
          f" batches of {args.batch_size}")  # fmt: skip
    report = {"prices": PRICES, "prices_date": PRICES_DATE, "duration_ms": duration_ms, "architectures": {}}
    print(f"\n{'USD per million images':32s} {'arm64':>10s} {'x86_64':>10s}")
    costs = {arch: cost_per_million(duration_ms, architecture=arch, memory_mb=args.memory_mb,
                                    batch_size=args.batch_size) for arch in ("arm64", "x86_64")}  # fmt: skip
    for item in costs["arm64"]:
        print(f"{item:32s} {costs['arm64'][item]:10.2f} {costs['x86_64'][item]:10.2f}")
    for arch, items in costs.items():
        total = sum(items.values())
        report["architectures"][arch] = {"items": items, "total": total, "times_cheaper": rekognition / total}
    totals = {arch: report["architectures"][arch]["total"] for arch in costs}
    print(f"{'total':32s} {totals['arm64']:10.2f} {totals['x86_64']:10.2f}")
    print(f"{'Rekognition DetectFaces':32s} {rekognition:10.2f} {rekognition:10.2f}")
    ratios = [rekognition / totals[arch] for arch in ("arm64", "x86_64")]
    print(f"{'times cheaper than Rekognition':32s} {ratios[0]:10.0f} {ratios[1]:10.0f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
