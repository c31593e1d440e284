"""Render ``models/MODEL_CARD.md`` from the measured files beside the shipped model.

    python -m training.model_card --models models

Reads ``agegender.contract.json``, ``training/run.json``, ``training/parity.json``,
``evaluation/metrics.json`` and, when present, ``bench/results/classifier_latency.json``.
Every figure in the card comes from those files; nothing is typed in by hand.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from agegender import labels
from agegender.contract import ModelContract, load_contract
from training.detector_crops import TRAINING_FAULTS
from training.metrics import SELECTION_METRIC
from training.options import REPO_ROOT
from training.plots import RELIABILITY_NAME

PLOTS = (
    "label_distributions",
    "training_curves",
    "gender_confusion",
    "age_error_by_group",
    "per_group",
)

INTENDED_USE = """\
## Intended use
- Aggregate audience demographics for smart displays and analytics: how many faces, in which
  age group, of which apparent gender, per camera frame or uploaded image.
- Not for decisions about individuals (access, eligibility, pricing, law enforcement, age
  verification for restricted goods), and not for identifying anyone: the pipeline keeps no
  face pixels or embeddings.

## Limits
- **Gender** is a binary, appearance-based estimate of how a face presents (UTKFace's
  male/female labels). It is not a person's gender identity and must not be reported as one.
- **Age** is an estimate of apparent age with a typical error of several years (see the
  tables); `AgeRange` is the estimate plus or minus the model's own spread and covers the
  true age only about as often as the coverage figure below says.
- Gender estimates for children are unreliable (see the age-group table: babies and young
  children are close to chance); do not use them for children.
- Accuracy differs between groups (see the per-race and per-age tables). UTKFace has few
  faces over 80 and few in the "Others" race group; figures for those slices are the least reliable.
- Trained on aligned, cropped, mostly frontal faces. Profile views, heavy occlusion,
  strong blur, very small faces and unusual lighting degrade results.
- **Licence of the weights**: trained on the sources listed under Data (UTKFace and CelebA are
  for non-commercial research only; All-Age-Faces states no licence). This model inherits those
  restrictions; retrain on suitably licensed data (any `labels.csv` manifest: `--sources`)
  before any commercial use.
"""


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def _minutes(seconds: float | None) -> str:
    return "not recorded" if seconds is None else f"{seconds / 60:.0f} min"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _slices(metrics: dict[str, dict[str, float]]) -> str:
    rows = [
        [
            name,
            str(v["count"]),
            _pct(v["gender_accuracy"]) if v["count"] else "-",
            f"{v['age_mae']:.2f}" if v["count"] else "-",
        ]
        for name, v in metrics.items()
    ]
    return _table(["group", "faces", "gender accuracy", "age MAE (years)"], rows)


def _race_by_age_lines(metrics: dict[str, Any]) -> list[str]:
    """Gender accuracy by race within each age band, with each band's gap (what the overall gap is made of)."""
    bands = metrics.get("race_gap_by_age")
    if not bands:
        return []
    races = list(next(iter(bands.values()))["by_race"])

    def cell(v: dict[str, Any]) -> str:
        return f"{_pct(v['gender_accuracy'])} ({v['count']})" if v["count"] else "-"

    rows = [
        [band, *(cell(v) for v in figures["by_race"].values()), f"{figures['gap']:.1f}"]
        for band, figures in bands.items()
    ]
    return [
        "Gender accuracy by race within each age band (faces in brackets), and the band's gap in points:",
        _table(["age", *races, "gap"], rows),
        "",
    ]


def _sources_section(dataset: dict[str, object]) -> list[str]:
    """Every data source: licence, faces, splits, how it was used."""
    sources = dataset.get("sources")
    if not isinstance(sources, dict) or not sources:
        return []
    rows = []
    for name, info in sources.items():
        use = (
            "validation only (held out)"
            if info.get("held_out")
            else ("runtime crops only" if info.get("crops_only") else "original crops and runtime crops")
        )
        rows.append(
            [
                f"`{name}`",
                str(info.get("licence")),
                str(info.get("faces")),
                str(info.get("splits")),
                str(info.get("without_age", 0)),
                f"{info.get('weight', 1.0):g}",
                use,
            ]
        )
    return [
        "## Data",
        _table(["source", "licence", "faces", "splits", "without age", "weight", "used as"], rows),
        "",
        f"Runtime crops without a detection (training and evaluation views; left out): "
        f"{dataset.get('detector_misses', {})}.",
        "",
    ]


