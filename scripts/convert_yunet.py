"""Build step: convert the YuNet-n face detector (ONNX) into fixed-shape float32 TFLite files for LiteRT.

    python scripts/convert_yunet.py [--onnx ../shared/models/yunet/yunet_n_dynamic.onnx]

Needs the ``convert`` extra (onnx, onnxruntime) and TensorFlow (``train`` extra); the converted
files are committed under ``models/detector/`` with ``yunet_n.provenance.json``, so users and the
Lambda never run this. What it does, for each input shape the analyzer uses
(``agegender.detector.YUNET_N.shapes``):

1. Checks the ONNX file's sha256 against the one the runtime expects.
2. Rebuilds the ONNX graph as a TensorFlow function in NHWC layout, node by node (the graph
   uses only Conv, Relu, MaxPool, Resize, Add, Sigmoid and the heads' Transpose/Reshape; the
   heads' shape arithmetic is evaluated here, as the shape is fixed). The first convolution's
   input channels are reversed, so the TFLite model takes RGB where the ONNX model takes BGR.
3. Converts it with ``tf.lite.TFLiteConverter`` (float32, builtin ops only).
4. Checks parity: LiteRT on the TFLite file against onnxruntime on the ONNX file, on random
   images and a synthetic face-like image, every output within ``--tolerance``.
5. Writes ``yunet_n_<W>x<H>.tflite`` and records its sha256 in the provenance file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agegender.assets import DETECTOR_DIR
from agegender.detector import INPUT_NAME, YUNET_N, DetectorSpec
from agegender.runtime import TFLiteModel
from layers import REPO_ROOT

DEFAULT_ONNX = REPO_ROOT.parent / "shared" / "models" / "yunet" / "yunet_n_dynamic.onnx"
ONNX_SHA256 = "104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12"
PROVENANCE = {
    "model": "YuNet-n (libfacedetection.train), face detector with 5 keypoints",
    "source": "github.com/ShiqiYu/libfacedetection.train, onnx/yunet_n_dynamic.onnx "
    "(snapshot 0047ac24afb1a50a0c6105001c89d1b5b805dbf1, file last changed in "
    "02246e79b1e976c83d1e135a85e0628120c93769)",
    "licence": "Apache-2.0 (the model); trained on WIDER FACE, whose terms are non-commercial (CC BY-NC-ND 4.0)",
    "onnx_sha256": ONNX_SHA256,
    "input": "NHWC float32 RGB 0..255 (the ONNX model's BGR order folded into the first convolution)",
    "outputs": "cls_S, obj_S (N, HW/S^2, 1) sigmoid; bbox_S (.., 4); kps_S (.., 10); S in 8, 16, 32",
}


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


class GraphBuilder:
    """Evaluates the ONNX graph's nodes with TensorFlow ops, in NHWC, for one fixed input shape."""

    def __init__(self, model: Any, tf: Any) -> None:
        from onnx import helper, numpy_helper

        self.tf = tf
        self.nodes = list(model.graph.node)
        self.weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.attributes = [{a.name: helper.get_attribute_value(a) for a in n.attribute} for n in self.nodes]
        self.outputs = [o.name for o in model.graph.output]
        self.input_name = model.graph.input[0].name
        self.first_conv = next(n.output[0] for n in self.nodes if n.op_type == "Conv")

    def __call__(self, image: Any) -> dict[str, Any]:
        """``image`` (1, H, W, 3) RGB -> the model's named outputs."""
        values: dict[str, Any] = {self.input_name: image}
        shapes: dict[str, tuple[int, ...]] = {}  # ONNX (NCHW) shapes of 4-D tensors, for the heads' Shape nodes
        for node, attrs in zip(self.nodes, self.attributes, strict=True):
            handler: Callable[..., Any] = getattr(self, f"_{node.op_type.lower()}")
            result = handler(node, attrs, values, shapes)
            values[node.output[0]] = result
            if hasattr(result, "shape") and len(result.shape) == 4 and not isinstance(result, np.ndarray):
                n, h, w, c = (int(d) for d in result.shape)
                shapes[node.output[0]] = (n, c, h, w)
        return {name: values[name] for name in self.outputs}

    def _conv(self, node: Any, attrs: dict[str, Any], values: dict[str, Any], _: Any) -> Any:
        tf = self.tf
        x, weight = values[node.input[0]], self.weights[node.input[1]].astype(np.float32)
        if node.output[0] == self.first_conv:
            weight = weight[:, ::-1]  # RGB input where the ONNX model takes BGR
        bias = self.weights[node.input[2]] if len(node.input) > 2 else None
        stride = attrs.get("strides", [1, 1])
        top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])  # ONNX: begins (H, W), then ends (H, W)
        if any((top, left, bottom, right)):
            x = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
        group = attrs.get("group", 1)
        channels_in = int(x.shape[-1])
        if group == 1:
            kernel = np.ascontiguousarray(weight.transpose(2, 3, 1, 0))  # OIHW -> HWIO
            y = tf.nn.conv2d(x, kernel, strides=[1, *stride, 1], padding="VALID")
        elif group == channels_in == weight.shape[0]:
            kernel = np.ascontiguousarray(weight.transpose(2, 3, 0, 1))  # (C, 1, kh, kw) -> (kh, kw, C, 1)
            y = tf.nn.depthwise_conv2d(x, kernel, strides=[1, *stride, 1], padding="VALID")
        else:
            raise NotImplementedError(f"grouped convolution {node.name}: group {group}, {channels_in} channels")
        return y if bias is None else y + bias.astype(np.float32)

    def _relu(self, node: Any, _: Any, values: dict[str, Any], __: Any) -> Any:
        return self.tf.nn.relu(values[node.input[0]])

    def _sigmoid(self, node: Any, _: Any, values: dict[str, Any], __: Any) -> Any:
        return self.tf.math.sigmoid(values[node.input[0]])

    def _add(self, node: Any, _: Any, values: dict[str, Any], __: Any) -> Any:
        return values[node.input[0]] + values[node.input[1]]

    def _maxpool(self, node: Any, attrs: dict[str, Any], values: dict[str, Any], _: Any) -> Any:
        if any(attrs.get("pads", [0])) or attrs.get("ceil_mode", 0):
            raise NotImplementedError(f"max pool {node.name} with padding or ceil mode")
        kernel, stride = attrs["kernel_shape"], attrs["strides"]
        return self.tf.nn.max_pool2d(values[node.input[0]], kernel, [1, *stride, 1], padding="VALID")

    def _resize(self, node: Any, attrs: dict[str, Any], values: dict[str, Any], _: Any) -> Any:
        if attrs.get("mode", b"nearest") not in (b"nearest", "nearest"):
            raise NotImplementedError(f"resize {node.name} mode {attrs.get('mode')}")
        scales = self.weights[node.input[2]]
        if tuple(scales[:2]) != (1, 1) or scales[2] != scales[3] or scales[2] != int(scales[2]):
            raise NotImplementedError(f"resize {node.name} scales {scales}")
        x = values[node.input[0]]
        size = [int(x.shape[1]) * int(scales[2]), int(x.shape[2]) * int(scales[3])]
        # Integer up-scaling, nearest, "asymmetric" + floor: every output pixel copies input pixel (i // s, j // s).
        return self.tf.compat.v1.image.resize_nearest_neighbor(x, size, align_corners=False, half_pixel_centers=False)

    def _transpose(self, node: Any, attrs: dict[str, Any], values: dict[str, Any], _: Any) -> Any:
        if list(attrs["perm"]) != [0, 2, 3, 1]:
            raise NotImplementedError(f"transpose {node.name} perm {attrs['perm']}")
        return values[node.input[0]]  # NCHW -> NHWC is the layout the tensors already have here

    def _shape(self, node: Any, _: Any, __: Any, shapes: dict[str, tuple[int, ...]]) -> np.ndarray:
        return np.array(shapes[node.input[0]], dtype=np.int64)

    def _gather(self, node: Any, attrs: dict[str, Any], values: dict[str, Any], _: Any) -> np.ndarray:
        data, index = self._constant(node.input[0], values), self._constant(node.input[1], values)
        return np.asarray(np.take(data, index, axis=attrs.get("axis", 0)))

    def _unsqueeze(self, node: Any, attrs: dict[str, Any], values: dict[str, Any], _: Any) -> np.ndarray:
        return np.expand_dims(self._constant(node.input[0], values), tuple(attrs["axes"]))

    def _concat(self, node: Any, attrs: dict[str, Any], values: dict[str, Any], _: Any) -> np.ndarray:
        parts = [self._constant(name, values) for name in node.input]
        return np.concatenate(parts, axis=attrs["axis"])

    def _reshape(self, node: Any, _: Any, values: dict[str, Any], __: Any) -> Any:
        shape = [int(d) for d in self._constant(node.input[1], values)]
        return self.tf.reshape(values[node.input[0]], shape)

    def _constant(self, name: str, values: dict[str, Any]) -> np.ndarray:
        if name in self.weights:
            return self.weights[name]
        value = values[name]
        if not isinstance(value, np.ndarray):
            raise NotImplementedError(f"{name} is not a constant of the fixed-shape graph")
        return value


