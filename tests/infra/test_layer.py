"""The Lambda packages: sizes, pruning, and a handler that runs with nothing but the layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from agegender.detector import YUNET_N
from infra.config import PipelineConfig
from layers.build import LAMBDA_UNZIPPED_LIMIT, PRUNE_PATHS, RUNTIME_PROVIDED, runtime_requirements
from tests.conftest import REPO_ROOT


def test_requirements_are_the_pinned_runtime_dependencies():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements = runtime_requirements()
    assert all("==" in r for r in requirements)
    names = {r.split("==")[0] for r in requirements}
    assert names == {"numpy", "pillow", "ai-edge-litert", "aws-lambda-powertools"}
    assert not names & RUNTIME_PROVIDED
    assert set(requirements) <= set(project["dependencies"]) | set(project["optional-dependencies"]["lambda"])


def test_layer_is_pruned_and_fits_with_the_function(lambda_layer, function_package):
    site = lambda_layer.path / "python"
    assert (site / "ai_edge_litert" / "interpreter.py").exists()
    for relative in PRUNE_PATHS:
        assert not (site / relative).exists(), relative
    assert not list(site.rglob("__pycache__"))
    assert not (site / "tensorflow").exists()
    assert lambda_layer.unzipped_bytes + function_package.unzipped_bytes < LAMBDA_UNZIPPED_LIMIT
    assert lambda_layer.zipped_bytes < lambda_layer.unzipped_bytes
    print(f"layer {lambda_layer.unzipped_bytes / 1e6:.1f} MB unzipped, {lambda_layer.zipped_bytes / 1e6:.1f} MB zipped")


def test_function_package_holds_the_handler_library_and_models(function_package):
    root = function_package.path
    assert (root / "inference_handler.py").exists()
    assert (root / "agegender" / "processor.py").exists()
    assert (root / "models" / "agegender.tflite").exists()
    assert (root / "models" / "agegender.contract.json").exists()
    detectors = [path.name for path in (root / "models" / "detector").glob("*.tflite")]
    assert sorted(detectors) == sorted(YUNET_N.filename(w, h) for w, h in YUNET_N.shapes)  # all the analyzer loads
    assert not (root / "models" / "agegender_float32.tflite").exists()


def lambda_runtime(tmp_path) -> Path:
    """What Lambda's Python runtime provides beside a function: the pinned boto3, in a folder of its own."""
    runtime = tmp_path / "lambda-runtime"
    boto3_pin = next(r for r in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["lambda"] if r.startswith("boto3=="))  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(runtime), boto3_pin],
        check=True,
    )
    return runtime


PROBE = textwrap.dedent(
    """
    import io, json, sys, types
    import inference_handler as handler
    from PIL import Image
    image = Image.new("RGB", (320, 240), (120, 130, 140))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    analysis = handler.PROCESSOR.analyzer.analyze(buffer.getvalue())
    context = types.SimpleNamespace(
        function_name="f", memory_limit_in_mb=1769, aws_request_id="r",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
    )
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "in"})
    record = {"messageId": "m1", "receiptHandle": "h", "body": body, "attributes": {}, "messageAttributes": {},
              "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
              "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q"}
    response = handler.lambda_handler({"Records": [record]}, context)
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "cv2", "moto"))
    print("PROBE " + json.dumps({"faces": len(analysis.faces), "response": response, "heavy": heavy,
                                 "paths": [p for p in sys.path if "site-packages" in p]}))
    """
)


def test_handler_runs_with_only_the_layer_and_the_lambda_runtime(lambda_layer, function_package, tmp_path):
    """A bare virtual environment + the layer + boto3 (which Lambda's runtime provides) is all the handler needs."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    runtime = lambda_runtime(tmp_path)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(function_package.path), str(lambda_layer.path / "python"), str(runtime)]),
        "RESULTS_BUCKET": "results",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "AgeGender",
        "PYTHONDONTWRITEBYTECODE": "1",  # the layer folder is reused across runs: leave no host-Python bytecode in it
    }
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", PROBE], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    (line,) = [x for x in probe.stdout.splitlines() if x.startswith("PROBE ")]
    result = json.loads(line[len("PROBE ") :])
    assert result["response"] == {"batchItemFailures": []}
    assert result["faces"] == 0
    assert result["heavy"] == []
    assert all(str(venv) in p for p in result["paths"])  # no site-packages but the bare venv's own


AUDIENCE_PROBE = textwrap.dedent(
    """
    import json, sys
    import audience_handler
    from agegender.frame_message import parse_frame
    frame = parse_frame(open(sys.argv[1]).read())
    answer = audience_handler.decision({"rawPath": "/displays/a%20b", "requestContext": {"http": {"method": "GET"}}},
                                       None)
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "PIL", "ai_edge_litert", "tflite_runtime"))
    print("PROBE " + json.dumps({"camera": frame.camera, "status": answer["statusCode"], "heavy": heavy}))
    """
)


def test_the_audience_functions_run_from_their_own_small_package(audience_package, tmp_path):
    """Their folder and the Lambda runtime's boto3 are all they need: no layer, no numpy, no models."""
    root = audience_package.path
    assert (root / "audience_handler.py").exists()
    assert (root / "aws_lambda_powertools").is_dir()
    assert not (root / "models").exists()
    assert not (root / "inference_handler.py").exists()
    assert audience_package.unzipped_bytes < 20e6
    runtime = lambda_runtime(tmp_path)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(root), str(runtime)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        **PipelineConfig().audience_environment(table="state", results_bucket="results", decisions_topic_arn=""),
    }
    fixture = REPO_ROOT / "tests" / "data" / "frame_message.json"
    probe = subprocess.run(
        [sys.executable, "-S", "-c", AUDIENCE_PROBE, str(fixture)], env=env, capture_output=True, text=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-3000:]
    (line,) = [x for x in probe.stdout.splitlines() if x.startswith("PROBE ")]
    assert json.loads(line[len("PROBE ") :]) == {"camera": "lobby", "status": 404, "heavy": []}
    print(f"audience package {audience_package.unzipped_bytes / 1e6:.1f} MB unzipped")
