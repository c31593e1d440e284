"""The ``agegender`` command line.

    agegender predict [--no-detect] IMAGE...   one result JSON per image (JSON Lines)
    agegender local up [--port N] [--workers N] the pipeline on an embedded AWS (moto's server)
    agegender demo [--images DIR]               the local pipeline, sample uploads, a table of results

``predict`` prints the pipeline's schema with ``"Source": {"Path": ...}``; a bad image gets an
error result, and the exit status is non-zero only for usage errors. The local commands live in
``local_pipeline`` (they need the dev extra's moto server); they are imported only when used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agegender.exceptions import AgeGenderError, AnalysisFailedError, InvalidPathError


def _predict(args: argparse.Namespace) -> int:
    from agegender.analyzer import ImageAnalyzer
    from agegender.assets import CLASSIFIERS
    from agegender.classifier import AgeGenderClassifier
    from agegender.results import result_document

    classifier = AgeGenderClassifier(args.model or CLASSIFIERS[args.classifier], num_threads=args.threads)
    analyzer = ImageAnalyzer(classifier, detect_faces=not args.no_detect)
    model = analyzer.model_info
    for path in args.images:
        source = {"Path": path}
        try:
            try:
                with open(path, "rb") as file:  # at most one byte over the limit: /dev/zero is not read whole
                    data = file.read(analyzer.settings.max_bytes + 1)
            except OSError as exc:
                raise InvalidPathError(f"cannot read {path}: {exc.strerror or exc}") from exc
            analysis = analyzer.analyze_face_crop(data) if args.no_detect else analyzer.analyze(data)
            document = result_document(source=source, model=model, image=analysis.image, faces=analysis.faces)
        except AgeGenderError as exc:
            document = result_document(source=source, model=model, error=exc)
        except Exception as exc:  # a bug in the analysis of one file: report it and go on with the others
            failure = AnalysisFailedError(f"the analysis failed: {type(exc).__name__}: {exc}")
            document = result_document(source=source, model=model, error=failure)
        print(json.dumps(document), flush=True)
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, Any]:
    """The parser with the runtime's commands, and its subcommand set (upper floors add theirs)."""
    from agegender.assets import CLASSIFIERS

    parser = argparse.ArgumentParser(prog="agegender", description="Age and gender inference.")
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="analyse local images; prints JSON Lines")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument(
        "--no-detect", action="store_true", help="each image is one aligned face crop (no face detection)"
    )
    predict.add_argument(
        "--classifier", choices=sorted(CLASSIFIERS), default="small", help="a shipped classifier (default small)"
    )
    predict.add_argument("--model", type=Path, default=None, help="instead: a classifier .tflite (with contract)")
    predict.add_argument("--threads", type=int, default=1, help="TFLite threads")
    predict.set_defaults(run=_predict)
    return parser, commands


def main(argv: list[str] | None = None) -> int:
    """Parse and run one runtime command."""
    parser, _ = build_parser()
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
