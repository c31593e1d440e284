"""A thin TFLite runtime wrapper: LiteRT first, ``tflite_runtime`` as the fallback.

Inputs and outputs are addressed by signature name, never by tensor position (the
converter may reorder outputs). Quantised tensors are (de)quantised here, so callers
always pass and receive real values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agegender.exceptions import ModelContractError, RuntimeUnavailableError


def import_interpreter() -> tuple[type, str]:
    """The ``Interpreter`` class and the name of the package that provided it."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite-runtime"
    except ImportError as exc:
        raise RuntimeUnavailableError("no TFLite runtime: install ai-edge-litert (or tflite-runtime)") from exc


def _quantize(values: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    dtype = detail["dtype"]
    if not np.issubdtype(dtype, np.integer):
        return values.astype(dtype, copy=False)
    scale, zero_point = detail["quantization"]
    if scale == 0:  # an integer tensor that is not quantised
        return values.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    quantized = np.rint(values.astype(np.float32) / scale + zero_point)
    return np.clip(quantized, info.min, info.max).astype(dtype)


def _dequantize(values: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if not np.issubdtype(values.dtype, np.integer):
        return values.astype(np.float32, copy=False)
    scale, zero_point = detail["quantization"]
    if scale == 0:
        return values.astype(np.float32)
    return (values.astype(np.float32) - zero_point) * scale


class TFLiteModel:
    """A TFLite model called with and returning real-valued numpy arrays by its signature's names."""

    def __init__(
        self,
        model_path: Path | str,
        *,
        num_threads: int | None = None,
        signature: str = "serving_default",
    ) -> None:
        interpreter_cls, self.runtime_name = import_interpreter()
        threads = num_threads or 1
        self.interpreter = interpreter_cls(model_path=str(model_path), num_threads=threads)
        self.num_threads = threads
        signatures = self.interpreter.get_signature_list()
        if signature not in signatures:
            raise ModelContractError(f"{model_path}: no signature {signature!r} (has {sorted(signatures)})")
        self._runner = self.interpreter.get_signature_runner(signature)
        self.input_details = self._runner.get_input_details()
        self.output_details = self._runner.get_output_details()

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self.input_details)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(self.output_details)

    def __call__(self, **inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Run the model on real-valued inputs; returns real-valued outputs by name."""
        feeds = {
            name: _quantize(np.ascontiguousarray(value), self.input_details[name]) for name, value in inputs.items()
        }
        raw = self._runner(**feeds)
        return {name: _dequantize(value, self.output_details[name]) for name, value in raw.items()}
