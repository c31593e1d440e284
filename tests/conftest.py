"""Shared fixtures: small data the tests make themselves (never the UTKFace images)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agegender.assets import REPO_ROOT

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SHARED_UTKFACE = REPO_ROOT.parent / "shared" / "datasets" / "utkface"
SHIPPED_MODEL = REPO_ROOT / "models" / "agegender.tflite"
TEST_DATA = Path(__file__).resolve().parent / "data"

MALFORMED_NAMES = (
    "61_1_20170109150557335.jpg.chip.jpg",  # race missing
    "55_0_0_20170116232725357jpg.chip.jpg",  # no dot before jpg
    "24_0_1_20170116220224657 .jpg.chip.jpg",  # stray space
    "abc_0_1_20170116220224657.jpg.chip.jpg",  # age not a number
)


def synthetic_face(age: int, gender: int, size: int = 48, seed: int = 0) -> Image.Image:
    """A face-like image whose colours carry the labels, so a tiny model can learn something."""
    rng = np.random.default_rng(seed)
    base = np.array([200, 80, 80] if gender else [80, 80, 200], dtype=np.float64)
    shade = 0.4 + 0.6 * (age / 100)
    pixels = base * shade + rng.normal(0, 12, (size, size, 3))
    yy, xx = np.mgrid[:size, :size]
    oval = ((yy - size / 2) / (size * 0.45)) ** 2 + ((xx - size / 2) / (size * 0.35)) ** 2 < 1
    pixels[~oval] = 30
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def synthetic_utkface_files(count: int, size: int = 48) -> dict[str, bytes]:
    """``count`` well-named JPEGs plus the malformed names, as ``{file name: bytes}``."""
    rng = np.random.default_rng(7)
    files = {}
    for i in range(count):
        age, gender, race = int(rng.integers(1, 90)), int(rng.integers(0, 2)), int(rng.integers(0, 5))
        buffer = io.BytesIO()
        synthetic_face(age, gender, size, seed=i).save(buffer, format="JPEG", quality=90)
        files[f"{age}_{gender}_{race}_2017011{i:010d}.jpg.chip.jpg"] = buffer.getvalue()
    for name in MALFORMED_NAMES:
        buffer = io.BytesIO()
        synthetic_face(30, 0, size).save(buffer, format="JPEG")
        files[name] = buffer.getvalue()
    return files


def write_utkface_archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, blob in files.items():
            info = tarfile.TarInfo(f"UTKFace/{name}")
            info.size = len(blob)
            archive.addfile(info, io.BytesIO(blob))
    return path


#: Fixtures that download wheels from the package index (their tests are marked ``network``).
NETWORK_FIXTURES = {"lambda_layer", "audience_package"}
TIERS = ("unit", "functional", "infra", "training")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier (its folder) and ``network`` where it needs the package index."""
    for item in items:
        folder = Path(str(item.path)).parent.name
        if folder in TIERS:
            item.add_marker(getattr(pytest.mark, folder))
        if NETWORK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.network)


@pytest.fixture(scope="session")
def utkface_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A channel folder holding a UTKFace-like ``.tar.gz`` of 160 synthetic faces."""
    channel = tmp_path_factory.mktemp("channel")
    write_utkface_archive(channel / "UTKFace.tar.gz", synthetic_utkface_files(160))
    return channel


@pytest.fixture
def sample_portrait() -> Image.Image:
    """A real frontal face (public domain, tests/data/README.md), 160 x 175."""
    return Image.open(TEST_DATA / "astronaut_head.jpg").convert("RGB")


@pytest.fixture
def shipped_model() -> Path:
    if not SHIPPED_MODEL.exists():
        pytest.fail(f"the shipped model is missing: {SHIPPED_MODEL} (run `make train`)")
    return SHIPPED_MODEL


@pytest.fixture
def utkface_dir() -> Path:
    if not (SHARED_UTKFACE / "UTKFace.tar.gz").exists():
        pytest.skip(f"needs the UTKFace archive at {SHARED_UTKFACE}")
    return SHARED_UTKFACE


@pytest.fixture(scope="session")
def lambda_layer():
    """The Lambda layer, built for real (pip --platform --target, pruned) for this machine's Python and CPU,
    so that a test can load the handler from it; the stack tests use it as the layer asset too.
    """
    import platform
    import sys

    from layers.build import build_layer

    architecture = {"aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "x86_64")
    return build_layer(architecture=architecture, python_version=f"{sys.version_info.major}.{sys.version_info.minor}")


@pytest.fixture(scope="session")
def function_package(tmp_path_factory):
    """The function folder (handler, agegender package, models) exactly as it is deployed."""
    from layers.build import stage_function

    return stage_function(tmp_path_factory.mktemp("function") / "function")


@pytest.fixture(scope="session")
def audience_package(tmp_path_factory):
    """The audience functions' folder (handler, audience package, frame-message modules, Powertools) as deployed."""
    from layers.build import stage_audience_function

    return stage_audience_function(tmp_path_factory.mktemp("audience") / "audience-function")
