"""Regenerate the tables in ``docs/`` that come from code or measurements, so each figure has one source.

    python scripts/docs_tables.py          # rewrite the generated blocks in place (`make docs`)
    python scripts/docs_tables.py --check  # exit 1 naming each stale block (tests/unit/test_docs.py)

A generated block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``; NAME picks a
function below. Settings tables come from the definitions (``PipelineConfig`` and its attribute
docstrings, the functions' ``VARIABLES``), benchmark tables from ``bench/results/*.json``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from agegender.assets import REPO_ROOT
from agegender.settings import VARIABLES as FUNCTION_VARIABLES
from audience.function import VARIABLES as AUDIENCE_VARIABLES
from infra.config import PipelineConfig

DOCS = REPO_ROOT / "docs"
RESULTS = REPO_ROOT / "bench" / "results"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end: (?P=name) -->)", re.S)


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (cells' ``|`` escaped)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def bench(name: str) -> Any:
    """A committed bench result."""
    return json.loads((RESULTS / f"{name}.json").read_text())


def source(name: str) -> str:
    """Where a table's figures come from, as the line under it."""
    return f"\n\nFrom [`bench/results/{name}.json`](../bench/results/{name}.json)."


def _field_docs() -> dict[str, str]:
    """``PipelineConfig``'s attribute docstrings, by field name, read from its source."""
    module = ast.parse((REPO_ROOT / "infra" / "config.py").read_text())
    config = next(n for n in module.body if isinstance(n, ast.ClassDef) and n.name == "PipelineConfig")
    docs, previous = {}, None
    for node in config.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            previous = node.target.id
        elif previous and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            docs[previous] = " ".join(str(node.value.value).split()).replace("``", "`")
            previous = None
        else:
            previous = None
    return docs


def pipeline_settings() -> str:
    """Every ``PipelineConfig`` field with its default and meaning."""
    docs, defaults = _field_docs(), PipelineConfig()
    rows = []
    for field in dataclasses.fields(PipelineConfig):
        value = getattr(defaults, field.name)
        shown = json.dumps(dict(value) if field.name == "function_environment" else value)
        rows.append([f"`{field.name}`", "(empty)" if value == "" else f"`{shown}`", docs.get(field.name, "")])
    return table(["setting", "default", "meaning"], rows)


def _variables(variables: dict[str, tuple[str, str | None]]) -> str:
    # A default path inside the checkout is shown relative to it: the page is the same in every clone.
    variables = {n: (m, d and d.replace(f"{REPO_ROOT}/", "")) for n, (m, d) in variables.items()}
    rows = [
        [f"`{name}`", "(set by the stack)" if default is None else f"`{default}`" if default else "(empty)", meaning]
        for name, (meaning, default) in variables.items()
    ]
    return table(["variable", "default", "meaning"], rows)


def function_environment() -> str:
    """The inference function's environment (``agegender.settings.VARIABLES``)."""
    return _variables(FUNCTION_VARIABLES)


def audience_environment() -> str:
    """The audience function's environment (``audience.function.VARIABLES``)."""
    return _variables(AUDIENCE_VARIABLES)


def bench_end_to_end() -> str:
    """Decode to result JSON per frame, cold start and peak memory."""
    data = bench("end_to_end")
    frames = sorted({r["frame"] for r in data["per_image"]}, key=lambda f: int(f.split("x")[0]))
    counts = sorted({r["faces"] for r in data["per_image"]})
    cell = {(r["frame"], r["faces"]): r for r in data["per_image"]}
    rows = [[frame] + [f"{cell[frame, n]['median_ms']:.1f} ms" for n in counts] for frame in frames]
    return (
        table(["frame (median of repeats)"] + [f"{n} face{'s' * (n != 1)}" for n in counts], rows)
        + f"\n\nCold start (fresh process to first result, median): {data['cold_start_ms_median']:.0f} ms; "
        f"peak memory after a 1920x1080 frame with 10 faces: {data['peak_rss_mb']:.0f} MB." + source("end_to_end")
    )