def convert(onnx_model: Any, width: int, height: int) -> bytes:
    """The fixed-shape TFLite flatbuffer for (1, height, width, 3) RGB inputs, outputs named as in the ONNX model.

    Goes through a SavedModel so the TFLite file carries a ``serving_default`` signature.
    """
    import tensorflow as tf

    builder = GraphBuilder(onnx_model, tf)
    module = tf.Module()
    spec = tf.TensorSpec((1, height, width, 3), tf.float32, name=INPUT_NAME)
    module.serve = tf.function(builder, input_signature=[spec], autograph=False)
    with tempfile.TemporaryDirectory() as tmp:
        tf.saved_model.save(module, tmp, signatures={"serving_default": module.serve})
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serving_default"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return bytes(converter.convert())


def parity_images(width: int, height: int) -> list[np.ndarray]:
    """Random noise, a smooth random field and a bright oval on grey: (H, W, 3) float32 RGB 0..255."""
    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 255, (height, width, 3))
    smooth = np.cumsum(np.cumsum(rng.normal(0, 1, (height, width, 3)), 0), 1)
    smooth = (smooth - smooth.min()) / (np.ptp(smooth) or 1.0) * 255
    yy, xx = np.mgrid[:height, :width]
    oval = ((yy - height / 2) / (height / 4)) ** 2 + ((xx - width / 2) / (height / 5)) ** 2 < 1
    face = np.full((height, width, 3), 110.0)
    face[oval] = (220, 170, 140)
    return [image.astype(np.float32) for image in (noise, smooth, face)]


