"""Labelled faces: labels from a manifest or UTKFace file names, a split that never changes, cached model inputs.

Accepted sources (``find_source``): an archive (``.tar.gz``), a folder holding one (a
SageMaker channel such as ``/opt/ml/input/data/training``), or an unpacked folder of images
at any depth. Labels come from a ``labels.csv`` manifest beside the images when there is one
(columns ``file,gender`` and optionally ``age``, ``race``: see ``read_manifest``), otherwise
from UTKFace's file names. A face without an age or race carries ``UNKNOWN`` there.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import logging
import re
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from agegender import labels
from agegender.preprocessing import prepare_face

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
#: Age or race not given by a source (the age loss skips such faces; race slices leave them out).
UNKNOWN = -1
#: Faces below this age are children (for training weights and the evaluation's age bands).
CHILD_AGE = 18
#: The file every manifest source holds beside its images.
MANIFEST = "labels.csv"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_NAME = re.compile(r"^(?P<age>\d{1,3})_(?P<gender>[01])_(?P<race>[0-4])_(?P<stamp>\d+)\.jpg(\.chip\.jpg)?$")
#: Bump when the cached arrays would change for the same source (preprocessing, parsing).
CACHE_FORMAT = "1"


@dataclass(frozen=True)
class FaceLabel:
    """Labels of one face image (``age``/``race`` may be ``UNKNOWN``; gender 1 = female)."""

    name: str
    age: int
    gender: int
    race: int


_GENDER_WORDS = {"female": 1, "f": 1, "woman": 1, "1": 1, "male": 0, "m": 0, "man": 0, "0": 0}


def parse_manifest_row(row: dict[str, str]) -> FaceLabel | None:
    """One manifest row -> labels; None (and a warning) when its gender or age cannot be read.

    ``gender``: Male/Female (or M/F, or 0/1 with UTKFace's 1 = female); ``age``: whole years,
    a range ``lo-hi`` (its midpoint) or empty; ``race``: UTKFace's 0-4 or empty.
    """
    name = (row.get("file") or "").strip()
    gender = _GENDER_WORDS.get((row.get("gender") or "").strip().lower())
    age_text = (row.get("age") or "").strip()
    race_text = (row.get("race") or "").strip()
    try:
        if "-" in age_text.strip("-"):
            low, high = (int(part) for part in age_text.split("-", 1))
            age = (low + high) // 2
        else:
            age = int(age_text) if age_text else UNKNOWN
        race = int(race_text) if race_text else UNKNOWN
    except ValueError:
        age = race = -2
    if not name or gender is None or age < UNKNOWN or race < UNKNOWN or race >= len(labels.RACES):
        log.warning("skipping unreadable manifest row %r", row)
        return None
    return FaceLabel(name, age, gender, race)


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


def iter_files(source: Path, suffixes: tuple[str, ...] = (".jpg",)) -> Iterator[tuple[str, bytes]]:
    """Yield ``(file name, bytes)`` for every file ending in ``suffixes`` in an archive or folder, in a stable order."""
    if source.is_file():
        with tarfile.open(source, "r:*") as archive:
            for member in archive:
                if member.isfile() and member.name.lower().endswith(suffixes):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        yield member.name.rsplit("/", 1)[-1], handle.read()
    else:
        for file in sorted(f for f in source.rglob("*") if f.name.lower().endswith(suffixes)):
            yield file.name, file.read_bytes()


def read_manifest(source: Path) -> dict[str, FaceLabel] | None:
    """The source's ``labels.csv`` rows by file name, or None where it has no manifest (UTKFace naming)."""
    text = next((blob.decode("utf-8-sig") for name, blob in iter_files(source, (MANIFEST,)) if name == MANIFEST), None)
    if text is None:
        return None
    rows = (parse_manifest_row(row) for row in csv.DictReader(io.StringIO(text)))
    return {label.name: label for label in rows if label is not None}


def labelled_files(source: Path) -> Iterator[tuple[FaceLabel, bytes]]:
    """Every labelled image of ``source`` with its labels (manifest rows, else UTKFace names)."""
    manifest = read_manifest(source)
    for name, blob in iter_files(source, IMAGE_SUFFIXES):
        label = parse_name(name) if manifest is None else manifest.get(name)
        if label is not None:
            yield label, blob


@dataclass
class FaceDataset:
    """Model inputs and labels for every usable face, with its split."""

    images: np.ndarray  # (N, S, S, 3) uint8, from agegender.preprocessing.prepare_face
    ages: np.ndarray  # (N,) int
    genders: np.ndarray  # (N,) int, 1 = female
    races: np.ndarray  # (N,) int
    names: np.ndarray  # (N,) str
    splits: np.ndarray  # (N,) str
    sources: np.ndarray  # (N,) str, the source each face came from
    #: A teacher's P(female) for the row's view (NaN: none) and its age distribution (zeros: none).
    teacher_p_female: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))  # (N,) float32
    teacher_age: np.ndarray = field(default_factory=lambda: np.empty((0, 0), np.float16))  # (N, MAX_AGE + 1)

    def __post_init__(self) -> None:
        """Rows no teacher read (the default): NaN and zeros."""
        if self.teacher_p_female.shape != (len(self.ages),):
            self.teacher_p_female = np.full(len(self.ages), np.nan, np.float32)
        if self.teacher_age.shape != (len(self.ages), labels.MAX_AGE + 1):
            self.teacher_age = np.zeros((len(self.ages), labels.MAX_AGE + 1), np.float16)

    def __len__(self) -> int:
        return len(self.ages)

    def subset(self, split: str) -> FaceDataset:
        return self.subset_mask(self.splits == split)

    def subset_mask(self, mask: np.ndarray) -> FaceDataset:
        """The rows where ``mask`` is true."""
        return FaceDataset(**{key: getattr(self, key)[mask] for key in FIELDS})

    def take(self, index: np.ndarray) -> FaceDataset:
        """The rows at ``index`` (repeats allowed), in that order."""
        return FaceDataset(**{key: getattr(self, key)[index] for key in FIELDS})

    def head(self, count: int) -> FaceDataset:
        return self.take(np.arange(min(count, len(self))))

    @staticmethod
    def concatenate(parts: list[FaceDataset]) -> FaceDataset:
        """All rows of ``parts``, in order."""
        return FaceDataset(**{key: np.concatenate([getattr(p, key) for p in parts]) for key in FIELDS})


