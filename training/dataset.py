"""UTKFace loading: labels from file names, a split that never changes, cached model inputs.

Accepted sources (``find_source``): the ``UTKFace.tar.gz`` archive, a folder holding it
(a SageMaker channel such as ``/opt/ml/input/data/training``), or an unpacked folder of
``*.jpg`` files at any depth.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from agegender import labels
from agegender.preprocessing import prepare_face

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
_NAME = re.compile(r"^(?P<age>\d{1,3})_(?P<gender>[01])_(?P<race>[0-4])_(?P<stamp>\d+)\.jpg(\.chip\.jpg)?$")
#: Bump when the cached arrays would change for the same source (preprocessing, parsing).
CACHE_FORMAT = "1"


@dataclass(frozen=True)
class FaceLabel:
    """Labels parsed from one UTKFace file name."""

    name: str
    age: int
    gender: int
    race: int


def parse_name(name: str) -> FaceLabel | None:
    """Labels from ``[age]_[gender]_[race]_[datetime].jpg.chip.jpg``; None (and a warning) if malformed."""
    base = name.rsplit("/", 1)[-1]
    match = _NAME.match(base)
    if match is None:
        log.warning("skipping malformed UTKFace name %r", base)
        return None
    return FaceLabel(base, int(match["age"]), int(match["gender"]), int(match["race"]))


def split_of(name: str, val_fraction: float = 0.1, test_fraction: float = 0.1) -> str:
    """Deterministic split from a hash of the file name: the same name always lands in the same split."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def find_source(path: Path) -> Path:
    """Resolve a channel folder or file to the archive or image folder to read."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"no UTKFace data at {path}")
    archives = sorted(path.glob("*.tar.gz")) + sorted(path.glob("*.tgz"))
    if archives:
        return archives[0]
    if next(path.rglob("*.jpg"), None) is not None:
        return path
    raise FileNotFoundError(f"{path} holds neither a UTKFace .tar.gz nor .jpg images")


def iter_files(source: Path) -> Iterator[tuple[str, bytes]]:
    """Yield ``(file name, bytes)`` for every JPEG in an archive or folder, in a stable order."""
    if source.is_file():
        with tarfile.open(source, "r:*") as archive:
            for member in archive:
                if member.isfile() and member.name.endswith(".jpg"):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        yield member.name.rsplit("/", 1)[-1], handle.read()
    else:
        for file in sorted(source.rglob("*.jpg")):
            yield file.name, file.read_bytes()


@dataclass
class FaceDataset:
    """Model inputs and labels for every usable face, with its split."""

    images: np.ndarray  # (N, S, S, 3) uint8, from agegender.preprocessing.prepare_face
    ages: np.ndarray  # (N,) int
    genders: np.ndarray  # (N,) int, 1 = female
    races: np.ndarray  # (N,) int
    names: np.ndarray  # (N,) str
    splits: np.ndarray  # (N,) str

    def __len__(self) -> int:
        return len(self.ages)

    def subset(self, split: str) -> FaceDataset:
        return self.subset_mask(self.splits == split)

    def subset_mask(self, mask: np.ndarray) -> FaceDataset:
        """The rows where ``mask`` is true."""
        return FaceDataset(
            self.images[mask],
            self.ages[mask],
            self.genders[mask],
            self.races[mask],
            self.names[mask],
            self.splits[mask],
        )

    def head(self, count: int) -> FaceDataset:
        return FaceDataset(
            self.images[:count], self.ages[:count], self.genders[:count], self.races[:count],
            self.names[:count], self.splits[:count],
        )  # fmt: skip


def _decode(item: tuple[str, bytes], size: int) -> np.ndarray | None:
    name, data = item
    try:
        with Image.open(io.BytesIO(data)) as image:
            return prepare_face(image, size)
    except (OSError, ValueError) as exc:
        log.warning("skipping unreadable image %s: %s", name, exc)
        return None


def source_digest(source: Path, settings: str) -> str:
    """16 hex digits naming what was made from ``source`` (its path, size and mtime) with ``settings``."""
    stat = source.stat()
    key = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{settings}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _cache_file(source: Path, size: int, val_fraction: float, test_fraction: float, cache_dir: Path) -> Path:
    digest = source_digest(source, f"{size}|{val_fraction}|{test_fraction}|{CACHE_FORMAT}")
    return cache_dir / f"utkface_{size}px_{digest}.npz"


def load_faces(
    data: Path,
    size: int,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    cache_dir: Path | None = None,
    workers: int = 4,
) -> FaceDataset:
    """Load every well-named face as a model input of side ``size``, with labels and split.

    Decoded arrays are cached in ``cache_dir`` (keyed by the source, its size and mtime,
    and the settings), so later runs start in seconds.
    """
    source = find_source(data)
    cache = _cache_file(source, size, val_fraction, test_fraction, cache_dir) if cache_dir else None
    if cache is not None and cache.exists():
        log.info("loading cached faces from %s", cache)
        with np.load(cache, allow_pickle=False) as arrays:
            return FaceDataset(**{k: arrays[k] for k in FaceDataset.__dataclass_fields__})

    items: list[tuple[str, bytes]] = []
    face_labels: list[FaceLabel] = []
    for name, blob in iter_files(source):
        parsed = parse_name(name)
        if parsed is not None:
            items.append((name, blob))
            face_labels.append(parsed)
    log.info("decoding %d faces from %s at %dx%d", len(items), source, size, size)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = list(pool.map(lambda item: _decode(item, size), items, chunksize=64))
    keep = [i for i, arr in enumerate(decoded) if arr is not None]
    images = [arr for arr in decoded if arr is not None]
    if not keep:
        raise ValueError(f"no usable UTKFace images in {source}")
    kept = [face_labels[i] for i in keep]
    dataset = FaceDataset(
        images=np.stack(images),
        ages=np.array([f.age for f in kept], dtype=np.int32),
        genders=np.array([f.gender for f in kept], dtype=np.int32),
        races=np.array([f.race for f in kept], dtype=np.int32),
        names=np.array([f.name for f in kept]),
        splits=np.array([split_of(f.name, val_fraction, test_fraction) for f in kept]),
    )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.stem + ".tmp.npz")
        np.savez(tmp, **{k: getattr(dataset, k) for k in FaceDataset.__dataclass_fields__})
        tmp.replace(cache)
    return dataset


#: Name suffix of the extra training rows that are camera views of a face (``training.detector_crops``).
VIEW_SUFFIX = "#view"


def label_summary(dataset: FaceDataset) -> dict[str, object]:
    """Counts per split, gender and race, and the age histogram, for reports (faces, not their extra views)."""
    views = np.char.find(dataset.names.astype(str), VIEW_SUFFIX) >= 0
    if views.any():
        return {**label_summary(dataset.subset_mask(~views)), "detector_views": int(views.sum())}
    return {
        "faces": len(dataset),
        "splits": {s: int((dataset.splits == s).sum()) for s in SPLITS},
        "gender": {labels.GENDERS[g]: int((dataset.genders == g).sum()) for g in range(2)},
        "race": {labels.RACES[r]: int((dataset.races == r).sum()) for r in range(len(labels.RACES))},
        "age_histogram_10y": np.bincount(np.minimum(dataset.ages, 119) // 10, minlength=12).tolist(),
    }
