"""Age and gender classification of face crops with the shipped TFLite model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from agegender import labels
from agegender.assets import DEFAULT_MODEL_PATH
from agegender.contract import ModelContract, load_contract
from agegender.exceptions import ModelContractError
from agegender.preprocessing import mirror_views, prepare_faces
from agegender.runtime import TFLiteModel


@dataclass(frozen=True)
class FaceAttributes:
    """The classifier's reading of one face."""

    p_female: float
    age: float
    age_std: float

    @property
    def gender(self) -> tuple[str, float]:
        """``("Female" | "Male", confidence 0-100)``."""
        return labels.gender_decision(self.p_female)

    @property
    def age_range(self) -> tuple[int, int]:
        return labels.age_range(self.age, self.age_std)


@dataclass(frozen=True)
class BatchPrediction:
    """Vectorised predictions for N faces."""

    p_female: np.ndarray
    age: np.ndarray
    age_std: np.ndarray

    def __len__(self) -> int:
        return len(self.p_female)

    def faces(self) -> list[FaceAttributes]:
        return [
            FaceAttributes(float(p), float(a), float(s))
            for p, a, s in zip(self.p_female, self.age, self.age_std, strict=True)
        ]


def with_mirror_images(inputs: np.ndarray, resolution: float = 1.0) -> np.ndarray:
    """``(N, S, S, 3)`` inputs followed by their mirror views (``preprocessing.mirror_views``): ``(2N, S, S, 3)``."""
    return np.concatenate([inputs, mirror_views(inputs, resolution)])


def average_mirror_outputs(outputs: np.ndarray) -> np.ndarray:
    """Outputs for ``with_mirror_images(inputs)`` -> the per-face mean of both views (``N`` rows)."""
    half = len(outputs) // 2
    return (outputs[:half] + outputs[half:]) / 2


def decode_outputs(gender: np.ndarray, age_probs: np.ndarray, *, flip_average: bool) -> BatchPrediction:
    """The model's raw outputs for a batch -> predictions: the one decoding the runtime and export parity share.

    With ``flip_average`` the batch is ``with_mirror_images(inputs)``, and the two views' gender
    probabilities and age distributions are averaged per face.
    """
    gender = gender.reshape(-1)
    if flip_average:
        gender, age_probs = average_mirror_outputs(gender), average_mirror_outputs(age_probs)
    mean, std = labels.age_statistics(age_probs)
    return BatchPrediction(gender.astype(np.float64), mean, std)


class AgeGenderClassifier:
    """Loads a model and its contract once; classifies batches of face crops."""

    def __init__(
        self, model_path: Path | str = DEFAULT_MODEL_PATH, *, num_threads: int | None = None, max_batch: int = 16
    ) -> None:
        self.model_path = Path(model_path)
        self.contract: ModelContract = load_contract(self.model_path)
        self.model = TFLiteModel(self.model_path, num_threads=num_threads, signature=self.contract.signature)
        self.max_batch = max_batch
        self._check_model_matches_contract()

    def _check_model_matches_contract(self) -> None:
        c = self.contract
        missing = {c.gender_output, c.age_output} - set(self.model.output_names)
        if c.input_name not in self.model.input_names or missing:
            raise ModelContractError(
                f"{self.model_path}: signature has inputs {self.model.input_names} and outputs "
                f"{self.model.output_names}; the contract needs input {c.input_name!r} and {sorted(missing)}"
            )
        shape = tuple(self.model.input_details[c.input_name]["shape"][1:])
        if shape != (c.input_size, c.input_size, 3):
            raise ModelContractError(f"{self.model_path}: input shape {shape} != contract size {c.input_size}")

    @property
    def input_size(self) -> int:
        return self.contract.input_size

    def predict_inputs(self, inputs: np.ndarray) -> BatchPrediction:
        """Classify prepared inputs ``(N, size, size, 3)`` uint8 RGB, in chunks of ``max_batch``.

        With the contract's ``flip_average`` each chunk runs together with its mirror views (at the
        contract's ``mirror_resolution``) in one call, and the two views' gender probabilities and age
        distributions are averaged.
        """
        c = self.contract
        chunks = []
        for start in range(0, len(inputs), self.max_batch):
            chunk = inputs[start : start + self.max_batch]
            if c.flip_average:
                chunk = with_mirror_images(chunk, c.mirror_resolution)
            out = self.model(**{c.input_name: chunk.astype(np.float32)})
            chunks.append(decode_outputs(out[c.gender_output], out[c.age_output], flip_average=c.flip_average))
        if not chunks:
            empty = np.zeros(0, dtype=np.float64)
            return BatchPrediction(empty, empty, empty)
        fields = ("p_female", "age", "age_std")
        return BatchPrediction(*(np.concatenate([getattr(chunk, name) for chunk in chunks]) for name in fields))

    def predict_faces(self, faces: list[Image.Image]) -> list[FaceAttributes]:
        """Classify face crops framed like the training crops."""
        return self.predict_inputs(prepare_faces(faces, self.input_size)).faces()
