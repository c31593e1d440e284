"""Training faces as the Lambda sees them: the runtime's own decode -> detect -> align -> crop.

For each image, ``views`` camera views: the photo scaled to a random size and pasted at a
random place into a ``FRAME_SIDE`` square frame, either padded with a blurred mirror of itself
(so tight crops such as CelebA's get a background instead of an edge) on a frame of its own mean
border colour, or as it is, hard edge and all, on a cluttered frame (``cluttered_frame``: a
photo pasted into a scene, whose crop around the face takes in the edge and what lies beyond),
put through a camera's faults (``CameraFaults``: low resolution, blur, noise, colour and
white-balance shifts, grey frames, JPEG quality), then decoded, detected and aligned by
``agegender`` exactly as the Lambda does (``decoding.decode_image``, ``ImageAnalyzer.detect``,
``faces.align_face``, with the detector's keypoints jittered a little more in training) and
prepared at the model's input size by the shared ``prepare_face``. Images in which the runtime
finds no face are recorded as misses. The arrays are cached like the source arrays.

With a ``teacher`` (a classifier file with its contract, ``training.teacher``), each view is also
cropped as the teacher's contract frames it and classified by the teacher: its P(female) and age
distribution for exactly the view the student sees (the "patient and consistent teacher" of knowledge
distillation by function matching), cached beside the view.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from agegender.classifier import AgeGenderClassifier
from agegender.detector import Detection
from agegender.labels import MAX_AGE
from agegender.preprocessing import prepare_face
from training.dataset import source_digest

log = logging.getLogger(__name__)

FRAME_SIDE = 320
#: Padding added around each photo before it is scaled, as a share of its side on each edge.
PAD_SHARE = 0.3
#: Bump when the views would change for the same source and settings.
CACHE_FORMAT = "2"


@dataclass(frozen=True)
class CameraFaults:
    """What happens to a face between a real scene and the Lambda, drawn per view."""

    side: tuple[int, int] = (24, 200)  # longer side of the unpadded photo in the frame, log-uniform
    pasted_chance: float = 0.0  # the photo unpadded on a cluttered frame instead of mirror-padded
    jpeg_quality: tuple[int, int] = (30, 95)
    blur_chance: float = 0.3
    blur_radius: tuple[float, float] = (0.4, 1.5)
    noise_chance: float = 0.3
    noise_sigma: tuple[float, float] = (2.0, 8.0)
    colour_chance: float = 0.5
    channel_gain: float = 0.12  # white balance: each channel times 1 +- this
    grey_chance: float = 0.08
    keypoint_jitter: float = 0.03  # std of extra keypoint noise, in eye distances


#: Training views: the whole range of camera faults.
TRAINING_FAULTS = CameraFaults(pasted_chance=0.5)
#: Evaluation views (the detect+crop path of a test split): a plain camera, no extra faults.
EVALUATION_FAULTS = CameraFaults(
    side=(80, 200), jpeg_quality=(90, 91), blur_chance=0.0, noise_chance=0.0, colour_chance=0.0,
    grey_chance=0.0, keypoint_jitter=0.0,
)  # fmt: skip


@dataclass(frozen=True)
class DetectorViews:
    """Camera views of training faces, as the runtime crops them."""

    names: np.ndarray  # (M,) source file name of each view
    images: np.ndarray  # (M, S, S, 3) uint8 model inputs
    misses: list[str]  # views in which the runtime found no face
    #: The teacher's reading of each view (``TeacherOutputs``), or None without a teacher.
    teacher: TeacherOutputs | None = None


@dataclass(frozen=True)
class TeacherOutputs:
    """A teacher's outputs for M views."""

    p_female: np.ndarray  # (M,) float32
    age_probs: np.ndarray  # (M, MAX_AGE + 1) float16


def padded(photo: Image.Image) -> Image.Image:
    """``photo`` inside a border of its own mirror image, blurred, ``PAD_SHARE`` of its side wide."""
    rgb = np.asarray(photo.convert("RGB"))
    pad_y, pad_x = (max(1, int(PAD_SHARE * n)) for n in rgb.shape[:2])
    pad_y, pad_x = min(pad_y, rgb.shape[0] - 1), min(pad_x, rgb.shape[1] - 1)
    mirrored = Image.fromarray(np.pad(rgb, ((pad_y, pad_y), (pad_x, pad_x), (0, 0)), mode="reflect"))
    canvas = mirrored.filter(ImageFilter.GaussianBlur(max(2.0, photo.width / 12)))
    canvas.paste(photo.convert("RGB"), (pad_x, pad_y))
    return canvas


