import sys
import types

import numpy as np
import pytest

from agegender import runtime
from agegender.exceptions import RuntimeUnavailableError


def test_prefers_litert():
    _, name = runtime.import_interpreter()
    assert name == "ai-edge-litert"


def test_falls_back_to_tflite_runtime(monkeypatch):
    fake_pkg = types.ModuleType("tflite_runtime")
    fake_mod = types.ModuleType("tflite_runtime.interpreter")

    class Interpreter:  # the fallback only needs the class to exist
        pass

    fake_mod.Interpreter = Interpreter
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", fake_pkg)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", fake_mod)
    cls, name = runtime.import_interpreter()
    assert cls is Interpreter
    assert name == "tflite-runtime"


def test_no_runtime_is_a_clear_error(monkeypatch):
    for module in ("ai_edge_litert", "ai_edge_litert.interpreter", "tflite_runtime", "tflite_runtime.interpreter"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(RuntimeUnavailableError, match="ai-edge-litert"):
        runtime.import_interpreter()


def test_quantize_round_trip():
    detail = {"dtype": np.int8, "quantization": (0.5, -10)}
    values = np.array([-1.0, 0.0, 3.2, 1000.0], dtype=np.float32)
    q = runtime._quantize(values, detail)
    assert q.dtype == np.int8
    assert q.tolist() == [-12, -10, -4, 127]  # 1000 saturates
    np.testing.assert_allclose(runtime._dequantize(q, detail), [-1.0, 0.0, 3.0, 68.5])


def test_float_and_unquantised_tensors_pass_through():
    values = np.array([1.5, 2.5], dtype=np.float64)
    assert runtime._quantize(values, {"dtype": np.float32, "quantization": (0.0, 0)}).dtype == np.float32
    ints = runtime._quantize(np.array([3.0]), {"dtype": np.int32, "quantization": (0.0, 0)})
    assert ints.tolist() == [3]
    pixels = np.array([0, 255], dtype=np.uint8)
    assert runtime._quantize(pixels, {"dtype": np.uint8, "quantization": (1.0, 0)}).tolist() == [0, 255]
