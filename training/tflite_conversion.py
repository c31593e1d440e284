"""Export the trained network: a TF Serving SavedModel and TFLite float32 / full-integer int8.

Conversion functions return ``bytes``; ``export_all`` writes files, each ``.tflite`` with
its contract beside it, checks both TFLite variants against the Keras model through the
Lambda's own inference code (``agegender.classifier``), and picks the one to ship.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from agegender.classifier import AgeGenderClassifier
from agegender.contract import AGE_OUTPUT, GENDER_OUTPUT, INPUT_NAME, ModelContract, contract_path
from training.parity import ParityReport, keras_predict, parity

log = logging.getLogger(__name__)

QUANTIZATIONS = ("float32", "int8")


def save_serving_model(model: keras.Model, export_dir: Path) -> None:
    """Write a SavedModel whose ``serving_default`` signature maps the contract's input to its two outputs."""
    import tensorflow as tf

    size = model.input_shape[1]
    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(image):
        outputs = model(image, training=False)
        return {GENDER_OUTPUT: outputs[GENDER_OUTPUT], AGE_OUTPUT: outputs[AGE_OUTPUT]}

    archive.add_endpoint(
        name="serving_default",
        fn=serve,
        input_signature=[tf.TensorSpec((None, size, size, 3), tf.float32, name=INPUT_NAME)],
    )
    archive.write_out(str(export_dir), verbose=False)


def convert_to_tflite(saved_model_dir: Path, quantization: str, representative: np.ndarray | None = None) -> bytes:
    """Convert the SavedModel to TFLite.

    ``int8`` is full-integer quantisation (every op int8, uint8 pixel input, float outputs)
    calibrated on ``representative`` inputs (``(N, S, S, 3)`` uint8 training images).
    """
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unsupported quantization {quantization!r}; choose one of {QUANTIZATIONS}")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=["serving_default"])
    if quantization == "int8":
        if representative is None or len(representative) == 0:
            raise ValueError("int8 quantization needs representative images")

        def samples() -> Iterator[dict[str, np.ndarray]]:
            for image in representative:
                yield {INPUT_NAME: image[None].astype(np.float32)}

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.float32
    return converter.convert()


@dataclass(frozen=True)
class ExportResult:
    """Paths written by ``export_all`` and the parity of each variant."""

    saved_model_dir: Path
    tflite: dict[str, Path]
    parity: dict[str, ParityReport]
    shipped: str


def export_all(
    model: keras.Model,
    *,
    model_dir: Path,
    name: str,
    version: str,
    architecture: str,
    representative: np.ndarray,
    check_inputs: np.ndarray,
    check_ages: np.ndarray,
    flip_average: bool = False,
    mirror_resolution: float = 1.0,
    crop_scale: float = 1.0,
    contract_extra: dict[str, object] | None = None,
) -> ExportResult:
    """Write ``model_dir/1`` (SavedModel) and ``model_dir/<name>_<q>.tflite`` + contracts; check parity.

    The int8 model is shipped unless it fails parity, then the float32 one. With ``flip_average``
    the contracts say so, and parity compares like with like (both sides average the two views).
    ``contract_extra`` (e.g. the folded gender temperature) is recorded in each contract's ``extra``.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    saved = model_dir / "1"
    save_serving_model(model, saved)
    reference = keras_predict(model, check_inputs, flip_average=flip_average, mirror_resolution=mirror_resolution)
    size = int(model.input_shape[1])
    paths: dict[str, Path] = {}
    reports: dict[str, ParityReport] = {}
    for quantization in QUANTIZATIONS:
        blob = convert_to_tflite(saved, quantization, representative if quantization == "int8" else None)
        path = model_dir / f"{name}_{quantization}.tflite"
        path.write_bytes(blob)
        contract = ModelContract(
            name=name,
            version=version,
            architecture=architecture,
            input_size=size,
            quantization=quantization,
            flip_average=flip_average,
            mirror_resolution=mirror_resolution,
            crop_scale=crop_scale,
            extra={**(contract_extra or {}), "sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)},
        )
        contract_path(path).write_text(contract.to_json())
        classifier = AgeGenderClassifier(path, num_threads=2, max_batch=64)
        reports[quantization] = parity(quantization, reference, classifier.predict_inputs(check_inputs), check_ages)
        paths[quantization] = path
        log.info("%s: %d bytes, parity %s", path.name, len(blob), asdict(reports[quantization]))
    shipped = "int8" if reports["int8"].passed else "float32"
    (model_dir / "parity.json").write_text(
        json.dumps(
            {"shipped": shipped, "flip_average": flip_average, "reports": {q: asdict(r) for q, r in reports.items()}},
            indent=2,
        )
        + "\n"
    )
    return ExportResult(saved, paths, reports, shipped)