def _by_source_section(models: Path) -> list[str]:
    """Per source, split and crop path: gender, age, calibration, stability (``evaluation/by_source.json``),
    with the predecessor's gender accuracy and age MAE in brackets where it was measured on the same set.
    """
    path = models / "evaluation" / "by_source.json"
    if not path.exists():
        return []
    report = json.loads(path.read_text())
    before = _read(models / PREDECESSOR_DIR / "by_source.json")
    version = _read(models / PREDECESSOR_DIR / "metrics.json").get("model", {}).get("version")
    rows = []
    for key, f in report.items():
        flips = f.get("gender_flip_rate", {})
        b = before.get(key)
        mae = "-" if f.get("age_mae") is None else f"{f['age_mae']:.2f}"
        rows.append(
            [
                key,
                str(f["faces"]),
                _then(_pct(f["gender_accuracy"]), _pct(b["gender_accuracy"]) if b else None),
                _then(mae, f"{b['age_mae']:.2f}" if b and b.get("age_mae") is not None else None),
                _pct(f["gender_ece"]),
                " / ".join(_pct(flips[k]) for k in ("jpeg_q75", "half_size", "blur_1px")) if flips else "-",
            ]
        )
    return [
        "## By source and crop path",
        "`aligned`: the source's own crop, prepared as the classifier's input. `detected`: the photo in a camera-"
        "like frame (80-200 px, JPEG 90), decoded, detected, aligned and cropped by the runtime, as the Lambda "
        "does (faces the detector missed are left out of that row)."
        + (f" In brackets: the predecessor, {version}, on the same faces." if before else ""),
        "",
        _table(
            [
                "source / split / path",
                "faces",
                "gender accuracy",
                "age MAE (years)",
                "gender ECE",
                "decisions changed by JPEG-75 / half size / blur",
            ],
            rows,
        ),
        "",
        *_reliability_lines(models),
    ]


def _reliability_lines(models: Path) -> list[str]:
    """The validation reliability table (``evaluation/reliability_validation.json``) and its diagram."""
    path = models / "evaluation" / f"{RELIABILITY_NAME}.json"
    if not path.exists():
        return []
    report = json.loads(path.read_text())
    rows = [
        [f"{b['from']:.2f}-{b['to']:.2f}", _pct(b["share"]), _pct(b["mean_confidence"]), _pct(b["accuracy"])]
        for b in report["bins"]
    ]
    return [
        f"### Reliability of `Gender.Confidence` ({report['faces']:,} validation faces, every source, both paths)",
        f"Expected calibration error {_pct(report['expected_calibration_error'])}; diagram: "
        f"`evaluation/{RELIABILITY_NAME}.png`.",
        "",
        _table(["confidence", "share of faces", "mean confidence", "accuracy"], rows),
        "",
    ]


def _detector_section(models: Path) -> list[str]:
    """The face detector the pipeline crops with: origin, training data, licence terms, conversion."""
    provenance_path = models / "detector" / "yunet_n.provenance.json"
    if not provenance_path.exists():
        return []
    provenance = json.loads(provenance_path.read_text())
    converter = provenance["converter"]
    worst = max(f["max_abs_difference"] for f in provenance["files"].values())
    return [
        "## Face detector",
        f"- {provenance['model']}; from {provenance['source']}.",
        f"- Licence: {provenance['licence']}. The detector's weights are Apache-2.0, but they were learnt from "
        "WIDER FACE, whose images are for non-commercial research: treat commercial use of the detector as you "
        "treat the classifier's (see Limits), and check both with counsel before deploying commercially.",
        f"- Converted by `{converter['script']}` (TensorFlow {converter['tensorflow']}, onnx {converter['onnx']}, "
        f"onnxruntime {converter['onnxruntime']}) into {len(provenance['files'])} fixed-shape float32 TFLite files "
        f"(`models/detector/`, sha256 in `yunet_n.provenance.json`); largest output difference from onnxruntime "
        f"{worst:.1e}.",
        "- Faces are aligned to the classifier's training crops by a least-squares similarity of the detector's "
        "five keypoints onto their median positions on those crops (`python -m bench.face_template`).",
        "",
    ]


