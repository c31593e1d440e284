"""The audience functions' package and start: their own folder against the inference layer they used to share.

    python -m bench.audience_package [--repeats 7] [--json bench/results/audience_package.json]

Builds the audience functions' folder (``layers.build.stage_audience_function``) and, for comparison,
the shape they deployed in before: the inference function's folder with the audience handler and
package added, plus the inference layer. For each: unzipped bytes, and the median time a fresh Python
(``-S``: no site-packages, as Lambda) takes to import ``audience_handler``, with the Lambda runtime's
boto3 beside it. Lambda's own cold start adds downloading and unpacking the package, not measured here.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from bench import REPO_ROOT, add_json_option, report
from infra.config import PipelineConfig
from layers.build import build_layer, stage_audience_function, stage_function

IMPORT = "import time; t = time.perf_counter(); import audience_handler; print((time.perf_counter() - t) * 1000)"
#: The deployed function's environment (no decisions topic), as the stack sets it.
ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "PYTHONDONTWRITEBYTECODE": "1",
    **PipelineConfig().audience_environment(table="state", results_bucket="results", decisions_topic_arn=""),
}


def folder_bytes(*folders: Path) -> int:
    """Bytes of every file under the folders."""
    return sum(p.stat().st_size for folder in folders for p in folder.rglob("*") if p.is_file())


def import_ms(paths: list[Path], repeats: int) -> float:
    """Median milliseconds for a fresh interpreter to import the audience handler from ``paths`` only."""
    env = {**ENV, "PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(map(str, paths))}
    times = [
        float(subprocess.run([sys.executable, "-S", "-c", IMPORT], env=env, capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(repeats)
    ]  # fmt: skip
    return statistics.median(times)


def run(repeats: int) -> dict[str, Any]:
    """Both shapes, sized and timed."""
    work = Path(tempfile.mkdtemp())
    runtime = work / "lambda-runtime"
    lambda_pins = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    boto3 = next(r for r in lambda_pins["lambda"] if r.startswith("boto3=="))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(runtime),
                    boto3], check=True)  # fmt: skip
    own = stage_audience_function(work / "audience").path
    shared = stage_function(work / "shared").path
    shutil.copyfile(REPO_ROOT / "lambdas" / "audience_handler.py", shared / "audience_handler.py")
    shutil.copytree(REPO_ROOT / "lambdas" / "audience", shared / "audience")
    machine = {"aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "x86_64")
    layer = build_layer(architecture=machine, python_version=f"{sys.version_info.major}.{sys.version_info.minor}")
    layer_site = layer.path / "python"
    result = {
        "repeats": repeats,
        "own_package": {"unzipped_bytes": folder_bytes(own), "import_ms": round(import_ms([own, runtime], repeats))},
        "shared_with_inference_layer": {
            "unzipped_bytes": folder_bytes(shared, layer_site),
            "import_ms": round(import_ms([shared, layer_site, runtime], repeats)),
        },
    }
    shutil.rmtree(work, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure and print (and write) the JSON report."""
    parser = argparse.ArgumentParser(prog="python -m bench.audience_package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    add_json_option(parser, "audience_package")
    args = parser.parse_args(argv)
    return report(run(args.repeats), "audience_package", argv, args.json)


if __name__ == "__main__":
    sys.exit(main())