def bench_detector_cost() -> str:
    """The detector's multiply-adds and model time per shipped input shape."""
    data = bench("detector_cost")
    rows = [
        [f"{r['width']}x{r['height']}", f"{r['multiply_adds'] / 1e6:,.0f} M", f"{r['model_ms']:.1f} ms"]
        for r in data["rows"]
    ]
    return table(["input", "multiply-adds", "model call"], rows) + source("detector_cost")


def bench_cost() -> str:
    """USD per million images against Rekognition."""
    data = bench("cost")
    archs = list(data["architectures"])
    items = list(data["architectures"][archs[0]]["items"])
    rows = [[item] + [f"{data['architectures'][a]['items'][item]:.2f}" for a in archs] for item in items]
    rows.append(["**total**"] + [f"**{data['architectures'][a]['total']:.2f}**" for a in archs])
    rekognition = 1e6 * data["prices"]["rekognition_detect_faces"]
    rows.append(["Rekognition DetectFaces"] + [f"{rekognition:,.0f}" for _ in archs])
    rows.append(["times cheaper"] + [f"{data['architectures'][a]['times_cheaper']:.0f}x" for a in archs])
    return (
        table(["USD per million images", *archs], rows)
        + f"\n\nLambda duration {data['duration_ms']:.1f} ms per image; prices: {data['prices_date']}."
        + source("cost")
    )


#: Camera rates the smart-display guide prices (frames a second).
CAMERA_RATES = (0.5, 1, 2, 5)


def camera_day_cost() -> str:
    """USD per camera-day at each frame rate, from the measured cost per image (arm64)."""
    data = bench("cost")
    per_image = {arch: v["total"] / 1e6 for arch, v in data["architectures"].items()}
    rows = [
        [f"{rate:g}", f"{86_400 * rate:,.0f}"] + [f"{86_400 * rate * usd:.2f}" for usd in per_image.values()]
        for rate in CAMERA_RATES
    ]
    return table(["frames a second", "frames a day"] + [f"USD a day, {a}" for a in per_image], rows) + source("cost")


def bench_detection() -> str:
    """Detection recall, false detections and the detect+crop gender gap, small and large faces."""
    rows = []
    for name in ("detection_recall", "detection_recall_large_faces"):
        d = bench(name)
        gap = d["gender_gap_points"]
        rows.append(
            [
                f"{d['face_sides'][0]}-{d['face_sides'][1]} px ({d['split']} split)",
                f"{d['frames']:,}",
                f"{d['faces']:,}",
                f"{100 * d['recall']:.1f}%",
                ", ".join(f"{band} {100 * v:.1f}%" for band, v in d["recall_by_size"].items()),
                str(d["false_detections"]),
                str(d["duplicates"]),
                f"{d['gender_accuracy_detect_crop']:.2%} vs {d['gender_accuracy_no_detect_same_faces']:.2%}",
                f"{gap['gap']} ({gap['low']} to {gap['high']})",
            ]
        )
    header = [
        "face sides",
        "frames",
        "faces",
        "recall",
        "recall by size band",
        "false detections",
        "reported twice",
        "gender: detect+crop vs classifier alone",
        "gap, points (95% interval)",
    ]
    return table(header, rows) + "\n\nFrom `bench/results/detection_recall*.json`."


def bench_keypoints() -> str:
    """Eye-point error by face size and detector pass."""
    rows = [
        [
            r["pass"],
            r["face_px"],
            f"{100 * r['found']:.0f}%",
            f"{r['eye_error_median']:.3f}",
            f"{r['eye_error_p90']:.3f}",
        ]
        for r in bench("keypoint_precision")
    ]
    return table(["pass", "face px", "found", "eye error median (eye distances)", "p90"], rows) + source(
        "keypoint_precision"
    )


def bench_hostile() -> str:
    """Each hostile input analysed in a fresh process."""
    rows = [
        [f"`{r['input']}`", f"{r['bytes']:,}", r["outcome"], f"{r['seconds']:.2f}", f"{r['peak_mb']:.0f}"]
        for r in bench("hostile")
    ]
    return table(["input", "bytes", "outcome", "seconds", "peak MB"], rows) + source("hostile")