def _temperature_row(contract: ModelContract, run: dict[str, Any]) -> str:
    """The folded gender temperature and what it did on the validation faces it was fitted on."""
    temperature = contract.extra.get("gender_temperature")
    fitted = run.get("gender_calibration") or {}
    if not isinstance(temperature, int | float) or "ece_before" not in fitted:
        reason = f": {fitted['skipped']}" if fitted.get("skipped") else ""
        return f"none folded in (the network's own sigmoid){reason}"
    return (
        f"temperature {temperature:.3f} folded into the gender layer, fitted on {fitted['faces']:,} "
        f"validation faces of every source and both crop paths: ECE {_pct(fitted['ece_before'])} -> "
        f"{_pct(fitted['ece_after'])}, NLL {fitted['nll_before']:.4f} -> {fitted['nll_after']:.4f}"
    )


def kept_epoch(history_csv: Path) -> str:
    """Which epoch the run kept and its score (``SELECTION_METRIC``, the best), from ``history.csv``."""
    if not history_csv.exists():
        return "not recorded"
    with history_csv.open() as handle:
        rows = [row for row in csv.DictReader(handle) if row.get(SELECTION_METRIC)]
    if not rows:
        return "the last (no per-source validation recorded)"
    best = max(rows, key=lambda row: float(row[SELECTION_METRIC]))
    last = float(rows[-1][SELECTION_METRIC])
    return (
        f"epoch {int(best['epoch']) + 1} of {len(rows)}, the best mean detect+crop validation gender accuracy over "
        f"the sources ({_pct(float(best[SELECTION_METRIC]))}; the last epoch: {_pct(last)})"
    )


def training_lines(run: dict[str, Any], hp: dict[str, Any], history_csv: Path) -> list[str]:
    """Wall time and the weights kept: one run's chosen epoch, or a weight average of several runs."""
    averaged = run.get("averaged_from") or []
    if not averaged:
        return [
            f"- Wall time: {_minutes(run.get('train_wall_seconds'))} on the machine it ran on "
            f"({hp.get('epochs')} epochs, batch {hp.get('batch_size')}).",
            f"- Weights kept: {kept_epoch(history_csv)}.",
        ]
    return [
        f"- Weights: the mean, weight by weight, of {len(averaged)} runs (`python -m training.soup`), each at the "
        "epoch it kept; the runs: " + "; ".join(f"`{member}`" for member in averaged) + ".",
        f"- Wall time: {_minutes(run.get('train_wall_seconds'))} for the {len(averaged)} runs together on the "
        f"machine they ran on ({hp.get('epochs')} epochs each, batch {hp.get('batch_size')}).",
    ]


def augmentation_summary(hp: dict[str, Any]) -> str:
    """What the run did to its training faces; with ``--augment false``, what the model it fine-tuned saw."""
    from training.augment import LAYERS_SUMMARY  # here, not at import: it loads Keras and TensorFlow

    (side_low, side_high), (jpeg_low, jpeg_high) = TRAINING_FAULTS.side, TRAINING_FAULTS.jpeg_quality
    pasted = TRAINING_FAULTS.pasted_chance
    framing = f", {pasted:.0%} of them pasted hard-edged on a cluttered frame, the rest mirror-padded" if pasted else ""
    faults = (
        f"camera faults before the runtime's detection and crop (faces of {side_low}-{side_high} px{framing}, "
        f"JPEG {jpeg_low}-{jpeg_high}, blur, noise, white balance and gamma, grey frames, keypoint jitter)"
    )
    if hp.get("augment", True):
        return f"{faults}; then {LAYERS_SUMMARY}."
    inherited = (
        f"; the model it fine-tuned (`--init_model`) was trained with {LAYERS_SUMMARY} as well"
        if hp.get("init_model")
        else ""
    )
    return f"{faults}; nothing more in this run (`--augment false`){inherited}."


#: The evaluation of the model this one replaced, kept by ``keep_predecessor`` when a new model ships.
PREDECESSOR_DIR = "evaluation/predecessor"


def keep_predecessor(ship_dir: Path, new_evaluation: Path) -> None:
    """Before a new model's evaluation replaces the shipped one, keep the shipped one's figures beside it
    (a re-evaluation of the same model version keeps the predecessor that is there).
    """
    current = _read(ship_dir / "evaluation" / "metrics.json").get("model", {}).get("version")
    if current is None or current == _read(new_evaluation / "metrics.json").get("model", {}).get("version"):
        return
    kept = ship_dir / PREDECESSOR_DIR
    kept.mkdir(parents=True, exist_ok=True)
    for name in ("metrics.json", "by_source.json"):
        if (ship_dir / "evaluation" / name).exists():
            (kept / name).write_text((ship_dir / "evaluation" / name).read_text())


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _then(figure: str, before: str | None) -> str:
    """A figure with its predecessor's in brackets, where there is one."""
    return f"{figure} ({before})" if before is not None else figure


