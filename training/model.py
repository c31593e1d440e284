"""The multi-task age+gender network (Keras 3, backend-agnostic) and its losses.

Input: ``(N, S, S, 3)`` RGB in 0..255 (normalisation is the first layer, so the exported
model's contract is raw pixels). Outputs, by name:

* ``gender``: ``(N, 1)`` P(female), sigmoid.
* ``age_probs``: ``(N, MAX_AGE + 1)`` softmax over whole years; the age estimate is its
  expected value (``agegender.labels.age_statistics``).

The age head is trained as label-distribution learning: cross-entropy against a Gaussian
around the true age plus an L1 term on the expected value (DLDL-v2 style), which beats
plain regression and plain classification on small networks.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import KerasTensor, layers, ops

from agegender import labels
from agegender.contract import AGE_OUTPUT, GENDER_OUTPUT, INPUT_NAME


def _conv_bn(x: KerasTensor, filters: int, kernel: int, strides: int = 1) -> KerasTensor:
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def _sep_bn(x: KerasTensor, filters: int) -> KerasTensor:
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
    return layers.BatchNormalization()(x)


def _width(multiplier: float) -> Callable[[int], int]:
    """Scale a channel count by the width multiplier (at least 8 channels)."""
    return lambda channels: max(8, round(channels * multiplier))


def mini_xception_trunk(x: KerasTensor, width: float) -> KerasTensor:
    """Stem conv, then residual blocks of two depthwise-separable convs and a strided max-pool."""
    w = _width(width)
    x = _conv_bn(x, w(32), 3, strides=2)
    x = _conv_bn(x, w(32), 3)
    for filters in (64, 128, 256):
        residual = layers.Conv2D(w(filters), 1, strides=2, padding="same", use_bias=False)(x)
        residual = layers.BatchNormalization()(residual)
        x = layers.ReLU()(_sep_bn(x, w(filters)))
        x = _sep_bn(x, w(filters))
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        x = layers.ReLU()(layers.Add()([x, residual]))
    x = layers.ReLU()(_sep_bn(x, w(384)))
    return layers.GlobalAveragePooling2D()(x)


def resnet_small_trunk(x: KerasTensor, width: float) -> KerasTensor:
    """Stem conv, then residual blocks of two dense 3x3 convs (the first strided).

    Dense convs train about twice as fast as depthwise-separable ones on CPUs (oneDNN's
    depthwise backward pass is slow), at a similar ~27M multiply-adds per 64 px face.
    """
    w = _width(width)
    x = _conv_bn(x, w(32), 3, strides=2)
    for filters in (48, 96, 192):
        residual = layers.Conv2D(w(filters), 1, strides=2, padding="same", use_bias=False)(x)
        residual = layers.BatchNormalization()(residual)
        x = _conv_bn(x, w(filters), 3, strides=2)
        x = layers.Conv2D(w(filters), 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(layers.Add()([x, residual]))
    x = _conv_bn(x, w(256), 1)
    return layers.GlobalAveragePooling2D()(x)


def plain_cnn_trunk(x: KerasTensor, width: float) -> KerasTensor:
    """The seed studies' baseline: stacked 3x3 conv + max-pool blocks and a dense layer."""
    w = _width(width)
    for filters in (32, 64, 128, 256):
        x = _conv_bn(x, w(filters), 3)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    return layers.Dense(w(256), activation="relu")(x)


ARCHITECTURES: dict[str, Callable[[KerasTensor, float], KerasTensor]] = {
    "resnet_small": resnet_small_trunk,
    "mini_xception": mini_xception_trunk,
    "plain_cnn": plain_cnn_trunk,
}


def build_model(arch: str, input_size: int, *, width: float = 1.0, dropout: float = 0.3) -> keras.Model:
    """The inference network: raw RGB pixels in, ``gender`` and ``age_probs`` out."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}")
    image = keras.Input((input_size, input_size, 3), name=INPUT_NAME)
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0)(image)
    features = layers.Dropout(dropout)(ARCHITECTURES[arch](x, width))
    gender = layers.Dense(1, activation="sigmoid", name=GENDER_OUTPUT)(features)
    age_probs = layers.Dense(labels.MAX_AGE + 1, activation="softmax", name=AGE_OUTPUT)(features)
    return keras.Model(image, {GENDER_OUTPUT: gender, AGE_OUTPUT: age_probs}, name=f"agegender_{arch}")


def at_input_size(model: keras.Model, arch: str, input_size: int, *, width: float, dropout: float) -> keras.Model:
    """``model``'s weights in a network of the same ``arch`` and ``width`` built for ``input_size`` px faces.

    The convolutional trunks end in global average pooling, so their weights fit any input size
    (a model fine-tuned at a larger size starts from what it learnt at the smaller one);
    ``plain_cnn``'s flattening layer does not, and any mismatch is an error.
    """
    if int(model.input_shape[1]) == input_size:
        return model
    resized = build_model(arch, input_size, width=width, dropout=dropout)
    source, target = model.get_weights(), resized.get_weights()
    shapes = [(a.shape, b.shape) for a, b in zip(source, target, strict=False) if a.shape != b.shape]
    if len(source) != len(target) or shapes:
        raise ValueError(
            f"{model.name} ({model.input_shape[1]} px) does not fit {arch} width {width} at {input_size} px: "
            f"{len(source)} vs {len(target)} weight arrays, first mismatches {shapes[:2]}"
        )
    resized.set_weights(source)
    return resized


def with_augmentation(model: keras.Model, augmenter: keras.Model) -> keras.Model:
    """The training wrapper: augmentation (active only when training) in front of ``model``."""
    image = keras.Input(model.input_shape[1:], name=INPUT_NAME)
    return keras.Model(image, model(augmenter(image)), name=f"{model.name}_train")


#: Columns of a distilled age target (``training.run.distillation_targets``): the age (negative: unknown),
#: the teacher's distribution over ``0..MAX_AGE`` (zeros: none) and the teacher's weight.
DISTILLED_AGE_COLUMNS = labels.MAX_AGE + 3


def _distilled(y_true: KerasTensor) -> bool:
    """The age target has the distilled columns (``DISTILLED_AGE_COLUMNS``), not the age alone."""
    return len(y_true.shape) == 2 and y_true.shape[-1] == DISTILLED_AGE_COLUMNS


def _labelled_ages(y_true: KerasTensor) -> KerasTensor:
    """Each face's own age, (N,), negative where unknown, from either form of the age target."""
    return y_true[:, 0] if _distilled(y_true) else ops.reshape(y_true, (-1,))