def _load_rows(runs: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            r["uploads"],
            r["workers"],
            f"{r['rate']:g}/s" if r["rate"] else "burst",
            r["results"],
            r["duplicates"],
            r["missing"],
            r["left_in_dlq"],
            f"{r['images_per_second']:.1f}",
            f"{r['latency_p50_s']:.2f} / {r['latency_p95_s']:.2f}",
            " / ".join(f"{m:.0f}" for m in r["worker_peak_rss_mb"]),
        ]
        for r in runs
    ]


def bench_load() -> str:
    """Local-pipeline throughput: the soak and the scaling bursts."""
    header = [
        "uploads",
        "workers",
        "pace",
        "results",
        "duplicates",
        "lost",
        "in DLQ",
        "images/s",
        "upload to result p50 / p95 (s)",
        "worker peak RSS (MB)",
    ]
    return table(header, _load_rows(bench("load") + bench("scaling"))) + (
        "\n\nFrom `bench/results/load.json` (`make soak`) and `bench/results/scaling.json` (bursts)."
    )


def bench_display_latency() -> str:
    """Upload to decision event."""
    d = bench("display_latency")
    latency = d["latency_s"]
    rows = [
        [
            d["cameras"],
            d["seconds"],
            d["frames"],
            d["inference_workers"],
            d["decision_changes"],
            f"{latency['p50']:.2f} / {latency['p95']:.2f} / {latency['max']:.2f}",
            d["messages_left_in_queues"],
        ]
    ]
    header = [
        "cameras",
        "seconds",
        "frames",
        "inference workers",
        "decision changes",
        "p50 / p95 / max (s)",
        "messages left",
    ]
    return table(header, rows) + source("display_latency")


def bench_hostile_frames() -> str:
    """Generated hostile messages through the audience stage, and a frame's cost with many displays."""
    d = bench("hostile_frames")
    skipped = ", ".join(f"{reason} {count:,}" for reason, count in d["skipped"].items())
    cost = d["frame_cost"]
    rows = [
        ["messages sent (generated, fixed seed)", f"{d['messages']:,} in {d['seconds']:.0f} s"],
        ["frames taken in", f"{d['frames_taken_in']:,}"],
        ["skipped, by reason (each counted in a metric)", skipped],
        ["audience records written, all in their partition and strict JSON", f"{d['records']:,}"],
        ["invariant violations", str(d["violation_count"])],
    ]
    layouts = {
        "own-camera": "each on its own camera",
        "same-camera": "all on the sending camera (one camera set)",
        "same-camera-plus-own": "all on the sending camera, each with a camera of its own (1,000 camera sets)",
    }
    for layout, words in layouts.items():
        row = cost[layout]
        rows.append(
            [
                f"one frame, {cost['displays']:,} displays {words}: median / max, decisions changed a frame",
                f"{row['median_s'] * 1000:,.0f} / {row['max_s'] * 1000:,.0f} ms, {row['decision_changes_per_frame']:,}",
            ]
        )
    return table([f"`{d['command']}`", "measured"], rows) + source("hostile_frames")


def _tracking_row(name: str, f: dict[str, Any]) -> list[Any]:
    dwell = "-" if f["dwell_abs_error_s"] is None else f"{f['dwell_abs_error_s']:.2f} s"
    return [name, f["people"], f"{f['counted']} ({f['count_error_pct']:+.1f}%)", f"{f['clean_pct']:.1f}%",
            f"{f['switches_per_person']:.2f}", f"{f['idf1']:.3f}", dwell, f"{f['watchers_error_pct']:+.1f}%",
            f["replay_identical"]]  # fmt: skip


TRACKING_HEADER = ["", "people", "counted", "tracked cleanly", "switches a person", "IDF1", "dwell error (mean)",
                   "watchers", "replayed twice, shuffled: same"]  # fmt: skip