FIELDS = tuple(FaceDataset.__dataclass_fields__)


def _decode(item: tuple[str, bytes], size: int) -> np.ndarray | None:
    name, data = item
    try:
        with Image.open(io.BytesIO(data)) as image:
            return prepare_face(image, size)
    except (OSError, ValueError) as exc:
        log.warning("skipping unreadable image %s: %s", name, exc)
        return None


@functools.lru_cache(maxsize=32)
def _content_digest(source: Path, size: int, mtime_ns: int) -> str:
    """What ``source`` holds: an archive's bytes, or a folder's file names (labels) and sizes.

    Not its path or modification time, so a fresh copy of the same data reuses the caches. Memoised on
    the path, size and mtime, so a run hashes each archive once (0.18 s for UTKFace's).
    """
    digest = hashlib.blake2b(digest_size=16)
    if source.is_file():
        with source.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    else:
        for file in sorted(f for f in source.rglob("*") if f.is_file()):
            digest.update(f"{file.relative_to(source)}|{file.stat().st_size}\n".encode())
    return digest.hexdigest()


def source_digest(source: Path, settings: str) -> str:
    """16 hex digits naming what was made from ``source`` (its content, not its path or mtime) with ``settings``."""
    stat = source.stat()
    key = f"{_content_digest(source.resolve(), stat.st_size, stat.st_mtime_ns)}|{settings}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _cache_file(
    source: Path, size: int, val_fraction: float, test_fraction: float, cache_dir: Path, source_name: str
) -> Path:
    digest = source_digest(source, f"{size}|{val_fraction}|{test_fraction}|{CACHE_FORMAT}")
    return cache_dir / f"{source_name}_{size}px_{digest}.npz"


