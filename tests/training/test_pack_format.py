"""A training set packed into one file and trained on elsewhere (training.pack_format)."""

import json

import numpy as np
import pytest

from training import options, pack, pack_format, train
from training.dataset import FIELDS
from training.run import load_data

pytestmark = pytest.mark.slow

DATA = ["--input_size", "32", "--detector_views", "1"]


@pytest.fixture
def data_args(tmp_path, utkface_archive):
    return [*DATA, "--train", str(utkface_archive), "--cache_dir", str(tmp_path / "cache")]


def test_a_pack_holds_what_fit_reads(tmp_path, data_args):
    pack_file = tmp_path / "faces.pack"
    assert pack.main([*data_args, "--out", str(pack_file)]) == 0
    original = load_data(options.parse_args(data_args))
    restored = pack_format.unpack(pack_file)
    assert set(restored.checks) == {"utkface/val/detected"}
    assert restored.misses == original.misses
    assert restored.sources == json.loads(json.dumps(original.sources, default=str))
    for name in ("train", "val"):
        before, after = getattr(original, name), getattr(restored, name)
        assert len(after) == len(before) > 0
        for field in FIELDS[1:]:
            np.testing.assert_array_equal(getattr(after, field), getattr(before, field))
        # Lossy WebP: close to the faces, not equal to them.
        error = np.abs(after.images.astype(int) - before.images.astype(int)).mean()
        assert after.images.shape == before.images.shape
        assert error < 6, error


def test_training_runs_from_a_pack_alone(tmp_path, data_args):
    pack_file = tmp_path / "faces.pack"
    pack.main([*data_args, "--out", str(pack_file)])
    output = tmp_path / "output"
    argv = ["--input_size", "32", "--width", "0.25", "--batch_size", "16", "--epochs", "1", "--export", "false",
            "--packed_data", str(pack_file), "--train", str(tmp_path / "nowhere"),
            "--output_data_dir", str(output), "--checkpoint_dir", str(tmp_path / "ckpt")]  # fmt: skip
    assert train.main(argv) == 0
    assert (output / "model.keras").stat().st_size > 1000
    assert len((output / "history.csv").read_text().splitlines()) == 2  # header + the one epoch
    with pytest.raises(ValueError, match="32 px faces"):
        load_data(options.parse_args(["--input_size", "48", "--packed_data", str(pack_file)]))
