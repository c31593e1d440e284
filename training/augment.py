"""Training-time augmentation as Keras 3 layers (identity at evaluation and export).

The set: horizontal flip, brightness/contrast, random crops with small rotation, shift and zoom
(drawn as one transform and resampled once: ``RandomAffine``), a few grey faces, and camera
texture (faces seen at a half or a third of the input's resolution, sensor noise), so that no
face, whatever its framing, teaches the network to read gender from skin texture that a smaller
or softer copy of the same photo loses. The heavier camera faults (low resolution, JPEG, blur,
noise, white balance) are applied before detection, in the runtime crops
(``training.detector_crops``). The layers are backend-agnostic, so the same pipeline runs on
TensorFlow here and on JAX on a GPU machine.
"""

from __future__ import annotations

import math

import keras
from keras import KerasTensor, layers, ops


def similarity_transforms(scale: KerasTensor, angle: KerasTensor, shift: KerasTensor, size: int) -> KerasTensor:
    """``ops.image.affine_transform`` rows ``(N, 8)`` mapping each output pixel to the input: about the
    image's centre, rotate by ``angle`` (radians), scale by ``scale`` (below 1 zooms in), then move by
    ``shift`` ``(N, 2)`` pixels (x, y).
    """
    centre = (size - 1) / 2.0
    cos, sin = ops.cos(angle) * scale, ops.sin(angle) * scale
    x_offset = centre + shift[:, 0] - (cos - sin) * centre
    y_offset = centre + shift[:, 1] - (sin + cos) * centre
    zeros = ops.zeros_like(scale)
    return ops.stack([cos, -sin, x_offset, sin, cos, y_offset, zeros, zeros], axis=1)


@keras.saving.register_keras_serializable(package="agegender")
class RandomAffine(layers.Layer):
    """Per face, one random similarity transform, resampled once (bilinear, reflected at the edges):
    a window of ``min_scale``..1 of the side placed anywhere it fits, zoomed by up to ``max_zoom`` either
    way, rotated by up to ``max_degrees``, shifted by up to ``max_shift`` of the side.

    One transform, resampled once, rather than a crop, rotation, shift and zoom layer each: every
    resampling softens the face, and on JAX each is a ``map_coordinates`` that dominates a GPU step
    (``bench.augmentation_cost`` times a step with and without it). At inference it passes images
    through unchanged.
    """

    def __init__(
        self,
        min_scale: float = 0.85,
        max_zoom: float = 0.08,
        max_degrees: float = 10.8,
        max_shift: float = 0.05,
        seed: int | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.min_scale, self.max_zoom, self.max_degrees, self.max_shift = min_scale, max_zoom, max_degrees, max_shift
        self.seed = seed
        self._rng = keras.random.SeedGenerator(seed)

    def call(self, images: KerasTensor, training: bool | None = None) -> KerasTensor:
        if not training:
            return images
        batch, size = ops.shape(images)[0], images.shape[1]

        def uniform(low: float, high: float, shape: tuple = ()) -> KerasTensor:
            return keras.random.uniform((batch, *shape), low, high, seed=self._rng)

        window = uniform(self.min_scale, 1.0)
        scale = window * uniform(1.0 - self.max_zoom, 1.0 + self.max_zoom)
        angle = uniform(-self.max_degrees, self.max_degrees) * (math.pi / 180.0)
        # Where the window sits (its free margin either way) plus the shift, in pixels.
        margin = (1.0 - window)[:, None] * (size / 2.0)
        shift = uniform(-1.0, 1.0, (2,)) * margin + uniform(-self.max_shift, self.max_shift, (2,)) * size
        transforms = similarity_transforms(scale, angle, shift, size)
        return ops.image.affine_transform(images, transforms, interpolation="bilinear", fill_mode="reflect")

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, object]:
        return {
            **super().get_config(),
            "min_scale": self.min_scale,
            "max_zoom": self.max_zoom,
            "max_degrees": self.max_degrees,
            "max_shift": self.max_shift,
            "seed": self.seed,
        }


#: ``CameraTexture``: the share of faces seen at a lower resolution, the divisors of the side
#: (one drawn per face), and the share given sensor noise.
LOW_RES_RATE = 0.2
LOW_RES_FACTORS = (2, 3)
NOISE_RATE = 0.2


@keras.saving.register_keras_serializable(package="agegender")
class CameraTexture(layers.Layer):
    """Per face: with probability ``low_res_rate`` a copy seen at 1/2 or 1/3 of the resolution
    (antialiased down, bilinear up), and with ``noise_rate`` Gaussian noise of std up to ``max_noise``.

    The resolutions are fixed fractions, so shapes stay static (JAX traces once).
    """

    def __init__(
        self,
        low_res_rate: float = LOW_RES_RATE,
        noise_rate: float = NOISE_RATE,
        max_noise: float = 6.0,
        seed: int | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.low_res_rate = low_res_rate
        self.noise_rate = noise_rate
        self.max_noise = max_noise
        self.seed = seed
        self._rng = keras.random.SeedGenerator(seed)

    def call(self, images: KerasTensor, training: bool | None = None) -> KerasTensor:
        if not training:
            return images
        batch, size = ops.shape(images)[0], images.shape[1]
        pick = keras.random.uniform((batch, 1, 1, 1), seed=self._rng)
        out = images
        for index, factor in enumerate(LOW_RES_FACTORS):
            small = ops.image.resize(images, (size // factor, size // factor), antialias=True)
            blurred = ops.image.resize(small, (size, size), interpolation="bilinear")
            share = self.low_res_rate / len(LOW_RES_FACTORS)
            chosen = ops.logical_and(pick >= index * share, pick < (index + 1) * share)
            out = ops.where(chosen, blurred, out)
        noisy = keras.random.uniform((batch, 1, 1, 1), seed=self._rng) < self.noise_rate
        std = keras.random.uniform((batch, 1, 1, 1), 0.0, self.max_noise, seed=self._rng)
        noise = keras.random.normal(ops.shape(images), seed=self._rng) * std
        return ops.clip(ops.where(noisy, out + noise, out), 0.0, 255.0)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, object]:
        return {
            **super().get_config(),
            "low_res_rate": self.low_res_rate,
            "noise_rate": self.noise_rate,
            "max_noise": self.max_noise,
            "seed": self.seed,
        }


#: What ``build_augmenter`` does, in words (the model card's augmentation line).
LAYERS_SUMMARY = (
    "horizontal flip, random resized crop, rotation, shift, zoom, brightness, contrast, a few grey faces, "
    f"and camera texture ({LOW_RES_RATE:.0%} of the faces at {' or '.join(f'1/{n}' for n in LOW_RES_FACTORS)} "
    f"resolution, {NOISE_RATE:.0%} with sensor noise)"
)


def build_augmenter(input_size: int, seed: int) -> keras.Sequential:
    """The augmentation pipeline for ``(N, S, S, 3)`` float images in 0..255."""
    return keras.Sequential(
        [
            keras.Input((input_size, input_size, 3)),
            layers.RandomFlip("horizontal", seed=seed),
            RandomAffine(seed=seed + 1),
            layers.RandomBrightness(0.15, value_range=(0.0, 255.0), seed=seed + 5),
            layers.RandomContrast(0.2, value_range=(0.0, 255.0), seed=seed + 6),
            layers.RandomGrayscale(0.05, seed=seed + 7),
            CameraTexture(seed=seed + 8),
        ],
        name="augment",
    )
