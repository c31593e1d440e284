"""Package the Lambda without Docker: a layer of pinned wheels and the function code with its models.

    python layers/build.py --architecture arm64 --python-version 3.14

The layer is ``pip install --only-binary=:all: --platform ... --target`` of the runtime pins in
``pyproject.toml`` (core dependencies and the ``lambda`` extra, minus boto3, which the Lambda
runtime provides) constrained by ``layers/constraints.txt``, then pruned of what Lambda never
loads. The inference function's folder holds ``inference_handler.py``, the ``agegender`` package and
the shipped models. The audience functions get a folder of their own and no layer: their handler,
the ``audience`` package, the few plain-Python ``agegender`` modules they read frames with, and
Powertools, so they never load numpy, LiteRT or the models. All land in ``build/``
(``Code.from_asset`` zips them); the sizes are printed and the build fails when the inference layer
plus its function exceed Lambda's 250 MB unzipped limit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from agegender.assets import CLASSIFIERS, MODELS_DIR
from agegender.contract import contract_path
from layers import BUILD_DIR, REPO_ROOT

CONSTRAINTS = Path(__file__).resolve().parent / "constraints.txt"
#: Lambda's limit on the unzipped function plus all its layers ("250 MB" = 250 MiB).
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
#: Provided by every Lambda Python runtime; bundling it would add ~25 MB.
RUNTIME_PROVIDED = {"boto3"}
#: manylinux tags the pinned wheels use (pip matches tags exactly; LiteRT ships manylinux_2_27).
MANYLINUX_TAGS = ("manylinux2014", "manylinux_2_17", "manylinux_2_27", "manylinux_2_28")
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
#: Paths (relative to the site-packages folder) Lambda never loads: LiteRT's ahead-of-time
#: compiler hooks, tools and WebGPU accelerator, executables, and every package's tests.
PRUNE_PATHS = ("bin", "ai_edge_litert/aot", "ai_edge_litert/tools", "ai_edge_litert/libLiteRtWebGpuAccelerator.so")
PRUNE_DIR_NAMES = ("__pycache__", "tests")
#: The function package: the handler, the core library and the models it loads (the detector's
#: fixed-shape files, and the stack's classifier with its contract: ``CLASSIFIER_MODELS``).
FUNCTION_MODELS = ("detector/yunet_n_*.tflite",)
#: The files of each classifier a stack can choose (``PipelineConfig.classifier``): its model and contract,
#: relative to ``models/``.
CLASSIFIER_MODELS = {
    name: tuple(str(p.relative_to(MODELS_DIR)) for p in (path, contract_path(path)))
    for name, path in CLASSIFIERS.items()
}
#: The inference function's entry point and package.
FUNCTION_HANDLERS = ("inference_handler.py",)
FUNCTION_PACKAGES = ("agegender",)
#: What the audience functions take of the runtime library: its plain-Python modules for frame messages.
AUDIENCE_RUNTIME_MODULES = ("__init__.py", "capture.py", "events.py", "exceptions.py", "frame_message.py")
#: Their dependencies the Lambda runtime lacks (pure Python): Powertools and what it needs beyond boto3.
AUDIENCE_DEPENDENCIES = ("aws-lambda-powertools", "typing-extensions")


@dataclass(frozen=True)
class LambdaPackages:
    """The folders the stack deploys: the inference layer and function, and the audience functions' code."""

    layer_dir: Path
    function_dir: Path
    audience_dir: Path


@dataclass(frozen=True)
class BuildReport:
    """Where a package was built and how large it is."""

    path: Path
    unzipped_bytes: int
    zipped_bytes: int


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The pinned requirements the Lambda needs: core dependencies plus the ``lambda`` extra, minus boto3."""
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["lambda"]]
    return [req for req in wanted if req.split("==")[0].strip().lower() not in RUNTIME_PROVIDED]


def pip_command(target: Path, *, architecture: str, python_version: str) -> list[str]:
    """The ``pip install`` that fetches wheels for the Lambda platform (never builds from source)."""
    machine = MACHINES[architecture]
    platforms = [arg for tag in MANYLINUX_TAGS for arg in ("--platform", f"{tag}_{machine}")]
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--only-binary=:all:", *platforms, "--implementation", "cp", "--python-version", python_version,
        "--no-compile", "--target", str(target), "--constraint", str(CONSTRAINTS),
        *runtime_requirements(),
    ]  # fmt: skip


def prune(site_packages: Path) -> None:
    """Delete what the function never loads (tests, caches, tools, unused accelerators)."""
    for relative in PRUNE_PATHS:
        path = site_packages / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for name in PRUNE_DIR_NAMES:
        for path in sorted(site_packages.rglob(name), reverse=True):
            if path.is_dir():
                shutil.rmtree(path)


def build_layer(*, architecture: str, python_version: str, out_dir: Path | None = None) -> BuildReport:
    """Build (or reuse, when its inputs are unchanged) the layer folder; it holds ``python/`` as Lambda expects."""
    if architecture not in MACHINES:
        raise ValueError(f"architecture must be one of {sorted(MACHINES)}, not {architecture!r}")
    out_dir = out_dir or BUILD_DIR / f"layer-{architecture}-py{python_version.replace('.', '')}"
    stamp = out_dir / ".inputs.sha256"
    command = pip_command(out_dir / "python", architecture=architecture, python_version=python_version)
    digest = hashlib.sha256(
        json.dumps([command[3:], CONSTRAINTS.read_text(), Path(__file__).read_text()]).encode()
    ).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        shutil.rmtree(out_dir, ignore_errors=True)
        (out_dir / "python").mkdir(parents=True)
        subprocess.run(command, check=True)
        prune(out_dir / "python")
        stamp.write_text(digest)
    return _report(out_dir, exclude=frozenset({stamp.name}))


def _pins(names: tuple[str, ...]) -> list[str]:
    """``name==version`` for each of ``names``, from pyproject's pins or, for transitive ones, the constraints."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["lambda"]]
    lines += [line.strip() for line in CONSTRAINTS.read_text().splitlines() if "==" in line]
    pins = {line.split("==")[0].lower(): line for line in lines}
    return [pins[name] for name in names]


