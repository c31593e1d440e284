"""Benchmarks and evaluation commands (``python -m bench.<name>`` from the repository root).

The top floor: they may import every other floor; nothing imports them except the tests.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
