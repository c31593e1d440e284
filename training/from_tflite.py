"""Rebuild a trained Keras network from its float32 TFLite export, to train on from where it shipped.

    python -m training.from_tflite --model models/agegender_float32.tflite --output artifacts/shipped.keras

Training keeps its Keras models under ``artifacts/`` (not committed), so the shipped weights live on only
in the exported files. The float32 TFLite file holds every weight: each convolution with its batch
normalisation folded in (kernel scaled, a bias added), in the order Keras created the layers. The
rebuilt network has the same convolutions and identity batch normalisations (mean 0, variance
``1 - epsilon``, scale 1, the folded bias as offset), so it computes what the TFLite file computes; train
it with those normalisations frozen (``freeze_batch_norm``), as their statistics are gone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import keras
import numpy as np

from agegender.contract import load_contract
from training.model import build_model

#: TFLite builtin ops that carry the weights, in graph order.
WEIGHTED_OPS = ("CONV_2D", "FULLY_CONNECTED")


def tflite_weights(path: Path) -> list[tuple[str, list[np.ndarray]]]:
    """``(op name, [weights, bias])`` of each convolution and dense layer, in graph order."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(path))
    found = []
    for op in interpreter._get_ops_details():
        if op["op_name"] in WEIGHTED_OPS:
            weights = [interpreter.get_tensor(index) for index in op["inputs"][1:3]]
            found.append((op["op_name"], weights))
    return found


def _created(layer: keras.layers.Layer) -> int:
    """Keras's per-kind name counter (``conv2d``, ``conv2d_1``, ...): the order the layers were made in."""
    suffix = layer.name.rsplit("_", 1)[-1]
    return int(suffix) if suffix.isdigit() else 0


def rebuild(path: Path, *, dropout: float = 0.3) -> keras.Model:
    """The Keras network of the contract's architecture with the TFLite file's weights, batch norms folded."""
    contract = load_contract(path)
    model = build_model(contract.architecture, contract.input_size, dropout=dropout)
    # ``model.layers`` is in graph order; the TFLite file and Keras's name counters follow creation order.
    convs = sorted((layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)), key=_created)
    norms = sorted(
        (layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)), key=_created
    )
    dense = {layer.name: layer for layer in model.layers if isinstance(layer, keras.layers.Dense)}
    exported = tflite_weights(path)
    conv_weights = [w for op, w in exported if op == "CONV_2D"]
    dense_weights = [w for op, w in exported if op == "FULLY_CONNECTED"]
    if len(conv_weights) != len(convs) or len(convs) != len(norms) or len(dense_weights) != len(dense):
        raise ValueError(
            f"{path}: {len(conv_weights)} convolutions and {len(dense_weights)} dense layers, the network has "
            f"{len(convs)} convolutions, {len(norms)} batch norms and {len(dense)} dense layers"
        )
    for conv, norm, (kernel, bias) in zip(convs, norms, conv_weights, strict=True):
        conv.set_weights([np.transpose(kernel, (1, 2, 3, 0))])  # TFLite OHWI -> Keras HWIO
        channels = len(bias)
        norm.set_weights(
            [np.ones(channels), bias, np.zeros(channels), np.full(channels, 1.0 - norm.epsilon, np.float32)]
        )
    # The heads in the graph's order: age (softmax) first, then gender.
    (age_kernel, age_bias), (gender_kernel, gender_bias) = dense_weights
    from agegender.contract import AGE_OUTPUT, GENDER_OUTPUT

    dense[AGE_OUTPUT].set_weights([age_kernel.T, age_bias])
    dense[GENDER_OUTPUT].set_weights([gender_kernel.T, gender_bias])
    return model


def freeze_batch_norm(model: keras.Model) -> keras.Model:
    """Batch normalisations fixed (inference mode while training): the rebuilt ones hold no statistics."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return model


def main(argv: list[str] | None = None) -> int:
    """Rebuild, check against the TFLite file on random faces, save."""
    parser = argparse.ArgumentParser(prog="python -m training.from_tflite", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a float32 .tflite with its contract")
    parser.add_argument("--output", type=Path, required=True, help="the .keras file to write")
    args = parser.parse_args(argv)
    from agegender.classifier import AgeGenderClassifier

    model = rebuild(args.model)
    classifier = AgeGenderClassifier(args.model, num_threads=2)
    size = classifier.input_size
    inputs = np.random.default_rng(0).integers(0, 256, (16, size, size, 3), dtype=np.uint8)
    out = classifier.model(image=inputs.astype(np.float32))
    mine = model.predict(inputs.astype(np.float32), verbose=0)
    worst = max(float(np.abs(out[k] - np.asarray(mine[k])).max()) for k in out)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.output)
    print(f"{args.output}: largest output difference from {args.model.name}: {worst:.2e}")
    return 0 if worst < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
