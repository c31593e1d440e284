"""Several labelled sources mixed, each with the runtime's crops (training.sources)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from training.dataset import UNKNOWN, VIEW_SUFFIX, FaceDataset
from training.options import DEFAULT_DATA
from training.sources import (
    CHILD_AGE,
    EVAL_VIEW_SUFFIX,
    KNOWN_PATHS,
    children_weighted,
    load_mixed,
    parse_source,
    weighted,
)


def test_source_specs():
    assert parse_source("utkface", Path("/data/utk")).path == Path("/data/utk")
    assert parse_source("aaf").path == KNOWN_PATHS["aaf"]
    spec = parse_source("celeba:0.5")
    assert (spec.name, spec.path, spec.weight) == ("celeba", KNOWN_PATHS["celeba"], 0.5)
    spec = parse_source("shop=/srv/faces:2")
    assert (spec.name, spec.path, spec.weight) == ("shop", Path("/srv/faces"), 2.0)
    assert parse_source("utkface").path == DEFAULT_DATA
    with pytest.raises(ValueError, match="needs a path"):
        parse_source("mystery")
    with pytest.raises(ValueError, match="expected name"):
        parse_source("=/x")


def rows(count: int) -> FaceDataset:
    return FaceDataset(
        images=np.zeros((count, 4, 4, 3), np.uint8), ages=np.arange(count), genders=np.zeros(count, int),
        races=np.zeros(count, int), names=np.array([f"f{i}" for i in range(count)]),
        splits=np.array(["train"] * count), sources=np.array(["s"] * count),
    )  # fmt: skip


def test_weights_repeat_or_sample_rows():
    assert len(weighted(rows(10), 1.0, 0)) == 10
    assert len(weighted(rows(10), 0.5, 0)) == 5
    doubled = weighted(rows(10), 2.5, 0)
    assert len(doubled) == 25
    assert np.bincount(doubled.ages, minlength=10).min() == 2
    assert len(weighted(rows(10), 0.0, 0)) == 0


def test_child_weight_repeats_or_thins_only_the_faces_under_18():
    faces = rows(30)  # ages 0..29: 18 children
    faces.ages[0] = UNKNOWN  # an unknown age is never a child's
    assert children_weighted(faces, 1.0, 0) is faces
    doubled = children_weighted(faces, 2.0, 0)
    counts = np.bincount([int(name[1:]) for name in doubled.names], minlength=30)
    assert counts[1:CHILD_AGE].tolist() == [2] * (CHILD_AGE - 1)
    assert counts[0] == 1
    assert counts[CHILD_AGE:].tolist() == [1] * (30 - CHILD_AGE)
    halved = children_weighted(faces, 0.5, 0)
    ages = halved.ages
    assert int(((ages >= 0) & (ages < CHILD_AGE)).sum()) == round(0.5 * (CHILD_AGE - 1))
    assert int((ages >= CHILD_AGE).sum()) == 30 - CHILD_AGE


def portrait_source(folder: Path, portrait: Image.Image, count: int = 30) -> Path:
    """A manifest source of ``count`` real-face images (the portrait, mirrored and shifted), no ages on odd rows."""
    folder.mkdir(parents=True)
    lines = ["file,gender,age"]
    for index in range(count):
        image = ImageOps.mirror(portrait) if index % 2 else portrait
        image = ImageOps.expand(image, border=index % 7, fill=(index * 8 % 255, 90, 90))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        (folder / f"p{index:02d}.jpg").write_bytes(buffer.getvalue())
        lines.append(f"p{index:02d}.jpg,Female,{'' if index % 2 else 40}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_mixed_sources_with_views_a_crops_only_source_and_a_held_out_one(tmp_path, sample_portrait):
    first = portrait_source(tmp_path / "one", sample_portrait)
    second = portrait_source(tmp_path / "two", sample_portrait)
    specs = [parse_source(f"one={first}"), parse_source(f"two={second}:2")]
    mixed = load_mixed(specs, 32, views=1, seed=0, cache_dir=tmp_path / "cache", crops_only=frozenset({"two"}))
    train = mixed.train
    one = train.sources == "one"
    views = np.char.find(train.names.astype(str), VIEW_SUFFIX) >= 0
    assert (one & ~views).sum() == (one & views).sum() + mixed.misses["one"] - _eval_misses(mixed, "one")
    assert not (~one & ~views).any()  # crops-only: no original framing of "two" is trained on
    assert (~one).sum() == 2 * (~one & views).sum() / 2  # weight 2: every view twice
    assert (train.ages[train.sources == "two"] == UNKNOWN).any()  # unknown ages stay unknown
    assert set(train.splits) == {"train"}
    assert {"one/val/aligned", "one/val/detected", "two/test/detected"} <= set(mixed.checks)
    assert set(mixed.val.sources) == {"one"}  # Keras's validation: the sources trained in their own framing
    wide = load_mixed(
        specs, 32, views=1, seed=0, cache_dir=tmp_path / "cache", crops_only=frozenset({"one", "two"}), crop_scale=1.33
    )
    assert len(wide.val) > 0  # every source crops-only: validation is their detect+crop views
    assert (np.char.find(wide.val.names.astype(str), EVAL_VIEW_SUFFIX) >= 0).all()

    held = load_mixed(specs, 32, views=1, seed=0, cache_dir=tmp_path / "cache", holdout="two")
    assert set(held.train.sources) == {"one"}
    assert len(held.checks["two/all/aligned"]) == 30
    alone = load_mixed(specs[1:], 32, views=0, seed=0, cache_dir=tmp_path / "cache", holdout="two")
    assert len(alone.train) == 0
    assert len(alone.val) == 0  # evaluating one held-out source (training.evaluate --holdout_source)
    assert len(alone.checks["two/all/detected"]) > 0
    with pytest.raises(ValueError, match="not one of the sources"):
        load_mixed(specs, 32, views=1, seed=0, cache_dir=tmp_path / "cache", holdout="three")


def _eval_misses(mixed, name):
    """Evaluation views without a detection (counted in ``misses`` with the training ones)."""
    held = sum(len(mixed.checks[f"{name}/{split}/aligned"]) for split in ("val", "test"))
    found = sum(len(mixed.checks[f"{name}/{split}/detected"]) for split in ("val", "test"))
    return held - found
