"""Export: one test per quantisation mode, the parity rule, and bad options."""

import numpy as np
import pytest

from agegender.classifier import BatchPrediction
from training import parity, tflite_conversion
from training.model import build_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    model = build_model("resnet_small", 32, width=0.25)
    path = tmp_path_factory.mktemp("export") / "1"
    tflite_conversion.save_serving_model(model, path)
    return path


@pytest.fixture(scope="module")
def calibration():
    return np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)


def _details(blob):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=blob)
    runner = interpreter.get_signature_runner("serving_default")
    return interpreter, runner.get_input_details(), runner.get_output_details()


def test_saved_model_has_a_versioned_serving_signature(saved_model):
    assert (saved_model / "saved_model.pb").exists()
    assert saved_model.name == "1"


def test_float32_export(saved_model):
    _, inputs, outputs = _details(tflite_conversion.convert_to_tflite(saved_model, "float32"))
    assert set(inputs) == {"image"}
    assert inputs["image"]["dtype"] == np.float32
    assert set(outputs) == {"gender", "age_probs"}
    assert outputs["age_probs"]["shape"].tolist()[-1] == 101


def test_int8_export_is_full_integer(saved_model, calibration):
    blob = tflite_conversion.convert_to_tflite(saved_model, "int8", calibration)
    interpreter, inputs, outputs = _details(blob)
    assert inputs["image"]["dtype"] == np.uint8
    assert all(o["dtype"] == np.float32 for o in outputs.values())
    weights = [t for t in interpreter.get_tensor_details() if "conv" in t["name"].lower() and len(t["shape"]) == 4]
    assert weights, "expected convolution weights"
    assert {t["dtype"] for t in weights} <= {np.int8, np.uint8}


def test_bad_options_raise(saved_model):
    with pytest.raises(ValueError, match="unsupported quantization"):
        tflite_conversion.convert_to_tflite(saved_model, "float16")
    with pytest.raises(ValueError, match="representative"):
        tflite_conversion.convert_to_tflite(saved_model, "int8", None)


def test_parity_rule():
    truth = np.array([20, 30, 40, 50])
    reference = BatchPrediction(np.array([0.1, 0.9, 0.6, 0.2]), np.array([21.0, 31.0, 38.0, 55.0]), np.ones(4))
    close = BatchPrediction(np.array([0.12, 0.88, 0.58, 0.25]), np.array([21.1, 30.9, 38.2, 55.1]), np.ones(4))
    flipped = BatchPrediction(np.array([0.1, 0.9, 0.4, 0.2]), np.array([21.0, 31.0, 38.0, 55.0]), np.ones(4))
    drifted = BatchPrediction(np.array([0.1, 0.9, 0.6, 0.2]), np.array([22.0, 32.0, 37.0, 56.0]), np.ones(4))
    report = parity.parity("int8", reference, close, truth)
    assert report.passed
    assert report.gender_agreement == 1.0
    assert report.mae_keras == pytest.approx(2.25)
    assert report.mae_delta == pytest.approx(0.025)  # MAE 2.25 -> 2.225
    assert not parity.parity("int8", reference, flipped, truth).passed  # 75% agreement
    assert not parity.parity("int8", reference, drifted, truth).passed  # MAE 2.25 -> 3.25