def _model_section(model: Path, contract: ModelContract, run: dict[str, Any]) -> list[str]:
    mirror = (
        f", the mirror seen at {contract.mirror_resolution:g} of the side (`mirror_resolution`)"
        if contract.mirror_resolution < 1
        else ""
    )
    prediction = (
        f"mean of the outputs for the face and its mirror image (contract `flip_average`){mirror}"
        if contract.flip_average
        else "one view of the face"
    )
    rows = [
        ["file", f"`{model.name}` ({model.stat().st_size:,} bytes, sha256 `{contract.extra.get('sha256', '?')}`)"],
        ["architecture", f"`{contract.architecture}` ({run['parameters']:,} parameters), two heads"],
        ["input", f"{contract.input_size}x{contract.input_size} {contract.color_order}, uint8 0..255"],
        ["quantisation", contract.quantization + " (full-integer, calibrated on training faces)"],
        ["outputs", f"`{contract.gender_output}` P(female); `{contract.age_output}` over 0..{contract.max_age} years"],
        ["prediction", prediction],
        ["gender calibration", _temperature_row(contract, run)],
        ["label version", contract.label_version],
    ]
    return [
        "## Model",
        _table(["", ""], rows),
        "",
        "The age estimate is the expected value of the age distribution; `AgeRange` is that value "
        "plus or minus the distribution's standard deviation (at least 1 year each side).",
        "",
    ]


def _training_section(run: dict[str, Any], dataset: dict[str, Any], history_csv: Path) -> list[str]:
    hp = run["hyperparameters"]
    command = run.get("command") or (
        f"python -m training.train --arch {hp['arch']} --input_size {hp['input_size']} --epochs {hp['epochs']}"
        f" --batch_size {hp['batch_size']} --learning_rate {hp['learning_rate']} --seed {hp['seed']}"
    )
    return [
        "## Training",
        f"- Command: `{command}`",
        *training_lines(run, hp, history_csv),
        f"- Data: {dataset.get('faces', '?')} training faces plus {dataset.get('detector_views', 0)} runtime crops "
        "(see Data); every split is a hash of the file name, so it never changes.",
        f"- Augmentation: {augmentation_summary(hp)}",
        "- Loss: gender binary cross-entropy; age cross-entropy to a Gaussian label distribution "
        f"(sigma {hp.get('age_sigma')} years) plus {hp.get('age_l1_weight')} x L1 of the expected age.",
        "",
    ]


def _test_split_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(metric, value) of the test-split table; also used for the predecessor's column."""
    rows = [("gender accuracy", _pct(metrics["gender_accuracy"]))]
    for name, v in metrics["gender"]["per_class"].items():
        rows.append((f"{name}: precision / recall / F1", " / ".join(_pct(v[k]) for k in ("precision", "recall", "f1"))))
    rows += [
        ("age MAE", f"{metrics['age_mae']:.2f} years"),
        ("age median absolute error", f"{metrics['age_median_abs_error']:.2f} years"),
        ("age bias (mean predicted - true)", f"{metrics['age_bias']:+.2f} years"),
        (
            "Adience 8-group accuracy, exact / one-off",
            f"{_pct(metrics['adience_exact_accuracy'])} / {_pct(metrics['adience_one_off_accuracy'])}",
        ),
        ("AgeRange covers the true age", _pct(metrics.get("age_range_coverage", float("nan")))),
        ("gender accuracy gap between races", f"{metrics['race_gender_accuracy_gap']:.1f} points"),
    ]
    if calibration := metrics.get("gender_calibration"):
        rows.append(
            ("gender calibration error (ECE, 10 confidence bins)", _pct(calibration["expected_calibration_error"]))
        )
    if flips := metrics.get("gender_flip_rate"):
        rows.append((
            "gender decisions changed by JPEG-75 / half size / 1 px blur",
            " / ".join(_pct(flips[k]) for k in ("jpeg_q75", "half_size", "blur_1px")),
        ))  # fmt: skip
    return rows


