"""Export the trained network: a TF Serving SavedModel and TFLite float32 / full-integer int8.

Conversion functions return ``bytes``; ``export_all`` writes files, each ``.tflite`` with
its contract beside it, checks both TFLite variants against the Keras model through the
Lambda's own inference code (``agegender.classifier``), and picks the one to ship.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from agegender import labels
from agegender.classifier import AgeGenderClassifier, BatchPrediction, average_mirror_outputs, with_mirror_images
from agegender.contract import ModelContract, contract_path
from training.model import AGE_PROBS, GENDER

log = logging.getLogger(__name__)

QUANTIZATIONS = ("float32", "int8")
#: Parity bars for a TFLite variant against the Keras model on the test split.
MIN_GENDER_AGREEMENT = 0.995
MAX_MAE_DELTA = 0.3


def save_serving_model(model: keras.Model, export_dir: Path) -> None:
    """Write a SavedModel whose ``serving_default`` signature maps ``image`` to ``gender`` and ``age_probs``."""
    import tensorflow as tf

    size = model.input_shape[1]
    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(image):
        outputs = model(image, training=False)
        return {GENDER: outputs[GENDER], AGE_PROBS: outputs[AGE_PROBS]}

    archive.add_endpoint(
        name="serving_default",
        fn=serve,
        input_signature=[tf.TensorSpec((None, size, size, 3), tf.float32, name="image")],
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
                yield {"image": image[None].astype(np.float32)}

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.float32
    return converter.convert()


def keras_predict(
    model: keras.Model, inputs: np.ndarray, *, flip_average: bool = False, batch_size: int = 256
) -> BatchPrediction:
    """The Keras model's predictions, combined and decoded as the runtime does (``AgeGenderClassifier``)."""
    batch = with_mirror_images(inputs) if flip_average else inputs
    outputs = model.predict(batch.astype(np.float32), batch_size=batch_size, verbose=0)
    gender, age_probs = outputs[GENDER].reshape(-1), outputs[AGE_PROBS]
    if flip_average:
        gender, age_probs = average_mirror_outputs(gender), average_mirror_outputs(age_probs)
    mean, std = labels.age_statistics(age_probs)
    return BatchPrediction(gender.astype(np.float64), mean, std)


@dataclass(frozen=True)
class ParityReport:
    """How a TFLite variant compares with the Keras model on the same faces."""

    quantization: str
    faces: int
    gender_agreement: float
    mae_keras: float
    mae_tflite: float
    mae_delta: float
    mean_abs_age_difference: float
    passed: bool


def parity(
    quantization: str, reference: BatchPrediction, candidate: BatchPrediction, true_ages: np.ndarray
) -> ParityReport:
    """Gender decisions must agree on >= 99.5% of faces and the age MAE differ by <= 0.3 years."""
    truth = labels.clip_age(true_ages.astype(np.float64))
    agreement = float(np.mean((reference.p_female >= 0.5) == (candidate.p_female >= 0.5)))
    mae_ref = float(np.mean(np.abs(reference.age - truth)))
    mae_cand = float(np.mean(np.abs(candidate.age - truth)))
    delta = abs(mae_cand - mae_ref)
    return ParityReport(
        quantization=quantization,
        faces=len(truth),
        gender_agreement=agreement,
        mae_keras=mae_ref,
        mae_tflite=mae_cand,
        mae_delta=delta,
        mean_abs_age_difference=float(np.mean(np.abs(candidate.age - reference.age))),
        passed=agreement >= MIN_GENDER_AGREEMENT and delta <= MAX_MAE_DELTA,
    )


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
) -> ExportResult:
    """Write ``model_dir/1`` (SavedModel) and ``model_dir/<name>_<q>.tflite`` + contracts; check parity.

    The int8 model is shipped unless it fails parity, then the float32 one. With ``flip_average``
    the contracts say so, and parity compares like with like (both sides average the two views).
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    saved = model_dir / "1"
    save_serving_model(model, saved)
    reference = keras_predict(model, check_inputs, flip_average=flip_average)
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
            extra={"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)},
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


def main(argv: list[str] | None = None) -> int:
    """Export, evaluate and ship a trained ``.keras`` model (e.g. one trained on JAX with ``--export false``).

    Takes ``training.train``'s options (locations, ``--ship_dir``, ...) plus ``--keras_model``.
    """
    from training import train as training_run

    parser = training_run.build_parser()
    parser.prog = "python -m training.export"
    parser.add_argument("--keras_model", type=Path, required=True, help="model.keras written by training.train")
    args_list = sys.argv[1:] if argv is None else argv
    args, unknown = parser.parse_known_args(args_list)
    if unknown:
        parser.error(f"unknown arguments: {unknown}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import training.augment  # noqa: F401  (registers the custom layers for loading)

    model = keras.models.load_model(args.keras_model, compile=False)
    args.input_size = int(model.input_shape[1])
    args.arch = model.name.removeprefix("agegender_")
    previous = args.output_data_dir / "run.json"
    earlier = json.loads(previous.read_text()) if previous.exists() else {}
    data = training_run.load_data(args)
    training_run.export_and_report(
        model,
        data,
        args,
        train_seconds=earlier.get("train_wall_seconds"),
        command=earlier.get("command") or " ".join(["python -m training.export", *args_list]),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
