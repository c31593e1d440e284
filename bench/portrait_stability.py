"""The demo portrait through the whole analysis in the versions a user's copy of it could be in.

    python -m bench.portrait_stability [--model PATH.tflite] [--json bench/results/portrait_stability.json]

scikit-image's ``astronaut.png`` (public domain; the demo's close-up) as PNG, as JPEG at quality
95, 85, 75 and 50, enlarged to 1024 px, halved, and blurred by 1 px: the largest face's gender,
confidence and age in each. A stable classifier gives one answer for all of them.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageFilter

from agegender.analyzer import ImageAnalyzer
from agegender.classifier import AgeGenderClassifier
from bench import add_json_option, report
from local_pipeline.samples import fetch_sources


def _encode(image: Image.Image, fmt: str, **options: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _jpeg(quality: int) -> Callable[[Image.Image], bytes]:
    return lambda im: _encode(im, "JPEG", quality=quality)


VERSIONS: dict[str, Callable[[Image.Image], bytes]] = {
    "png": lambda im: _encode(im, "PNG"),
    **{f"jpeg_q{q}": _jpeg(q) for q in (95, 85, 75, 50)},
    "enlarged_1024": lambda im: _encode(im.resize((1024, 1024), Image.Resampling.BICUBIC), "PNG"),
    "half_size": lambda im: _encode(im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR), "PNG"),
    "blur_1px": lambda im: _encode(im.filter(ImageFilter.GaussianBlur(1)), "PNG"),
}


def run(model: Path | None = None) -> dict[str, object]:
    """Each version's largest face: gender, confidence, age (``model``: a classifier other than the shipped one)."""
    analyzer = ImageAnalyzer(classifier=AgeGenderClassifier(model) if model else None)
    portrait = Image.open(fetch_sources()["astronaut.png"]).convert("RGB")
    found = {}
    for name, encode in VERSIONS.items():
        faces = analyzer.analyze(encode(portrait)).faces
        face = max(faces, key=lambda f: f["BoundingBox"]["Width"])
        found[name] = {
            "gender": face["Gender"]["Value"],
            "confidence": face["Gender"]["Confidence"],
            "age": face["Age"]["Value"],
        }
    genders = {v["gender"] for v in found.values()}
    return {
        "model": analyzer.model_info,
        "versions": found,
        "same_gender_in_all": len(genders) == 1,
        "genders": sorted(genders),
    }


def main(argv: list[str] | None = None) -> int:
    """Run and print (and write) the JSON report."""
    parser = argparse.ArgumentParser(prog="python -m bench.portrait_stability", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="classifier .tflite (default: the shipped one)")
    add_json_option(parser, "portrait_stability")
    args = parser.parse_args(argv)
    return report(run(args.model), "portrait_stability", argv, args.json)


if __name__ == "__main__":
    sys.exit(main())
