"""Distillation: the shipped network rebuilt from its TFLite file, and targets that blend teacher and labels."""

from __future__ import annotations

import numpy as np
import pytest

from agegender.assets import MODELS_DIR
from agegender.classifier import AgeGenderClassifier
from agegender.labels import MAX_AGE
from training.dataset import UNKNOWN, FaceDataset
from training.from_tflite import freeze_batch_norm, rebuild
from training.model import DISTILLED_AGE_COLUMNS, AgeDistributionLoss
from training.run import distillation_targets

SHIPPED_FLOAT32 = MODELS_DIR / "agegender_float32.tflite"


def test_the_rebuilt_network_computes_what_the_shipped_file_computes():
    model = freeze_batch_norm(rebuild(SHIPPED_FLOAT32, dropout=0.0))
    classifier = AgeGenderClassifier(SHIPPED_FLOAT32, num_threads=1)
    inputs = np.random.default_rng(1).integers(0, 256, (4, 72, 72, 3)).astype(np.float32)
    expected = classifier.model(image=inputs)
    mine = model(inputs, training=True)  # frozen batch norms (and no dropout): the same in training mode
    for name in ("gender", "age_probs"):
        np.testing.assert_allclose(np.asarray(mine[name]), expected[name], atol=1e-4)


def rows(ages, genders, teacher_p, teacher_age) -> FaceDataset:
    n = len(ages)
    return FaceDataset(
        images=np.zeros((n, 8, 8, 3), np.uint8),
        ages=np.array(ages),
        genders=np.array(genders),
        races=np.full(n, UNKNOWN),
        names=np.array([f"f{i}" for i in range(n)]),
        splits=np.full(n, "train"),
        sources=np.full(n, "s"),
        teacher_p_female=np.array(teacher_p, np.float32),
        teacher_age=np.array(teacher_age, np.float16),
    )


def one_hot(age: int) -> list[float]:
    return [1.0 if i == age else 0.0 for i in range(MAX_AGE + 1)]


def test_targets_blend_the_teacher_with_the_labels_only_where_it_read_the_view():
    faces = rows([30, 30, UNKNOWN], [1, 1, 0], [0.2, np.nan, 0.9], [one_hot(50), [0.0] * 101, one_hot(40)])
    targets = distillation_targets(faces, 0.5)
    np.testing.assert_allclose(targets["gender"][:, 0], [0.6, 1.0, 0.45])
    age = targets["age_probs"]
    assert age.shape == (3, DISTILLED_AGE_COLUMNS)
    np.testing.assert_allclose(age[:, 0], [30, 30, UNKNOWN])
    np.testing.assert_allclose(age[:, -1], [0.5, 0.0, 0.5])


def test_gender_can_learn_from_the_teacher_while_known_ages_keep_their_labels():
    faces = rows([30, UNKNOWN], [1, 0], [0.2, 0.9], [one_hot(50), one_hot(40)])
    targets = distillation_targets(faces, 0.8, age_weight=0.0)
    np.testing.assert_allclose(targets["gender"][:, 0], [0.36, 0.72])
    np.testing.assert_allclose(targets["age_probs"][:, -1], [0.0, 0.0])  # the unknown age still follows the teacher


def test_the_age_loss_learns_the_teacher_alone_where_the_age_is_unknown():
    loss = AgeDistributionLoss(sigma=3.0, l1_weight=0.0, reduction=None)
    faces = rows([UNKNOWN, 30], [0, 0], [0.5, np.nan], [one_hot(40), [0.0] * 101])
    y_true = distillation_targets(faces, 0.5)["age_probs"]
    right = np.array([one_hot(40), one_hot(30)], np.float32) * 0.98 + 0.02 / 101
    wrong = np.array([one_hot(60), one_hot(30)], np.float32) * 0.98 + 0.02 / 101
    at_teacher, off_teacher = np.asarray(loss(y_true, right)), np.asarray(loss(y_true, wrong))
    assert at_teacher[0] < off_teacher[0]  # the unknown-age face follows the teacher
    assert at_teacher[1] == pytest.approx(off_teacher[1])  # the labelled, untaught face: its label alone
    unlabelled_untaught = distillation_targets(rows([UNKNOWN], [0], [np.nan], [[0.0] * 101]), 0.5)["age_probs"]
    assert float(np.asarray(loss(unlabelled_untaught, right[:1]))[0]) == 0.0
