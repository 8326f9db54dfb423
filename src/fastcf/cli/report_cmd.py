"""``fastcf report``: score result files and write plots and tables."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from fastcf.cli.common import load_dataset, split_list
from fastcf.cli.vot_protocol import add_protocol_options
from fastcf.cli.vot_protocol import run_report as run_vot_report


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="score result files against ground truth; write plots and tables",
        description=(
            "Read <results>/<dataset name>/<tracker>/<seq>.txt (as `fastcf eval` writes "
            "them), score them against the dataset's ground truth and write success / "
            "precision plots (PNG, SVG), report.md and report.json into <out>/<dataset name>/."
        ),
    )
    p.add_argument(
        "--dataset",
        required=True,
        metavar="DATASET_SPEC",
        help="dataset spec giving the ground truth, e.g. otb:../shared/data/sequences",
    )
    p.add_argument("--results", default="results", help="results root (default: results)")
    p.add_argument(
        "--trackers", default=None, help="comma-separated tracker folders (default: all found)"
    )
    p.add_argument("--sequences", default=None, help="comma-separated subset of sequences")
    p.add_argument("--out", default="reports", help="output root (default: reports)")
    add_protocol_options(p, report=True)
    return p


def _fmt(v: float, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if math.isfinite(v) else "n/a"


def run(args: argparse.Namespace) -> int:
    if getattr(args, "protocol", "ope") != "ope":
        return run_vot_report(args)
    from fastcf.evaluation.report import build_report

    dataset = load_dataset(args.dataset)
    out_dir = Path(args.out) / dataset.name
    report = build_report(
        args.results,
        dataset,
        trackers=split_list(args.trackers, "trackers"),
        out_dir=out_dir,
        sequences=split_list(args.sequences, "sequences"),
    )
    width = max(len(t.name) for t in report.trackers)
    print(f"{report.dataset}: {len(report.sequences)} sequences")
    print(f"{'tracker':<{width}}    AUC   P@20  NP@.2     FPS  failed")
    for t in sorted(report.trackers, key=lambda t: (-t.curves.auc, t.name)):
        print(
            f"{t.name:<{width}}  {_fmt(t.curves.auc)}  {_fmt(t.curves.precision_20)}  "
            f"{_fmt(t.curves.norm_precision_20)}  {_fmt(t.speed.median_fps, 1):>6}  "
            f"{len(t.failed):>6}"
        )
    print(f"written: {out_dir}/report.md, report.json, success/precision plots")
    return 0
