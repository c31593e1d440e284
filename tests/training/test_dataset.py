import logging
import os

import numpy as np
import pytest

from tests.conftest import MALFORMED_NAMES, synthetic_utkface_files
from training import dataset
from training.dataset import (
    UNKNOWN,
    find_source,
    label_summary,
    load_faces,
    parse_manifest_row,
    parse_name,
    split_of,
)


def test_parse_name_reads_labels():
    label = parse_name("UTKFace/26_1_2_20170116174525125.jpg.chip.jpg")
    assert (label.name, label.age, label.gender, label.race) == ("26_1_2_20170116174525125.jpg.chip.jpg", 26, 1, 2)
    assert parse_name("9_0_4_20161220222856346.jpg").age == 9


@pytest.mark.parametrize("name", [*MALFORMED_NAMES, "26_2_0_2017.jpg.chip.jpg", "26_1_7_2017.jpg.chip.jpg", "x.jpg"])
def test_malformed_names_are_skipped_with_a_warning(name, caplog):
    with caplog.at_level(logging.WARNING):
        assert parse_name(name) is None
    assert "malformed" in caplog.text


def test_split_is_deterministic_and_proportionate():
    names = [f"{i % 90}_{i % 2}_{i % 5}_2017{i:09d}.jpg.chip.jpg" for i in range(20000)]
    splits = np.array([split_of(n) for n in names])
    assert [split_of(n) for n in names[:100]] == splits[:100].tolist()
    for split, expected in (("train", 0.8), ("val", 0.1), ("test", 0.1)):
        assert abs((splits == split).mean() - expected) < 0.01
    # Changing the fractions only moves names between the affected splits.
    assert all(split_of(n, 0.1, 0.2) == "test" for n, s in zip(names, splits, strict=True) if s == "test")


def test_load_from_archive_channel_skips_malformed(utkface_archive, caplog):
    with caplog.at_level(logging.WARNING):
        data = load_faces(utkface_archive, 24)
    assert len(data) == 160
    assert data.images.shape == (160, 24, 24, 3)
    assert data.images.dtype == np.uint8
    assert set(data.splits) <= {"train", "val", "test"}
    assert caplog.text.count("malformed") == len(MALFORMED_NAMES)
    assert set(data.subset("test").splits) == {"test"}


def test_load_from_unpacked_folder_matches_archive(utkface_archive, tmp_path):
    folder = tmp_path / "UTKFace"
    folder.mkdir()
    for name, blob in synthetic_utkface_files(160).items():
        (folder / name).write_bytes(blob)
    from_folder = load_faces(tmp_path, 24)
    from_archive = load_faces(utkface_archive, 24)
    order_f, order_a = np.argsort(from_folder.names), np.argsort(from_archive.names)
    np.testing.assert_array_equal(from_folder.names[order_f], from_archive.names[order_a])
    np.testing.assert_array_equal(from_folder.images[order_f], from_archive.images[order_a])


def test_cache_is_reused(utkface_archive, tmp_path, monkeypatch):
    first = load_faces(utkface_archive, 16, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1

    def no_reading(source):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(dataset, "iter_files", no_reading)
    second = load_faces(utkface_archive, 16, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.splits, second.splits)


def test_cache_key_follows_content_not_path_or_mtime(utkface_archive, tmp_path):
    archive = find_source(utkface_archive)
    copy = tmp_path / "copy" / archive.name
    copy.parent.mkdir()
    copy.write_bytes(archive.read_bytes())
    os.utime(copy, ns=(1, 1))
    assert dataset.source_digest(copy, "s") == dataset.source_digest(archive, "s")
    assert dataset.source_digest(copy, "t") != dataset.source_digest(archive, "s")

    copy.write_bytes(archive.read_bytes() + b"\0")
    assert dataset.source_digest(copy, "s") != dataset.source_digest(archive, "s")


def test_find_source_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        find_source(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="neither"):
        find_source(tmp_path)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"file": "a.jpg", "gender": "Female", "age": "31"}, (1, 31, UNKNOWN)),
        ({"file": "a.jpg", "gender": "male"}, (0, UNKNOWN, UNKNOWN)),
        ({"file": "a.jpg", "gender": "M", "age": "25-32", "race": "2"}, (0, 28, 2)),
        ({"file": "a.jpg", "gender": "1", "age": ""}, (1, UNKNOWN, UNKNOWN)),
    ],
)
def test_manifest_rows(row, expected):
    label = parse_manifest_row(row)
    assert (label.gender, label.age, label.race) == expected


@pytest.mark.parametrize(
    "row",
    [
        {"file": "a.jpg", "gender": "x"},
        {"file": "", "gender": "Male"},
        {"file": "a.jpg", "gender": "Male", "age": "old"},
        {"file": "a.jpg", "gender": "Male", "race": "9"},
    ],
)
def test_unreadable_manifest_rows_are_skipped(row, caplog):
    with caplog.at_level(logging.WARNING):
        assert parse_manifest_row(row) is None
    assert "manifest" in caplog.text


def write_manifest_source(folder, count=12):
    """A folder of ``count`` images with a labels.csv: alternate genders, every third face without an age."""
    folder.mkdir(parents=True, exist_ok=True)
    files = synthetic_utkface_files(count)
    lines = ["file,gender,age"]
    for index, blob in enumerate(list(files.values())[:count]):
        (folder / f"img{index:03d}.jpg").write_bytes(blob)
        age = "" if index % 3 == 0 else str(20 + index)
        lines.append(f"img{index:03d}.jpg,{'Female' if index % 2 else 'Male'},{age}")
    lines.append("missing.jpg,Male,30")  # a row without an image: nothing to load
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_a_manifest_source_loads_with_its_own_names_and_unknown_ages(tmp_path):
    data = load_faces(write_manifest_source(tmp_path / "mine"), 24, source_name="mine")
    assert len(data) == 12
    assert data.names[0] == "mine/img000.jpg"
    assert set(data.sources) == {"mine"}
    assert (data.ages == UNKNOWN).sum() == 4
    assert (data.races == UNKNOWN).all()
    assert data.genders.tolist()[:4] == [0, 1, 0, 1]
    summary = label_summary(data)
    assert summary["without_age"] == 4
    assert summary["without_race"] == 12
