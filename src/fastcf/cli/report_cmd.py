"""``fastcf report``: score result files and write plots and tables."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from fastcf.cli.common import add_name_option, load_dataset, split_list
from fastcf.cli.vot_protocol import add_protocol_options
from fastcf.cli.vot_protocol import run_report as run_vot_report


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="score result files against ground truth; write plots and tables",
        description=(
            "Read <results>/<dataset name>/<tracker>/<seq>.txt (as `fastcf eval` writes "
            "them), score them against the dataset's ground truth and write success / "
            "precision plots (PNG, SVG), report.md and report.json into <out>/<dataset name>/. "
            "Mismatched lengths, sequences without ground truth and trackers whose sequences "
            "were run with different settings are flagged."
        ),
    )
    p.add_argument(
        "--dataset",
        required=True,
        metavar="DATASET_SPEC",
        help="dataset spec giving the ground truth, e.g. otb:../shared/data/sequences",
    )
    p.add_argument("--results", default="results", help="results root (default: results)")
    add_name_option(p)
    p.add_argument(
        "--trackers", default=None, help="comma-separated tracker folders (default: all found)"
    )
    p.add_argument("--sequences", default=None, help="comma-separated subset of sequences")
    p.add_argument("--out", default="reports", help="output root (default: reports)")
    add_protocol_options(p, report=True)
    p.add_argument(
        "--per-sequence",
        action="store_true",
        help="also print the AUC of every tracker on every sequence and plot it "
        "(per_sequence.png / .svg)",
    )
    return p


def _fmt(v: float, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if math.isfinite(v) else "n/a"


def print_table(report: Any) -> None:
    from fastcf.evaluation.report import display_name, ordered

    order = ordered(report)
    width = max(len(display_name(t)) for t in order)
    scored = len(report.scored_sequences)
    print(f"{report.dataset}: {scored} scored sequences ({report.layout})")
    print(
        f"{'tracker':<{width}}    AUC   P@20  NP@.2  throughput  latency p95 ms  failed"
    )  # fmt: skip
    for t in order:
        print(
            f"{display_name(t):<{width}}  {_fmt(t.curves.auc)}  {_fmt(t.curves.precision_20)}  "
            f"{_fmt(t.curves.norm_precision_20)}  {_fmt(t.speed.throughput_fps, 1):>10}  "
            f"{_fmt(t.speed.latency_p95_ms, 1):>14}  {len(t.failed):>6}"
        )


def print_per_sequence(report: Any) -> None:
    from fastcf.evaluation.report import ordered, per_sequence_rows

    order = ordered(report)
    names = [t.name for t in order]
    rows = per_sequence_rows(report, "auc")
    w0 = max([len("sequence"), *(len(s) for s, _ in rows)])
    widths = [max([len(n), *(len(c[i]) for _, c in rows)]) for i, n in enumerate(names)]
    print()
    print("AUC per sequence:")
    head = "  ".join(f"{n:>{w}}" for n, w in zip(names, widths, strict=True))
    print(f"{'sequence':<{w0}}  {head}")
    for seq, cells in rows:
        line = "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
        print(f"{seq:<{w0}}  {line}")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "protocol", "ope") != "ope":
        return run_vot_report(args)
    from fastcf.evaluation.report import build_report

    sequences = split_list(args.sequences, "sequences")
    dataset = load_dataset(args.dataset, sequences, args.name)
    out_dir = Path(args.out) / dataset.name
    report = build_report(
        args.results,
        dataset,
        trackers=split_list(args.trackers, "trackers"),
        out_dir=out_dir,
        sequences=sequences,
        per_sequence=args.per_sequence,
    )
    print_table(report)
    if args.per_sequence:
        print_per_sequence(report)
    for warning in report.warnings():
        print(f"fastcf report: warning: {warning}", file=sys.stderr)
    if report.excluded_frames:
        total = sum(report.excluded_frames.values())
        print(
            f"{total} frames without ground truth (NaN/absent) excluded from scoring in "
            f"{len(report.excluded_frames)} sequence(s): see report.md, Notes"
        )
    extra = ", per_sequence plot" if args.per_sequence else ""
    print(f"written: {out_dir}/report.md, report.json, success/precision plots{extra}")
    return 0