def _test_split_section(metrics: dict[str, Any], before: dict[str, Any]) -> list[str]:
    before_rows = dict(_test_split_rows(before)) if before else {}
    version = before.get("model", {}).get("version", "")
    header = ["metric", "value"] + ([f"predecessor {version}"] if before_rows else [])
    rows = [[k, v] + ([before_rows.get(k, "-")] if before_rows else []) for k, v in _test_split_rows(metrics)]
    return [
        f"## Test-split figures ({metrics['faces']} faces, through the runtime's `AgeGenderClassifier`)",
        _table(header, rows),
        "",
        f"Gender confusion matrix (rows true, columns predicted, {' / '.join(labels.GENDERS)}): "
        f"`{metrics['gender']['confusion_matrix']}`",
        "",
        "### By race (UTKFace labels)",
        _slices(metrics["by_race"]),
        "",
        *_race_by_age_lines(metrics),
        "### By age group",
        _slices(metrics["by_age_group"]),
        "",
        "### By Adience group",
        _slices(metrics["by_adience_group"]),
        "",
    ]


def _parity_section(parity: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    views = ", both views averaged)" if parity.get("flip_average") else ", one view per face)"
    rows = [
        [q, _pct(r["gender_agreement"]), f"{r['mae_keras']:.3f}", f"{r['mae_tflite']:.3f}", f"{r['mae_delta']:.3f}",
         "yes" if r["passed"] else "no"]
        for q, r in parity["reports"].items()
    ]  # fmt: skip
    out = [
        "## TFLite parity with the Keras model (test split" + views,
        _table(["variant", "gender decisions agree", "MAE Keras", "MAE TFLite", "MAE difference", "passes"], rows),
        "",
        f"Shipped: **{parity['shipped']}** (int8 ships unless gender decisions agree on fewer than 99.5% "
        "of faces or the MAE moves by more than 0.3 years).",
        "",
    ]
    if r := metrics.get("parity_vs_reference"):
        out += [
            f"At evaluation, as the runtime predicts (`make evaluate`), against `{r['reference']}` on the same "
            f"faces: gender decisions agree on {_pct(r['gender_agreement'])}, MAE {r['mae_tflite']:.3f} vs "
            f"{r['mae_keras']:.3f} years (difference {r['mae_delta']:.3f}).",
            "",
        ]
    return out


def _latency_section(latency_json: Path | None) -> list[str]:
    if latency_json is None or not latency_json.exists():
        return []
    bench = json.loads(latency_json.read_text())
    rows = [
        [r["runtime"], r["model"], str(r["batch"]), f"{r['median_ms']:.3f}", f"{r['p95_ms']:.3f}"]
        for r in bench["results"]
    ]
    return [
        "## Latency (one CPU thread, decode and detection excluded)",
        f"`python -m bench.classifier_latency` on {bench['machine']['cpu']}, Python {bench['machine']['python']}:",
        "",
        _table(["runtime", "model", "batch", "ms per face (median)", "p95"], rows),
        "",
    ]


def render(models: Path, latency_json: Path | None) -> str:
    """The card's Markdown: each section from the measured files in ``models``."""
    model = models / "agegender.tflite"
    contract = load_contract(model)
    run = json.loads((models / "training" / "run.json").read_text())
    metrics = json.loads((models / "evaluation" / "metrics.json").read_text())
    dataset = metrics.get("dataset", {})
    return "\n".join([
        f"# Model card: {contract.name} {contract.version}",
        "",
        "Generated by `python -m training.model_card` from the measured files in this folder.",
        "",
        *_model_section(model, contract, run),
        *_training_section(run, dataset, models / "training" / "history.csv"),
        *_test_split_section(metrics, _read(models / PREDECESSOR_DIR / "metrics.json")),
        *_parity_section(json.loads((models / "training" / "parity.json").read_text()), metrics),
        *_latency_section(latency_json),
        *_sources_section(dataset),
        *_by_source_section(models),
        *_detector_section(models),
        "## Plots",
        *[f"![{name}](evaluation/{name}.png)" for name in PLOTS],
        "",
        "`python -m training.evaluate` also draws a grid of sample predictions; it shows UTKFace faces, so it",
        "stays in the run's output folder and is not shipped here.",
        "",
        INTENDED_USE,
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Render models/MODEL_CARD.md from the shipped model's files."""
    parser = argparse.ArgumentParser(prog="python -m training.model_card", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=REPO_ROOT / "models")
    parser.add_argument("--latency", type=Path, default=REPO_ROOT / "bench" / "results" / "classifier_latency.json")
    args = parser.parse_args(argv)
    (args.models / "MODEL_CARD.md").write_text(render(args.models, args.latency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