def cluttered_frame(rng: np.random.Generator, side: int = FRAME_SIDE) -> Image.Image:
    """A square scene without faces: a colour gradient, coarse smooth noise and a few flat shapes."""
    ramp = np.linspace(0.0, 1.0, side, dtype=np.float32)
    ramp = ramp[None, :, None] if rng.random() < 0.5 else ramp[:, None, None]
    start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    pixels = np.broadcast_to(start + (end - start) * ramp, (side, side, 3)).copy()
    cells = int(rng.integers(3, 17))
    coarse = Image.fromarray(rng.integers(0, 256, (cells, cells, 3), dtype=np.uint8)).resize(
        (side, side), Image.Resampling.BICUBIC
    )
    pixels = (1 - (mix := rng.uniform(0.1, 0.6))) * pixels + mix * np.asarray(coarse, dtype=np.float32)
    frame = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(frame)
    for _ in range(int(rng.integers(2, 9))):
        x0, y0 = (int(v) for v in rng.integers(-side // 4, side, 2))
        x1, y1 = x0 + int(rng.integers(side // 10, side // 2)), y0 + int(rng.integers(side // 10, side // 2))
        shape = draw.rectangle if rng.random() < 0.6 else draw.ellipse
        shape((x0, y0, x1, y1), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return frame


def camera_view(photo: Image.Image, rng: np.random.Generator, faults: CameraFaults = TRAINING_FAULTS) -> bytes:
    """The photo small, somewhere in a frame, through a camera's faults, as a JPEG."""
    low, high = faults.side
    side = float(np.exp(rng.uniform(np.log(low), np.log(high + 1))))
    scale = side / max(photo.size)
    pasted = faults.pasted_chance > 0 and rng.random() < faults.pasted_chance  # no draw: old views stay
    photo = photo.convert("RGB") if pasted else padded(photo)
    width, height = (max(8, round(n * scale)) for n in photo.size)
    width, height = min(width, FRAME_SIDE), min(height, FRAME_SIDE)
    if pasted:
        frame = cluttered_frame(rng)
    else:
        rgb = np.asarray(photo)
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).mean(axis=0)
        frame = Image.new("RGB", (FRAME_SIDE, FRAME_SIDE), tuple(int(v) for v in border))
    left = int(rng.integers(0, FRAME_SIDE - width + 1))
    top = int(rng.integers(0, FRAME_SIDE - height + 1))
    frame.paste(photo.resize((width, height), Image.Resampling.BILINEAR), (left, top))
    if rng.random() < faults.blur_chance:
        frame = frame.filter(ImageFilter.GaussianBlur(rng.uniform(*faults.blur_radius)))
    pixels: np.ndarray = np.asarray(frame, dtype=np.float32)
    if rng.random() < faults.colour_chance:
        gain = 1.0 + rng.uniform(-faults.channel_gain, faults.channel_gain, size=3)
        gamma = rng.uniform(0.8, 1.25)
        pixels = 255.0 * (np.clip(pixels * gain, 0, 255) / 255.0) ** gamma
    if rng.random() < faults.noise_chance:
        pixels = pixels + rng.normal(0.0, rng.uniform(*faults.noise_sigma), size=pixels.shape)
    frame = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if rng.random() < faults.grey_chance:
        frame = frame.convert("L").convert("RGB")
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=int(rng.integers(*faults.jpeg_quality)))
    return buffer.getvalue()


_ANALYZER = None
_TEACHERS: dict[Path, AgeGenderClassifier] = {}


def runtime_face(
    data: bytes, rng: np.random.Generator | None = None, keypoint_jitter: float = 0.0
) -> tuple[Image.Image, Detection] | None:
    """The decoded image and its most confident face as the Lambda finds it, or None where it finds none.

    With ``keypoint_jitter``, the detector's keypoints move by that many eye distances (std).
    """
    from agegender import decoding
    from agegender.analyzer import ImageAnalyzer

    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = ImageAnalyzer()
    image = decoding.decode_image(data).image
    faces = _ANALYZER.detect(image)
    if not faces:
        return None
    face = faces[0]
    if rng is not None and keypoint_jitter > 0:
        scale = np.array(image.size, dtype=np.float64)
        points = face.keypoints * scale
        eye_distance = float(np.hypot(*(points[1] - points[0])))
        moved = points + rng.normal(0.0, keypoint_jitter * eye_distance, size=points.shape)
        face = dataclasses.replace(face, keypoints=moved / scale)
    return image, face


def runtime_crop(
    data: bytes,
    size: int,
    rng: np.random.Generator | None = None,
    keypoint_jitter: float = 0.0,
    crop_scale: float = 1.0,
) -> np.ndarray | None:
    """The Lambda's crop of the most confident face in ``data`` at ``size`` (framed ``crop_scale`` times as wide
    as the template), or None where it finds none.
    """
    found = runtime_face(data, rng, keypoint_jitter)
    return None if found is None else framed(*found, size, crop_scale)


def framed(image: Image.Image, face: Detection, size: int, crop_scale: float = 1.0) -> np.ndarray:
    """``face`` aligned and framed as a model with this input ``size`` and contract ``crop_scale`` sees it."""
    from agegender.faces import align_for_model

    return prepare_face(align_for_model(image, face, size, crop_scale).crop, size)


def teacher_reading(image: Image.Image, face: Detection, teacher: Path) -> tuple[float, np.ndarray]:
    """The ``teacher`` classifier's P(female) and age distribution for ``face``, framed as its contract says."""
    if teacher not in _TEACHERS:
        _TEACHERS[teacher] = AgeGenderClassifier(teacher, num_threads=1)
    model = _TEACHERS[teacher]
    contract = model.contract
    inputs = framed(image, face, contract.input_size, contract.crop_scale)[None].astype(np.float32)
    out = model.model(**{contract.input_name: inputs})
    return float(out[contract.gender_output].reshape(-1)[0]), out[contract.age_output][0]


ViewResult = tuple[str, np.ndarray | None, tuple[float, np.ndarray] | None]


def _views_of(job: tuple[str, bytes, int, int, int, CameraFaults, Path | None, float]) -> list[ViewResult]:
    name, data, size, views, seed, faults, teacher, crop_scale = job
    rng = np.random.default_rng([seed, int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")])
    try:
        face = Image.open(io.BytesIO(data))
        face.load()
    except (OSError, ValueError) as exc:
        log.warning("skipping unreadable image %s: %s", name, exc)
        return [(name, None, None)] * views
    found: list[ViewResult] = []
    for _ in range(views):
        # The same random draws with and without a teacher: the teacher reads the student's own views.
        detected = runtime_face(camera_view(face, rng, faults), rng, faults.keypoint_jitter)
        if detected is None:
            found.append((name, None, None))
            continue
        crop = framed(*detected, size, crop_scale)
        found.append((name, crop, teacher_reading(*detected, teacher) if teacher is not None else None))
    return found


def detector_views(
    items: Iterable[tuple[str, bytes]],
    size: int,
    *,
    views: int = 1,
    seed: int = 0,
    workers: int = 2,
    cache: Path | None = None,
    faults: CameraFaults = TRAINING_FAULTS,
    teacher: Path | None = None,
    crop_scale: float = 1.0,
) -> DetectorViews:
    """``views`` runtime crops of each ``(name, image bytes)`` item (a process per core, each with its models),
    framed ``crop_scale`` times as wide as the template, with a ``teacher``'s outputs for each.
    """
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as arrays:
            taught = TeacherOutputs(arrays["p_female"], arrays["age_probs"]) if "p_female" in arrays else None
            return DetectorViews(arrays["names"], arrays["images"], arrays["misses"].tolist(), taught)
    jobs = [(name, data, size, views, seed, faults, teacher, crop_scale) for name, data in items]
    names, images, misses, p_female, age_probs = [], [], [], [], []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for results in pool.map(_views_of, jobs, chunksize=64):
            for name, crop, reading in results:
                if crop is None:
                    misses.append(name)
                    continue
                names.append(name)
                images.append(crop)
                if reading is not None:
                    p_female.append(reading[0])
                    age_probs.append(reading[1].astype(np.float16))
    log.info("detector views: %d crops, %d misses", len(images), len(misses))
    outputs = None
    if teacher is not None:
        outputs = TeacherOutputs(
            np.array(p_female, dtype=np.float32),
            np.stack(age_probs) if age_probs else np.zeros((0, MAX_AGE + 1), np.float16),
        )
    found = DetectorViews(
        np.array(names, dtype=str),
        np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8),
        misses,
        outputs,
    )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"names": found.names, "images": found.images, "misses": np.array(misses, dtype=str)}
        if outputs is not None:
            arrays |= {"p_female": outputs.p_female, "age_probs": outputs.age_probs}
        np.savez(cache, **arrays)
    return found


def cache_key(source: Path, settings: str) -> str:
    """A cache file name for the views of ``source`` made with ``settings`` (every value that changes them)."""
    return f"detector_views_{source_digest(source, f'{settings}|{CACHE_FORMAT}')}.npz"
