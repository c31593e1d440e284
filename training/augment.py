"""Training-time augmentation as Keras 3 layers (identity at evaluation and export).

The set: horizontal flip, small rotation, shift, zoom, brightness/contrast (as in the seed
studies), plus random crops, a few grey faces, and camera texture (faces seen at a half or a third
of the input's resolution, sensor noise), so that no face, whatever its framing, teaches the
network to read gender from skin texture that a smaller or softer copy of the same photo loses.
The heavier camera faults
(low resolution, JPEG, blur, noise, white balance) are applied before detection, in the runtime
crops (``training.detector_crops``). The layers are backend-agnostic, so the same pipeline runs on
TensorFlow here and on JAX on a GPU machine.
"""

from __future__ import annotations

import keras
from keras import KerasTensor, layers, ops


@keras.saving.register_keras_serializable(package="agegender")
class RandomResizedCrop(layers.Layer):
    """Crop a random square window (``min_scale``..1 of the side) and resize it back to the input size.

    Each image gets its own window; at inference the layer passes images through unchanged.
    """

    def __init__(self, min_scale: float = 0.8, seed: int | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.min_scale = min_scale
        self.seed = seed
        self._rng = keras.random.SeedGenerator(seed)

    def call(self, images: KerasTensor, training: bool | None = None) -> KerasTensor:
        if not training:
            return images
        batch = ops.shape(images)[0]
        height = ops.cast(ops.shape(images)[1], "float32")
        width = ops.cast(ops.shape(images)[2], "float32")
        scale = keras.random.uniform((batch, 1), self.min_scale, 1.0, seed=self._rng)
        off_x = keras.random.uniform((batch, 1), 0.0, 1.0, seed=self._rng) * (1.0 - scale) * width
        off_y = keras.random.uniform((batch, 1), 0.0, 1.0, seed=self._rng) * (1.0 - scale) * height
        zeros = ops.zeros_like(scale)
        # Output pixel (x, y) samples input (scale*x + off_x, scale*y + off_y).
        transform = ops.concatenate([scale, zeros, off_x, zeros, scale, off_y, zeros, zeros], axis=1)
        return ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="reflect")

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, object]:
        return {**super().get_config(), "min_scale": self.min_scale, "seed": self.seed}


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
            RandomResizedCrop(min_scale=0.85, seed=seed + 1),
            layers.RandomRotation(0.03, fill_mode="reflect", seed=seed + 2),  # +-11 degrees
            layers.RandomTranslation(0.05, 0.05, fill_mode="reflect", seed=seed + 3),
            layers.RandomZoom((-0.08, 0.08), fill_mode="reflect", seed=seed + 4),
            layers.RandomBrightness(0.15, value_range=(0.0, 255.0), seed=seed + 5),
            layers.RandomContrast(0.2, value_range=(0.0, 255.0), seed=seed + 6),
            layers.RandomGrayscale(0.05, seed=seed + 7),
            CameraTexture(seed=seed + 8),
        ],
        name="augment",
    )
