"""The contract file written beside every exported model and checked when it is loaded.

It records what a consumer must know to feed the model and read its outputs, so the
runtime never has to guess (the trap of exporters that leave normalisation, colour
order or label meaning implicit).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agegender import labels, preprocessing
from agegender.exceptions import ModelContractError

CONTRACT_SUFFIX = ".contract.json"
#: Tensor names of the serving signature: one input, two outputs (training builds the model with them).
INPUT_NAME = "image"
GENDER_OUTPUT = "gender"
AGE_OUTPUT = "age_probs"


@dataclass(frozen=True)
class ModelContract:
    """What the model expects and returns."""

    name: str
    version: str
    architecture: str
    input_size: int
    quantization: str  # "float32", "float16" (weights) or "int8"
    color_order: str = preprocessing.COLOR_ORDER
    input_range: tuple[int, int] = (0, 255)
    label_version: str = labels.LABEL_VERSION
    max_age: int = labels.MAX_AGE
    signature: str = "serving_default"
    input_name: str = INPUT_NAME
    gender_output: str = GENDER_OUTPUT
    age_output: str = AGE_OUTPUT
    #: Each face's outputs are the mean of the model's outputs for the face and its mirror
    #: image (test-time flip; UTKFace faces are symmetric enough that both views are valid).
    flip_average: bool = False
    #: The mirror view is seen at this fraction of the input side (``preprocessing.mirror_views``):
    #: a softer second opinion, so that a decision rests less on fine skin texture that a smaller,
    #: recompressed or blurred copy of the photo loses (1.0 = the mirror image as it is).
    mirror_resolution: float = 1.0
    #: The face crop's side relative to the small model's framing (``agegender.faces.TEMPLATE``, 2.55
    #: eye distances): a network trained on wider crops sees the same context at inference.
    crop_scale: float = 1.0
    extra: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ModelContract:
        data = json.loads(text)
        data["input_range"] = tuple(data.get("input_range", (0, 255)))
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ModelContractError(f"unknown contract fields: {sorted(unknown)}")
        return cls(**data)

    def check_runtime_compatible(self) -> None:
        """Raise unless this runtime library decodes the model's outputs the same way."""
        problems = []
        if self.label_version != labels.LABEL_VERSION:
            problems.append(f"label version {self.label_version!r} != runtime {labels.LABEL_VERSION!r}")
        if self.max_age != labels.MAX_AGE:
            problems.append(f"max_age {self.max_age} != runtime {labels.MAX_AGE}")
        if self.color_order != preprocessing.COLOR_ORDER:
            problems.append(f"colour order {self.color_order} != runtime {preprocessing.COLOR_ORDER}")
        if not 0.0 < self.mirror_resolution <= 1.0:
            problems.append(f"mirror_resolution {self.mirror_resolution} is not in (0, 1]")
        if not 0.5 <= self.crop_scale <= 3.0:
            problems.append(f"crop_scale {self.crop_scale} is not in [0.5, 3]")
        if tuple(self.input_range) != (0, 255):
            problems.append(f"input range {self.input_range} != (0, 255)")
        if problems:
            raise ModelContractError(f"model {self.name} {self.version}: " + "; ".join(problems))


def contract_path(model_path: Path) -> Path:
    """``models/agegender_int8.tflite`` -> ``models/agegender_int8.contract.json``."""
    return model_path.with_name(model_path.stem + CONTRACT_SUFFIX)


def load_contract(model_path: Path) -> ModelContract:
    """Read and check the contract that sits beside ``model_path``."""
    path = contract_path(model_path)
    try:
        contract = ModelContract.from_json(path.read_text())
    except FileNotFoundError as exc:
        raise ModelContractError(f"no model contract at {path}") from exc
    except (json.JSONDecodeError, TypeError) as exc:
        raise ModelContractError(f"unreadable model contract {path}: {exc}") from exc
    contract.check_runtime_compatible()
    return contract