#: The source name UTKFace rows carry (their file names stay unprefixed, so its split never moved).
UTKFACE = "utkface"


def row_name(source_name: str, file_name: str) -> str:
    """A face's name in a dataset: UTKFace's file names as they are, other sources' as ``source/file``."""
    return file_name if source_name == UTKFACE else f"{source_name}/{file_name}"


def load_faces(
    data: Path,
    size: int,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    cache_dir: Path | None = None,
    workers: int = 4,
    source_name: str = UTKFACE,
) -> FaceDataset:
    """Load every labelled face of one source as a model input of side ``size``, with labels and split.

    The split is a hash of the row name (``row_name``). Decoded arrays are cached in
    ``cache_dir`` (keyed by the source's content and the settings), so later runs
    start in seconds.
    """
    source = find_source(data)
    cache = _cache_file(source, size, val_fraction, test_fraction, cache_dir, source_name) if cache_dir else None
    if cache is not None and cache.exists():
        log.info("loading cached faces from %s", cache)
        with np.load(cache, allow_pickle=False) as arrays:
            stored = {k: arrays[k] for k in FIELDS if k in arrays}
        stored.setdefault("sources", np.full(len(stored["ages"]), source_name))
        return FaceDataset(**stored)

    items: list[tuple[str, bytes]] = []
    face_labels: list[FaceLabel] = []
    for label, blob in labelled_files(source):
        name = row_name(source_name, label.name)
        items.append((name, blob))
        face_labels.append(FaceLabel(name, label.age, label.gender, label.race))
    log.info("decoding %d faces from %s at %dx%d", len(items), source, size, size)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        decoded = list(pool.map(lambda item: _decode(item, size), items, chunksize=64))
    keep = [i for i, arr in enumerate(decoded) if arr is not None]
    images = [arr for arr in decoded if arr is not None]
    if not keep:
        raise ValueError(f"no usable labelled images in {source}")
    kept = [face_labels[i] for i in keep]
    dataset = FaceDataset(
        images=np.stack(images),
        ages=np.array([f.age for f in kept], dtype=np.int32),
        genders=np.array([f.gender for f in kept], dtype=np.int32),
        races=np.array([f.race for f in kept], dtype=np.int32),
        names=np.array([f.name for f in kept]),
        splits=np.array([split_of(f.name, val_fraction, test_fraction) for f in kept]),
        sources=np.full(len(kept), source_name),
    )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.stem + ".tmp.npz")
        np.savez(tmp, **{k: getattr(dataset, k) for k in FIELDS if not k.startswith("teacher_")})
        tmp.replace(cache)
    return dataset


#: Name suffix of the extra training rows that are camera views of a face (``training.detector_crops``).
VIEW_SUFFIX = "#view"


def label_summary(dataset: FaceDataset) -> dict[str, object]:
    """Counts per split, gender and race, and the age histogram, for reports (faces, not their extra views)."""
    views = np.char.find(dataset.names.astype(str), VIEW_SUFFIX) >= 0
    if views.any():
        return {**label_summary(dataset.subset_mask(~views)), "detector_views": int(views.sum())}
    aged = dataset.ages[dataset.ages != UNKNOWN]
    summary: dict[str, object] = {
        "faces": len(dataset),
        "splits": {s: int((dataset.splits == s).sum()) for s in SPLITS},
        "gender": {labels.GENDERS[g]: int((dataset.genders == g).sum()) for g in range(2)},
        "race": {labels.RACES[r]: int((dataset.races == r).sum()) for r in range(len(labels.RACES))},
        "without_race": int((dataset.races == UNKNOWN).sum()),
        "without_age": int(len(dataset) - len(aged)),
        "age_histogram_10y": np.bincount(np.minimum(aged, 119) // 10, minlength=12).tolist(),
    }
    names = sorted(set(dataset.sources.tolist()))
    if len(names) > 1:
        summary["sources"] = {name: label_summary(dataset.subset_mask(dataset.sources == name)) for name in names}
    return summary