def bench_audience_package() -> str:
    """The audience functions' own package against the shape they shared with the inference layer."""
    d = bench("audience_package")
    rows = [[name, f"{v['unzipped_bytes'] / 1e6:.1f} MB", f"{v['import_ms']} ms"]
            for name, v in (("own package", d["own_package"]),
                            ("inference folder + layer (before)", d["shared_with_inference_layer"]))]  # fmt: skip
    return table(["audience functions", "unzipped", f"import of the handler (median of {d['repeats']})"], rows) + (
        source("audience_package")
    )


def bench_tracking() -> str:
    """People counting per frame rate, all behaviours together."""
    d = bench("tracking")
    rows = [_tracking_row(f"{rate} frame{'s' * (rate != '1')}/s", v["all"]) for rate, v in d["rates"].items()]
    return table(["rate", *TRACKING_HEADER[1:]], rows) + source("tracking")


def bench_tracking_behaviours() -> str:
    """People counting per behaviour at 1 frame a second."""
    d = bench("tracking")
    rate = "1" if "1" in d["rates"] else next(iter(d["rates"]))
    rows = [_tracking_row(name, v) for name, v in d["rates"][rate]["behaviours"].items()]
    return table([f"behaviour, {rate} frame/s", *TRACKING_HEADER[1:]], rows) + source("tracking")


def bench_pose() -> str:
    """Pose error on synthetic faces and mirror agreement on real ones."""
    d = bench("pose_accuracy")
    synthetic, real = d["synthetic"], d["real_mirror_check"]
    rows = [
        [
            f"synthetic, known angles ({synthetic['faces']:,} faces)",
            *(
                f"{synthetic['abs_error_degrees'][a]['median']} / {synthetic['abs_error_degrees'][a]['p90']}"
                for a in ("yaw", "pitch", "roll")
            ),
        ],
        [
            f"real faces vs their mirror images ({real['faces']} faces)",
            *(
                f"{real['mirror_disagreement_degrees'][a]['median']} / {real['mirror_disagreement_degrees'][a]['p90']}"
                for a in ("yaw", "pitch", "roll")
            ),
        ],
    ]
    return (
        table(["degrees, median / p90", "yaw", "pitch", "roll"], rows)
        + f"\n\n`Attention` agrees with the true angles for {100 * synthetic['attention_agreement']:.0f}% of "
        "synthetic faces." + source("pose_accuracy")
    )


def bench_portrait() -> str:
    """The demo portrait's answer across copies."""
    d = bench("portrait_stability")
    rows = [[name, v["gender"], f"{v['confidence']:.1f}%", f"{v['age']:.1f}"] for name, v in d["versions"].items()]
    return table([f"copy (model {d['model']['Version']})", "gender", "confidence", "age"], rows) + source(
        "portrait_stability"
    )


def bench_augmentation() -> str:
    """A training step without and with the augmentation, per backend."""
    rows = []
    for name in ("augmentation_cost", "augmentation_cost_h200"):
        d = bench(name)
        rows.append(
            [
                f"`{name}.json`",
                d["backend"],
                d["batch"],
                f"{d['results']['plain']['ms_per_step']:.1f}",
                f"{d['results']['augmented']['ms_per_step']:.1f}",
            ]
        )
    return table(["result", "backend", "batch", "ms a step, plain", "ms a step, augmented"], rows)


