"""A training set in one portable file, for training on another machine (a GPU box without the datasets).

``python -m training.pack --out data.pack <training.train's data options>`` loads the sources
exactly as a training run does (runtime crops included) and writes what ``training.run.fit``
reads: the training rows, the Keras validation rows and the per-source validation faces an
epoch is chosen on. Faces are stored as WebP (lossy, ``--quality``; about 1.1 kB a 72 px face
at 85, a mean error of 2.5 grey levels), labels as arrays, so tens of thousands of faces
travel in tens of megabytes. On the other machine::

    KERAS_BACKEND=jax python -m training.train --packed_data data.pack --export false

then export here with ``python -m training.export --keras_model .../model.keras <the same data
options>`` (calibration and evaluation use the full sources, not the pack).
"""

from __future__ import annotations

import io
import itertools
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from training.dataset import FIELDS, FaceDataset
from training.sources import MixedData

log = logging.getLogger(__name__)

PACK_FORMAT = "2"
#: Image fields are stored encoded; every other ``FaceDataset`` field as its array.
_LABEL_FIELDS = tuple(name for name in FIELDS if name != "images")


def selection_checks(data: MixedData) -> dict[str, FaceDataset]:
    """The per-source faces ``fit`` validates every epoch on (the detect+crop path of the validation split,
    or of every face of a held-out source).
    """
    return {key: faces for key, faces in data.checks.items() if key.endswith(("/val/detected", "/all/detected"))}


def _encode(image: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "WEBP", quality=quality, method=4)
    return buffer.getvalue()


def _decode(blob: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(blob)) as image:
        return np.asarray(image.convert("RGB"))


def pack(data: MixedData, path: Path, *, quality: int = 85, workers: int = 8) -> int:
    """Write ``data``'s training, validation and selection faces to ``path``; returns its size in bytes."""
    parts = {"train": data.train, "val": data.val, **{f"checks:{k}": v for k, v in selection_checks(data).items()}}
    arrays: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for index, faces in enumerate(parts.values()):
            blobs = list(pool.map(lambda image: _encode(image, quality), faces.images, chunksize=256))
            arrays[f"p{index}_bytes"] = np.frombuffer(b"".join(blobs), dtype=np.uint8)
            arrays[f"p{index}_offsets"] = np.cumsum([0, *map(len, blobs)]).astype(np.int64)
            for name in _LABEL_FIELDS:
                arrays[f"p{index}_{name}"] = getattr(faces, name)
    meta = {
        "format": PACK_FORMAT,
        "input_size": int(data.train.images.shape[1]),
        "parts": list(parts),
        "misses": data.misses,
        "sources": data.sources,
        "quality": quality,
    }
    arrays["meta"] = np.array(json.dumps(meta, default=str))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)
    return path.stat().st_size


def unpack(path: Path, *, workers: int = 8) -> MixedData:
    """The ``MixedData`` written by ``pack`` (its ``checks`` hold the selection faces only)."""
    with np.load(path, allow_pickle=False) as arrays:
        meta = json.loads(str(arrays["meta"]))
        if meta.get("format") != PACK_FORMAT:
            raise ValueError(f"{path}: pack format {meta.get('format')!r}, expected {PACK_FORMAT!r}")
        parts: dict[str, FaceDataset] = {}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for index, name in enumerate(meta["parts"]):
                raw, offsets = arrays[f"p{index}_bytes"].tobytes(), arrays[f"p{index}_offsets"]
                blobs = [raw[start:end] for start, end in itertools.pairwise(offsets)]
                decoded = list(pool.map(_decode, blobs, chunksize=256))
                side = meta["input_size"]
                images = np.stack(decoded) if decoded else np.zeros((0, side, side, 3), np.uint8)
                labels = {field: arrays[f"p{index}_{field}"] for field in _LABEL_FIELDS}
                parts[name] = FaceDataset(images=images, **labels)
    checks = {name.removeprefix("checks:"): faces for name, faces in parts.items() if name.startswith("checks:")}
    log.info("unpacked %s: %d training rows, %d validation rows, %d selection sets", path, len(parts["train"]),
             len(parts["val"]), len(checks))  # fmt: skip
    return MixedData(parts["train"], parts["val"], checks, meta["misses"], meta["sources"])