@keras.saving.register_keras_serializable(package="agegender")
class AgeDistributionLoss(keras.losses.Loss):
    """Cross-entropy to a Gaussian label distribution plus ``l1_weight`` x |expected age - age|.

    With distilled targets (``DISTILLED_AGE_COLUMNS`` columns) the target distribution is the teacher's
    blended with the label's Gaussian by the row's weight; a row without an age learns the teacher's alone,
    and the L1 term stays on known ages.
    """

    def __init__(self, sigma: float = 3.0, l1_weight: float = 0.1, name: str = "age_loss", **kwargs: object) -> None:
        super().__init__(name=name, **kwargs)
        self.sigma = sigma
        self.l1_weight = l1_weight

    def call(self, y_true: KerasTensor, y_pred: KerasTensor) -> KerasTensor:
        """Per-face loss; faces whose age is unknown (negative, ``training.dataset.UNKNOWN``) and that no
        teacher read add nothing.
        """
        y_true = ops.cast(y_true, "float32")
        distilled = _distilled(y_true)
        raw = ops.expand_dims(_labelled_ages(y_true), 1)
        known = ops.cast(ops.squeeze(raw, 1) >= 0.0, "float32")
        age = ops.clip(raw, 0.0, float(labels.MAX_AGE))
        bins = ops.expand_dims(ops.arange(labels.MAX_AGE + 1, dtype="float32"), 0)
        target = ops.exp(-0.5 * ops.square((bins - age) / self.sigma))
        target = target / ops.sum(target, axis=1, keepdims=True)
        weight = known
        if distilled:
            taught = y_true[:, 1:-1]
            has_teacher = ops.cast(ops.sum(taught, axis=1) > 0.5, "float32")
            share = ops.where(known > 0, y_true[:, -1], 1.0) * has_teacher  # no age: the teacher's alone
            target = ops.expand_dims(1.0 - share, 1) * target + ops.expand_dims(share, 1) * taught
            weight = ops.maximum(known, has_teacher)
        probs = ops.clip(ops.cast(y_pred, "float32"), 1e-7, 1.0)
        cross_entropy = -ops.sum(target * ops.log(probs), axis=1)
        expected = ops.sum(probs * bins, axis=1)
        return weight * cross_entropy + known * self.l1_weight * ops.abs(expected - ops.squeeze(age, 1))

    def get_config(self) -> dict[str, object]:
        return {**super().get_config(), "sigma": self.sigma, "l1_weight": self.l1_weight}


@keras.saving.register_keras_serializable(package="agegender")
def age_mae(y_true: KerasTensor, y_pred: KerasTensor) -> KerasTensor:
    """Mean absolute error of the expected age, in years (a Keras metric; faces without an age count 0)."""
    bins = ops.arange(labels.MAX_AGE + 1, dtype="float32")
    expected = ops.sum(ops.cast(y_pred, "float32") * bins, axis=-1)
    raw = _labelled_ages(ops.cast(y_true, "float32"))
    age = ops.clip(raw, 0.0, float(labels.MAX_AGE))
    return ops.cast(raw >= 0.0, "float32") * ops.abs(expected - age)


def compile_model(
    model: keras.Model,
    *,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule,
    weight_decay: float,
    sigma: float,
    l1_weight: float,
) -> None:
    """Optimizer, losses and metrics for the two heads (``learning_rate`` may be a schedule)."""
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay),
        loss={GENDER_OUTPUT: keras.losses.BinaryCrossentropy(), AGE_OUTPUT: AgeDistributionLoss(sigma, l1_weight)},
        metrics={GENDER_OUTPUT: [keras.metrics.BinaryAccuracy(name="acc")], AGE_OUTPUT: [age_mae]},
    )
