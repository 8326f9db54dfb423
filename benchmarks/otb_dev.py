"""Accuracy and single-core speed of trackers on the development sequences, side by side.

    python benchmarks/otb_dev.py --trackers opencv-csrt,eco-hc,strcf [--name otb_dev]
        [--sequences Dog,Crossing] [--threads 1]

1. ``fastcf eval`` (parallel processes, each single-threaded) writes result files to
   ``benchmarks/raw/<name>/`` (not committed);
2. ``fastcf report`` scores them (AUC, P@20, ...) and, as an independent check, the got10k
   toolkit's own functions score the same files (its AUC is printed beside ours);
3. ``fastcf bench`` measures speed in one fresh process limited to ``--threads`` threads
   (default 1), image decoding excluded, trackers one after the other (nothing else should
   run on the machine): throughput = frames / tracking time per sequence (init included),
   mean over sequences; latency median / p95 / max; init (``fastcf.metrics.speed``);
4. ``benchmarks/results/<name>.md`` and ``.json`` get the combined table.

``--bench-frames N`` caps the frames per sequence for the speed run (slow teachers);
``--sequences`` runs a subset (quick checks).
``--alias NAME=BASE:key=value,key=value`` adds a preset with other settings (e.g. ``feco``
with the authors' CF_VGGM.mat) so that it runs side by side with the others.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from devset import FAMILIES  # benchmarks/ is on sys.path when run as a script

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "sequences"


def got10k_auc(results_dir: Path, dataset) -> tuple[float, float]:
    """Mean success AUC and precision@20 computed by the got10k toolkit itself."""
    from got10k.experiments.otb import ExperimentOTB
    from got10k.utils.metrics import center_error, rect_iou

    from fastcf.io.results import read_boxes

    exp = ExperimentOTB.__new__(ExperimentOTB)
    exp.nbins_iou, exp.nbins_ce = 21, 51
    aucs, precs = [], []
    for seq in dataset:
        boxes = read_boxes(results_dir / f"{seq.name}.txt")
        anno = seq.to_dataset_convention(seq.ground_truth)
        boxes = boxes[: len(anno)]
        boxes[0] = anno[0]
        ious, ces = rect_iou(boxes, anno), center_error(boxes, anno)
        succ, prec = exp._calc_curves(ious, ces)
        aucs.append(float(np.mean(succ)))
        precs.append(float(prec[20]))
    return float(np.mean(aucs)), float(np.mean(precs))


def worst_ratios(rows: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The largest per-sequence p95/median and max/median latency ratios of a bench run."""
    p95, mx = [], []
    for r in rows.values():
        lat = r["latency_ms"]
        if lat["median"]:
            p95.append(lat["p95"] / lat["median"])
            mx.append(lat["max"] / lat["median"])
    return {
        "worst_p95_ratio": max(p95, default=float("nan")),
        "worst_max_ratio": max(mx, default=float("nan")),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--trackers", required=True)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--name", default="otb_dev")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--bench-frames", type=int, default=None)
    ap.add_argument("--sequences", default=None, help="comma-separated subset")
    ap.add_argument("--threads", type=int, default=1, help="threads per tracker (default 1)")
    ap.add_argument("--raw", default=None, help="results folder (default benchmarks/raw/<name>)")
    ap.add_argument("--no-bench", action="store_true")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--alias", action="append", default=[], metavar="NAME=BASE:K=V,K=V")
    args = ap.parse_args()

    from fastcf.cli.common import parse_overrides
    from fastcf.datasets import open_dataset
    from fastcf.evaluation import benchmark, run_experiment
    from fastcf.evaluation.bench import core_speed_text
    from fastcf.evaluation.bench import save as save_bench
    from fastcf.evaluation.report import build_report
    from fastcf.registry import alias

    for spec in args.alias:
        name, _, rest = spec.partition("=")
        base, _, settings = rest.partition(":")
        alias(name.strip(), base.strip(), **parse_overrides(s for s in settings.split(",") if s))
    trackers = [t.strip() for t in args.trackers.split(",") if t.strip()]
    overrides = parse_overrides(args.set)
    subset = [s.strip() for s in args.sequences.split(",")] if args.sequences else None
    dataset = open_dataset(f"otb:{args.data}", sequences=subset)
    raw = Path(args.raw) if args.raw else HERE / "raw" / args.name
    summary = run_experiment(
        trackers,
        dataset,
        raw,
        workers=args.workers,
        overrides=overrides,
        quiet=True,
        threads=args.threads,
    )
    failed = [o for o in summary.outcomes if o.status == "failed"]
    report = build_report(raw, dataset, trackers, out_dir=raw / "report")
    out: dict[str, Any] = {"dataset": str(args.data), "threads": args.threads, "trackers": {}}
    speed = None
    if not args.no_bench:
        speed = benchmark(
            trackers, dataset, frames=args.bench_frames, overrides=overrides, threads=args.threads
        )
        save_bench(speed, HERE / "results" / f"{args.name}_speed.json")
    rows = [
        "| tracker | AUC | AUC (got10k) | P@20 | P@20 (got10k) | throughput FPS | pooled FPS "
        "| latency median ms | p95 ms | max/median | worst seq. p95/median | worst seq. "
        "max/median | init ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in trackers:
        tr = report.tracker(name)
        g_auc, g_prec = got10k_auc(raw / dataset.name / name, dataset)
        row = {
            "auc": tr.curves.auc,
            "precision20": tr.curves.precision_20,
            "got10k_auc": g_auc,
            "got10k_p20": g_prec,
        }
        if speed is not None:
            o = speed["results"][name]["overall"]
            lat = o["latency_ms"]
            row.update(
                throughput_fps=o["throughput_fps"],
                throughput_fps_pooled=o["throughput_fps_pooled"],
                median_ms=lat["median"],
                p95_ms=lat["p95"],
                max_ms=lat["max"],
                spike_ratio=lat["max"] / lat["median"],
                init_ms=o["init_ms_median"],
                **worst_ratios(speed["results"][name]["sequences"]),
            )
        out["trackers"][name] = row
        sp = (
            f"{row['throughput_fps']:.1f} | {row['throughput_fps_pooled']:.1f} "
            f"| {row['median_ms']:.1f} | {row['p95_ms']:.1f} | {row['spike_ratio']:.1f} "
            f"| {row['worst_p95_ratio']:.2f} | {row['worst_max_ratio']:.1f} "
            f"| {row['init_ms']:.0f}"
            if speed is not None
            else "- | - | - | - | - | - | - | -"
        )
        rows.append(
            f"| {name} | {row['auc']:.3f} | {g_auc:.3f} | {row['precision20']:.3f} "
            f"| {g_prec:.3f} | {sp} |"
        )
    fams = sorted(set(FAMILIES.values()))
    fam_rows = ["| tracker | " + " | ".join(fams) + " |", "|---|" + "---:|" * len(fams)]
    for name in trackers:
        by_seq = report.tracker(name).by_sequence()
        cells = []
        for fam in fams:
            vals = [by_seq[s].curves.auc for s in dataset.names() if FAMILIES.get(s) == fam]
            cells.append(f"{np.mean(vals):.3f}" if vals else "-")
        out["trackers"][name]["families"] = dict(zip(fams, cells, strict=True))
        fam_rows.append(f"| {name} | " + " | ".join(cells) + " |")
    per_seq = ["| sequence | " + " | ".join(trackers) + " |", "|---|" + "---:|" * len(trackers)]
    for seq in dataset.names():
        cells = [f"{report.tracker(t).by_sequence()[seq].curves.auc:.3f}" for t in trackers]
        per_seq.append(f"| {seq} | " + " | ".join(cells) + " |")
    machine = speed["machine"] if speed else {}

    text = "\n".join(
        [
            f"# {args.name}: {len(dataset)} development sequences (`{dataset.name}`)",
            "",
            f"Regenerate: `python benchmarks/otb_dev.py --trackers {','.join(trackers)}"
            + (f" --bench-frames {args.bench_frames}" if args.bench_frames else "")
            + (f" --sequences {args.sequences}" if args.sequences else "")
            + (f" --threads {args.threads}" if args.threads != 1 else "")
            + "".join(f" --set {s}" for s in args.set)
            + "".join(f" --alias {a}" for a in args.alias)
            + (f" --raw {args.raw}" if args.raw else "")
            + f" --name {args.name}`",
            "",
            "AUC: OTB success AUC (21 thresholds), scored by fastcf and, independently, by the "
            "got10k toolkit on the same files. Speed: `fastcf bench`, "
            f"{args.threads} thread(s) per tracker (torch, OpenCV, BLAS), decoding excluded: "
            "throughput = frames / tracking time per sequence (init frame and time included), "
            "mean over sequences; pooled = all frames / all time; latency over the update "
            "frames, pooled; max/median = worst frame latency over the median "
            "(periodic-spike check); worst seq.: the largest per-sequence p95/median and "
            "max/median latency ratios.",
            f"Machine: {machine.get('cpu_model', '?')}, {machine.get('date', '')}"
            + (f"; {core_speed_text(speed)}" if core_speed_text(speed) else ""),
            "",
            *rows,
            "",
            "Mean AUC per benchmark family (`../shared/README.md`):",
            "",
            *fam_rows,
            "",
            "AUC per sequence:",
            "",
            *per_seq,
            "",
        ]
        + ([f"Failed: {', '.join(f'{o.tracker}/{o.sequence}' for o in failed)}"] if failed else [])
    )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"{args.name}.md").write_text(text)
    (HERE / "results" / f"{args.name}.json").write_text(json.dumps(out, indent=2))
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