def stage_audience_function(out_dir: Path | None = None) -> BuildReport:
    """The audience functions' folder: handler, ``audience``, the frame-message modules of ``agegender`` and
    Powertools (pip-installed once into ``build/audience-deps``, reused while the pins are the same).
    """
    out_dir = out_dir or BUILD_DIR / "audience-function"
    requirements = _pins(AUDIENCE_DEPENDENCIES)
    deps = BUILD_DIR / "audience-deps"
    digest = hashlib.sha256(json.dumps(requirements).encode()).hexdigest()
    stamp = deps / ".inputs.sha256"
    if not (stamp.exists() and stamp.read_text() == digest):
        shutil.rmtree(deps, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--only-binary=:all:",
             "--target", str(deps), *requirements],
            check=True,
        )  # fmt: skip
        prune(deps)
        stamp.write_text(digest)
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.copytree(deps, out_dir, ignore=shutil.ignore_patterns(stamp.name, "*.dist-info"))
    lambdas = REPO_ROOT / "lambdas"
    shutil.copyfile(lambdas / "audience_handler.py", out_dir / "audience_handler.py")
    shutil.copytree(lambdas / "audience", out_dir / "audience", ignore=shutil.ignore_patterns("__pycache__"))
    (out_dir / "agegender").mkdir()
    for module in AUDIENCE_RUNTIME_MODULES:
        shutil.copyfile(lambdas / "agegender" / module, out_dir / "agegender" / module)
    return _report(out_dir)


def build_packages(architecture: str, python_version: str, classifier: str = "small") -> LambdaPackages:
    """Every package the stack deploys, built (or reused) and size-checked."""
    layer = build_layer(architecture=architecture, python_version=python_version)
    function = stage_function(classifier=classifier)
    check_size(layer, function)
    return LambdaPackages(layer.path, function.path, stage_audience_function().path)


def stage_function(out_dir: Path | None = None, classifier: str = "small") -> BuildReport:
    """Copy the inference handler, the ``agegender`` package, the detector and ``classifier``'s model into one
    folder.
    """
    out_dir = out_dir or BUILD_DIR / "function"
    shutil.rmtree(out_dir, ignore_errors=True)
    (out_dir / "models").mkdir(parents=True)
    lambdas = REPO_ROOT / "lambdas"
    for handler in FUNCTION_HANDLERS:
        shutil.copyfile(lambdas / handler, out_dir / handler)
    for source in sorted(p for package in FUNCTION_PACKAGES for p in (lambdas / package).rglob("*.py")):
        target = out_dir / source.relative_to(lambdas)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    models = REPO_ROOT / "models"
    for pattern in FUNCTION_MODELS + CLASSIFIER_MODELS[classifier]:
        found = sorted(models.glob(pattern))
        if not found:
            raise FileNotFoundError(
                f"models/{pattern} is missing (the accurate option: `make install` builds it; the others are "
                "committed: check out models/)"
            )
        for source in found:
            target = out_dir / "models" / source.relative_to(models)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return _report(out_dir)


def _report(folder: Path, exclude: frozenset[str] = frozenset()) -> BuildReport:
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in exclude]
    unzipped = sum(p.stat().st_size for p in files)
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.relative_to(folder))
    zipped = archive.stat().st_size
    archive.unlink()
    return BuildReport(folder, unzipped, zipped)


def check_size(layer: BuildReport, function: BuildReport) -> None:
    """Raise when the function and its layer would not fit Lambda's unzipped limit."""
    total = layer.unzipped_bytes + function.unzipped_bytes
    if total > LAMBDA_UNZIPPED_LIMIT:
        raise SystemExit(f"layer + function = {total / 1e6:.1f} MB unzipped, over Lambda's 250 MB limit")


def main(argv: list[str] | None = None) -> int:
    """Build the layer and the function folder and print their sizes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--architecture", choices=sorted(MACHINES), default="arm64")
    parser.add_argument("--python-version", default="3.14")
    parser.add_argument("--classifier", choices=sorted(CLASSIFIER_MODELS), default="small")
    args = parser.parse_args(argv)
    layer = build_layer(architecture=args.architecture, python_version=args.python_version)
    function = stage_function(classifier=args.classifier)
    audience = stage_audience_function()
    for label, report in (("layer", layer), ("function", function), ("audience function", audience)):
        print(
            f"{label:8s} {report.path.relative_to(REPO_ROOT)}: {report.unzipped_bytes / 1e6:6.1f} MB unzipped, "
            f"{report.zipped_bytes / 1e6:6.1f} MB zipped"
        )
    check_size(layer, function)
    total = layer.unzipped_bytes + function.unzipped_bytes
    print(f"total    {total / 1e6:6.1f} MB unzipped; Lambda allows {LAMBDA_UNZIPPED_LIMIT / 1e6:.1f} (250 MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
