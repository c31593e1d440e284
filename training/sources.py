"""Several labelled sources mixed into one training set, each with the runtime's crops of its faces.

A source is ``name[=path][:weight]`` (``--sources``): UTKFace by file names, or any archive
or folder with a ``labels.csv`` manifest (``training.dataset.read_manifest``), so a user can
train on whatever faces they have rights to. ``aaf`` and ``celeba`` name the extra sets in
``../shared/datasets/extra`` when no path is given. ``weight`` scales how often a source's
training faces are drawn (0.5 = half of them, 2 = each twice). Every face gets camera views
cropped by the Lambda's own code (``training.detector_crops``); sources whose own framing is
not what the runtime crops (``crops_only``, e.g. CelebA's tight crops) train on those views
only. A held-out source (``holdout``) is never trained on: its faces only validate.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.dataset import (
    CHILD_AGE,
    IMAGE_SUFFIXES,
    UNKNOWN,
    UTKFACE,
    VIEW_SUFFIX,
    FaceDataset,
    find_source,
    iter_files,
    label_summary,
    load_faces,
    row_name,
)
from training.detector_crops import (
    EVALUATION_FAULTS,
    TRAINING_FAULTS,
    CameraFaults,
    DetectorViews,
    cache_key,
    detector_views,
)
from training.options import DEFAULT_DATA, EXTRA_DATA

log = logging.getLogger(__name__)

#: Where the named extra sets live when ``--sources`` gives no path.
KNOWN_PATHS = {
    UTKFACE: DEFAULT_DATA,
    "aaf": EXTRA_DATA / "AllAgeFaces.tar.gz",
    "celeba": EXTRA_DATA / "CelebA-gender.tar.gz",
}
#: Licence terms of the named sources (shared/datasets READMEs); a user's own manifest carries the user's terms.
LICENCES = {
    UTKFACE: "non-commercial research only (UTKFace's terms)",
    "aaf": "none stated by the authors (Cheng et al. 2019): treated as non-commercial research",
    "celeba": "non-commercial research only (CelebA's agreement)",
}
#: Name suffix of the evaluation views (the detect+crop path of validation and test faces).
EVAL_VIEW_SUFFIX = "#eval"


@dataclass(frozen=True)
class SourceSpec:
    """One ``--sources`` entry."""

    name: str
    path: Path
    weight: float = 1.0


def parse_source(text: str, utkface_path: Path = DEFAULT_DATA) -> SourceSpec:
    """``name[=path][:weight]`` -> a spec (UTKFace's default path is ``utkface_path``)."""
    weight = 1.0
    head, _, tail = text.strip().rpartition(":")
    if head and tail.replace(".", "", 1).isdigit():
        text, weight = head, float(tail)
    name, _, path = text.partition("=")
    name = name.strip()
    if not name or "/" in name:
        raise ValueError(f"bad source {text!r}: expected name[=path][:weight]")
    if not path:
        known = {**KNOWN_PATHS, UTKFACE: utkface_path}
        if name not in known:
            raise ValueError(f"source {name!r} needs a path (name=path); known names: {sorted(known)}")
        path = str(known[name])
    if weight < 0:
        raise ValueError(f"source {name!r}: weight must be >= 0")
    return SourceSpec(name, Path(path), weight)


def _views(
    spec: SourceSpec,
    faces: FaceDataset,
    size: int,
    count: int,
    seed: int,
    faults: CameraFaults,
    cache_dir: Path,
    teacher: Path | None = None,
    crop_scale: float = 1.0,
) -> DetectorViews:
    """``count`` runtime crops of each face in ``faces`` (one source), with ``teacher``'s outputs, cached."""
    from agegender.contract import load_contract
    from agegender.detector import YUNET_N

    wanted = set(faces.names.tolist())
    digest = hashlib.sha256("\n".join(sorted(wanted)).encode()).hexdigest()[:16]
    source = find_source(spec.path)
    settings = f"{size}|{count}|{seed}|{digest}|{YUNET_N.name} {YUNET_N.version}|{faults}"
    if crop_scale != 1.0:
        settings += f"|crop {crop_scale}"
    if teacher is not None:
        contract = load_contract(teacher)
        settings += f"|teacher {contract.name} {contract.version} {contract.extra.get('sha256')}"
    items = (
        (row, blob) for file, blob in iter_files(source, IMAGE_SUFFIXES) if (row := row_name(spec.name, file)) in wanted
    )
    cache = cache_dir / cache_key(source, settings)
    return detector_views(
        items, size, views=count, seed=seed, faults=faults, cache=cache, teacher=teacher, crop_scale=crop_scale
    )


def _as_rows(faces: FaceDataset, views: DetectorViews, suffix: str) -> FaceDataset:
    """The views as dataset rows carrying their face's labels and split."""
    row = {name: i for i, name in enumerate(faces.names.tolist())}
    taken = faces.take(np.array([row[name] for name in views.names.tolist()], dtype=np.int64))
    rows = FaceDataset(**{**taken.__dict__, "images": views.images, "names": np.char.add(taken.names, suffix)})
    if views.teacher is not None:
        rows.teacher_p_female, rows.teacher_age = views.teacher.p_female, views.teacher.age_probs
    return rows


def children_weighted(faces: FaceDataset, weight: float, seed: int) -> FaceDataset:
    """``faces`` with each row of a face under ``CHILD_AGE`` (known age) ``weight`` times in all (``weighted``)."""
    if weight == 1.0:
        return faces
    child = (faces.ages != UNKNOWN) & (faces.ages < CHILD_AGE)
    return FaceDataset.concatenate([faces.subset_mask(~child), weighted(faces.subset_mask(child), weight, seed)])


def weighted(faces: FaceDataset, weight: float, seed: int) -> FaceDataset:
    """Each row ``floor(weight)`` times, plus a random ``weight % 1`` share of the rows once more."""
    whole, part = int(weight), weight - int(weight)
    rng = np.random.default_rng(seed)
    extra = rng.permutation(len(faces))[: round(part * len(faces))]
    index = np.concatenate([np.tile(np.arange(len(faces)), whole), np.sort(extra)]).astype(np.int64)
    return faces.take(index)


@dataclass
class MixedData:
    """Training rows of all sources, and per source the faces that validate and test."""

    train: FaceDataset  # originals (where the framing fits) and training views, weighted
    val: FaceDataset  # UTKFace-style validation for Keras: the originals of non-crops-only sources
    checks: dict[str, FaceDataset]  # "<source>/<split>/<path>" -> faces; path = aligned | detected
    misses: dict[str, int]  # views without a detection, per source
    sources: dict[str, dict[str, object]] = field(default_factory=dict)  # per source: path, weight, licence, faces


def load_mixed(
    specs: list[SourceSpec],
    size: int,
    *,
    views: int,
    seed: int,
    cache_dir: Path,
    crops_only: frozenset[str] = frozenset(),
    holdout: str = "",
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    max_images: int = 0,
    child_weight: float = 1.0,
    teacher: Path | None = None,
    crop_scale: float = 1.0,
) -> MixedData:
    """Load each source, add its runtime crops (with ``teacher``'s outputs on the training views), weight and
    mix the training rows.
    """
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"source names repeat: {names}")
    if holdout and holdout not in names:
        raise ValueError(f"--holdout_source {holdout!r} is not one of the sources {names}")
    train_parts, val_parts, view_val_parts, checks, misses = [], [], [], {}, {}
    described: dict[str, dict[str, object]] = {}
    for index, spec in enumerate(specs):
        faces = load_faces(
            spec.path,
            size,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            cache_dir=cache_dir,
            source_name=spec.name,
        )
        if max_images:
            faces = faces.head(max_images)
        described[spec.name] = {
            "path": str(spec.path),
            "weight": spec.weight,
            "licence": LICENCES.get(spec.name, "the user's own"),
            "held_out": spec.name == holdout,
            "crops_only": spec.name in crops_only,
            **label_summary(faces),
        }
        train = faces.subset("train")
        held = faces.subset_mask(faces.splits != "train")
        if spec.name == holdout:  # validate on every face, train on none
            held, train = faces, faces.subset_mask(np.zeros(len(faces), bool))
        evaluation = _views(spec, held, size, 1, seed, EVALUATION_FAULTS, cache_dir, crop_scale=crop_scale)
        held_views = _as_rows(held, evaluation, EVAL_VIEW_SUFFIX)
        for split in ("val", "test") if spec.name != holdout else ("all",):
            checks[f"{spec.name}/{split}/aligned"] = held if split == "all" else held.subset(split)
            checks[f"{spec.name}/{split}/detected"] = held_views if split == "all" else held_views.subset(split)
        misses[spec.name] = len(evaluation.misses)
        if spec.name != holdout and spec.name not in crops_only:
            val_parts.append(held.subset("val"))
        elif spec.name != holdout:
            view_val_parts.append(held_views.subset("val"))
        if len(train) and views:
            found = _views(spec, train, size, views, seed, TRAINING_FAULTS, cache_dir, teacher, crop_scale)
            misses[spec.name] += len(found.misses)
            rows = _as_rows(train, found, VIEW_SUFFIX)
            train = rows if spec.name in crops_only else FaceDataset.concatenate([train, rows])
        train_parts.append(weighted(children_weighted(train, child_weight, seed + index), spec.weight, seed + index))
        log.info(
            "source %s: %d training rows (weight %.2f), %d misses",
            spec.name,
            len(train_parts[-1]),
            spec.weight,
            misses[spec.name],
        )
    empty = train_parts[-1].subset_mask(np.zeros(len(train_parts[-1]), bool))  # a source's columns, no rows
    # Every source crops-only: validate on their detect+crop views (there is no photo framed as training is).
    validation = val_parts or view_val_parts or [empty]
    mixed = MixedData(FaceDataset.concatenate(train_parts), FaceDataset.concatenate(validation), checks, misses)
    mixed.sources = described
    return mixed
