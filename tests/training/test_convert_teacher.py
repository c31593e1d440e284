"""The teacher's converter: a TensorFlow.js graph model rebuilt as a GraphDef that TensorFlow and TFLite run."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from layers import REPO_ROOT

tf = pytest.importorskip("tensorflow")
spec = importlib.util.spec_from_file_location("convert_teacher", REPO_ROOT / "scripts" / "convert_teacher.py")
convert_teacher = importlib.util.module_from_spec(spec)
spec.loader.exec_module(convert_teacher)


def tiny_graph_model(kernel: np.ndarray, bias: np.ndarray) -> tuple[dict, bytes]:
    """A graph model as TensorFlow.js writes one: x -> _FusedMatMul(BiasAdd, Relu), weights in a manifest."""

    def attr_type():
        return {"T": {"type": "DT_FLOAT"}}

    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
        {"name": "w", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}, "value": {"tensor": {}}}},
        {"name": "b", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}, "value": {"tensor": {}}}},
        {
            "name": "y",
            "op": "_FusedMatMul",
            "input": ["x", "w", "b"],
            "attr": {**attr_type(), "fused_ops": {"list": {"s": ["Qmlhc0FkZA==", "UmVsdQ=="]}}},  # BiasAdd, Relu
        },
    ]
    manifest = [
        {
            "paths": ["w.bin"],
            "weights": [
                {"name": "w", "shape": list(kernel.shape), "dtype": "float32"},
                {"name": "b", "shape": list(bias.shape), "dtype": "float32"},
            ],
        }
    ]
    weights = kernel.astype("<f4").tobytes() + bias.astype("<f4").tobytes()
    return {"modelTopology": {"node": nodes, "versions": {}}, "weightsManifest": manifest}, weights


def test_fused_matmuls_become_core_ops_with_the_same_result():
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(3, 2)), rng.normal(size=2)
    model, weights = tiny_graph_model(kernel, bias)
    graph = convert_teacher.graph_def(json.loads(json.dumps(model)), weights)
    assert [node.op for node in graph.node].count("_FusedMatMul") == 0
    assert {node.op for node in graph.node} >= {"MatMul", "BiasAdd", "Relu"}

    def run(x):
        return tf.compat.v1.import_graph_def(graph, input_map={"x:0": x}, return_elements=["y:0"], name="")

    x = rng.normal(size=(4, 3)).astype(np.float32)
    fn = tf.compat.v1.wrap_function(run, [tf.TensorSpec((None, 3), tf.float32)])
    np.testing.assert_allclose(fn(tf.constant(x))[0].numpy(), np.maximum(x @ kernel + bias, 0), rtol=1e-5)


def test_left_over_weight_bytes_are_refused():
    model, weights = tiny_graph_model(np.ones((3, 2)), np.ones(2))
    with pytest.raises(SystemExit, match="left over"):
        convert_teacher.graph_def(model, weights + b"\0\0\0\0")