def bench_accurate_option() -> str:
    """Both classifiers on the same camera frames of every source's test faces."""
    d = bench("accurate_option")
    names = {"small": "small (default)", "accurate": "accurate", "candidate": "candidate"}
    rows = []
    for source_name, models in d["sources"].items():
        for model, r in models.items():
            mae = f"{r['age_mae']:.2f} y" if r["age_mae"] is not None else "-"
            gap = f"{r['adult_race_gap_points']:.1f}" if r["adult_race_gap_points"] is not None else "-"
            agree = d["agreement_with_accurate"][source_name].get(model)
            with_teacher = (
                f"{100 * agree['gender_agreement']:.1f}% / {agree['age_mean_abs_difference']:.1f} y" if agree else "-"
            )
            accuracy = f"{100 * r['gender_accuracy']:.1f}%"
            ece = f"{r['gender_ece_points']:.1f}"
            rows.append(
                [source_name, names[model], f"{r['found']}/{r['faces']}", accuracy, ece, mae, gap, with_teacher]
            )
    header = ["test faces", "classifier", "found", "gender", "gender ECE, points", "age MAE"]
    header += ["adult race gap, points", "same gender as accurate / ages apart"]
    text = table(header, rows)
    bands = list(next(iter(d["sources"].values()))["small"]["by_band"])
    band_rows = []
    for source_name, models in d["sources"].items():
        for model, r in models.items():
            if r["by_band"]:
                cells = [
                    f"{100 * r['by_band'][b]['gender_accuracy']:.0f}% / {r['by_band'][b]['age_mae']:.1f} / "
                    f"{r['by_band'][b]['gender_ece_points']:.0f}"
                    if b in r["by_band"]
                    else "-"
                    for b in bands
                ]
                band_rows.append([source_name, names[model], *cells])
    text += "\n\nBy age band (gender accuracy / age MAE in years / gender ECE in points; bands with at least 10 "
    text += "faces):\n\n"
    text += table(["test faces", "classifier", *bands], band_rows)
    model_rows = [
        [
            names[model],
            f"`{m['file']}`",
            f"{m['bytes'] / 1e6:.1f} MB",
            f"{m['ms_per_face']:.2f} ms",
            f"{m['usd_per_million_images']:.2f}",
        ]
        for model, m in d["models"].items()
    ]
    text += "\n\n" + table(
        ["classifier", "file", "size", "a face, one thread", "USD per million 1280x720 images, 3 faces (arm64)"],
        model_rows,
    )
    if parity := d.get("parity_vs_saved_model"):
        differ = round((1 - parity["gender_decision_agreement"]) * parity["crops"])
        text += (
            f"\n\nThe accurate TFLite file against the converted SavedModel on the same {parity['crops']:,} crops: "
            f"{differ} gender decisions differ, P(female) within "
            f"{parity['max_p_female_difference']:.3f}, age within {parity['max_age_difference_years']:.2f} y "
            f"(mean {parity['mean_age_difference_years']:.2f} y)."
        )
    return text + source("accurate_option")


GENERATORS: dict[str, Callable[[], str]] = {
    "bench-accurate-option": bench_accurate_option,
    "pipeline-settings": pipeline_settings,
    "function-environment": function_environment,
    "audience-environment": audience_environment,
    "bench-end-to-end": bench_end_to_end,
    "bench-detector-cost": bench_detector_cost,
    "bench-cost": bench_cost,
    "camera-day-cost": camera_day_cost,
    "bench-detection": bench_detection,
    "bench-keypoints": bench_keypoints,
    "bench-hostile": bench_hostile,
    "bench-load": bench_load,
    "bench-display-latency": bench_display_latency,
    "bench-tracking": bench_tracking,
    "bench-audience-package": bench_audience_package,
    "bench-tracking-behaviours": bench_tracking_behaviours,
    "bench-hostile-frames": bench_hostile_frames,
    "bench-pose": bench_pose,
    "bench-portrait": bench_portrait,
    "bench-augmentation": bench_augmentation,
}


def regenerate(text: str) -> str:
    """The page with every generated block rendered anew (an unknown block name raises KeyError)."""
    return BLOCK.sub(lambda m: f"{m[1]}{GENERATORS[m['name']]()}\n{m[4]}", text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the stale blocks, or with ``--check`` only name them."""
    parser = argparse.ArgumentParser(prog="python scripts/docs_tables.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a block is stale")
    args = parser.parse_args(argv)
    stale = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        fresh = regenerate(text)
        if fresh != text:
            stale.append(page.relative_to(REPO_ROOT))
            if not args.check:
                page.write_text(fresh)
    for page in stale:
        print(f"{'stale' if args.check else 'regenerated'}: {page}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