def max_difference(tflite_path: Path, onnx_path: Path, width: int, height: int) -> float:
    """Largest absolute output difference between LiteRT (RGB NHWC) and onnxruntime (BGR NCHW), by output name."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    model = TFLiteModel(tflite_path, signature="serving_default")
    if sorted(model.output_names) != sorted(names):
        raise ValueError(f"TFLite outputs {sorted(model.output_names)} != ONNX outputs {sorted(names)}")
    worst = 0.0
    for rgb in parity_images(width, height):
        expected = session.run(None, {session.get_inputs()[0].name: rgb[None, :, :, ::-1].transpose(0, 3, 1, 2).copy()})
        got = model(**{INPUT_NAME: rgb[None]})
        for name, value in zip(names, expected, strict=True):
            worst = max(worst, float(np.max(np.abs(got[name] - value))))
    return worst


def main(argv: list[str] | None = None) -> int:
    """Convert, check parity, write the files and their provenance."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx", type=Path, default=DEFAULT_ONNX)
    parser.add_argument("--out", type=Path, default=DETECTOR_DIR)
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest output difference allowed")
    args = parser.parse_args(argv)
    import onnx
    import onnxruntime
    import tensorflow as tf

    data = args.onnx.read_bytes()
    if sha256(data) != ONNX_SHA256:
        print(f"{args.onnx}: sha256 {sha256(data)} != {ONNX_SHA256}", file=sys.stderr)
        return 1
    model = onnx.load_from_string(data)
    spec: DetectorSpec = YUNET_N
    args.out.mkdir(parents=True, exist_ok=True)
    files = {}
    for width, height in spec.shapes:
        blob = convert(model, width, height)
        path = args.out / spec.filename(width, height)
        path.write_bytes(blob)
        difference = max_difference(path, args.onnx, width, height)
        print(f"{path.name}: {len(blob)} bytes, largest difference from onnxruntime {difference:.2e}")
        if difference > args.tolerance:
            print(f"parity failed for {path.name}: {difference} > {args.tolerance}", file=sys.stderr)
            return 1
        files[path.name] = {"sha256": sha256(blob), "bytes": len(blob), "max_abs_difference": difference}
    provenance = {
        **PROVENANCE,
        "converter": {
            "script": "scripts/convert_yunet.py",
            "tensorflow": tf.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "files": files,
    }
    (args.out / "yunet_n.provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
