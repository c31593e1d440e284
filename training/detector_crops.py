"""Training faces as the Lambda sees them: the runtime's own decode -> detect -> align -> crop.

For each training image, ``views`` camera views: the face scaled to a random side
(``MIN_SIDE``-``MAX_SIDE`` px), pasted at a random place into a ``FRAME_SIDE`` square frame of
its own mean border colour, JPEG-encoded at a random quality, then decoded, detected and
aligned by ``agegender`` exactly as the Lambda does (``decoding.decode_image``,
``ImageAnalyzer.detect``, ``faces.align_face``) and prepared at the model's input size by the
shared ``prepare_face``. Images in which the runtime finds no face are recorded as misses (the
run keeps their originals only). The arrays are cached like the UTKFace arrays.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from agegender.preprocessing import prepare_face
from training.dataset import source_digest

log = logging.getLogger(__name__)

FRAME_SIDE = 320
MIN_SIDE, MAX_SIDE = 40, 200
JPEG_QUALITY = (50, 95)
#: Bump when the views would change for the same source and settings.
CACHE_FORMAT = "1"


@dataclass(frozen=True)
class DetectorViews:
    """Camera views of training faces, as the runtime crops them."""

    names: np.ndarray  # (M,) source file name of each view
    images: np.ndarray  # (M, S, S, 3) uint8 model inputs
    misses: list[str]  # views in which the runtime found no face


def camera_view(face: Image.Image, rng: np.random.Generator) -> bytes:
    """The face small, somewhere in a frame, as a JPEG: what a camera upload of it could look like."""
    side = int(rng.integers(MIN_SIDE, MAX_SIDE + 1))
    rgb = np.asarray(face.convert("RGB"))
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).mean(axis=0)
    frame = Image.new("RGB", (FRAME_SIDE, FRAME_SIDE), tuple(int(v) for v in border))
    left, top = (int(rng.integers(0, FRAME_SIDE - side + 1)) for _ in range(2))
    frame.paste(face.convert("RGB").resize((side, side), Image.Resampling.BILINEAR), (left, top))
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=int(rng.integers(*JPEG_QUALITY)))
    return buffer.getvalue()


_ANALYZER = None


def runtime_crop(data: bytes, size: int) -> np.ndarray | None:
    """The Lambda's crop of the most confident face in ``data`` at ``size``, or None where it finds none."""
    from agegender import decoding
    from agegender.analyzer import ImageAnalyzer
    from agegender.faces import align_face

    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = ImageAnalyzer()
    image = decoding.decode_image(data).image
    faces = _ANALYZER.detect(image)
    if not faces:
        return None
    return prepare_face(align_face(image, faces[0]).crop, size)


def _views_of(job: tuple[str, bytes, int, int, int]) -> list[tuple[str, np.ndarray | None]]:
    name, data, size, views, seed = job
    rng = np.random.default_rng([seed, int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")])
    face = Image.open(io.BytesIO(data))
    face.load()
    return [(name, runtime_crop(camera_view(face, rng), size)) for _ in range(views)]


def detector_views(
    items: Iterable[tuple[str, bytes]],
    size: int,
    *,
    views: int = 1,
    seed: int = 0,
    workers: int = 2,
    cache: Path | None = None,
) -> DetectorViews:
    """``views`` runtime crops of each ``(name, JPEG bytes)`` item (a process per core, each with its models)."""
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as arrays:
            return DetectorViews(arrays["names"], arrays["images"], arrays["misses"].tolist())
    jobs = [(name, data, size, views, seed) for name, data in items]
    names, images, misses = [], [], []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for results in pool.map(_views_of, jobs, chunksize=64):
            for name, crop in results:
                if crop is None:
                    misses.append(name)
                else:
                    names.append(name)
                    images.append(crop)
    log.info("detector views: %d crops, %d misses", len(images), len(misses))
    found = DetectorViews(
        np.array(names, dtype=str),
        np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8),
        misses,
    )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, names=found.names, images=found.images, misses=np.array(misses, dtype=str))
    return found


def cache_key(source: Path, settings: str) -> str:
    """A cache file name for the views of ``source`` made with ``settings`` (every value that changes them)."""
    return f"detector_views_{source_digest(source, f'{settings}|{CACHE_FORMAT}')}.npz"
