"""Pack a run's training data into one file for another machine (``training.pack_format``).

python -m training.pack --out faces.pack --sources utkface,aaf,celeba:0.8 --detector_views 1
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from training import pack_format
from training.options import build_parser
from training.run import load_data

log = logging.getLogger("training")


def main(argv: list[str] | None = None) -> int:
    """Load the sources as ``training.train`` would with the same options and pack them to ``--out``."""
    parser = build_parser()
    parser.prog = "python -m training.pack"
    parser.add_argument("--out", type=Path, required=True, help="the pack file to write")
    parser.add_argument("--quality", type=int, default=85, help="WebP quality of the stored faces (1-100)")
    args_list = sys.argv[1:] if argv is None else argv
    args, unknown = parser.parse_known_args(args_list)
    if unknown:
        parser.error(f"unknown arguments: {unknown}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    size = pack_format.pack(load_data(args), args.out, quality=args.quality)
    log.info("wrote %s (%.1f MB)", args.out, size / 1e6)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
