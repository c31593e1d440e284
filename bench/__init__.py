"""Benchmarks and evaluation commands (``python -m bench.<name>`` from the repository root).

The top floor: they may import every other floor; nothing imports them except the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agegender.assets import REPO_ROOT


def add_json_option(parser: argparse.ArgumentParser, name: str) -> None:
    """``--json FILE`` for a bench's report: ``bench/results/<name>.json`` unless given; empty: not written."""
    parser.add_argument(
        "--json",
        type=lambda v: Path(v) if v else None,
        default=REPO_ROOT / "bench" / "results" / f"{name}.json",
        help="empty: do not write",
    )


def report(result: dict[str, object], name: str, argv: list[str] | None, path: Path | None) -> int:
    """Print a bench's JSON report with the command that made it, and write it to ``path`` (if any)."""
    command = f"python -m bench.{name} " + " ".join(sys.argv[1:] if argv is None else argv)
    text = json.dumps({"command": command.strip(), **result}, indent=2)
    print(text)
    if path:
        path.write_text(text + "\n")
    return 0
