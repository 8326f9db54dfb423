"""``fastcf eval``: run trackers over a dataset and write result files."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fastcf.cli.common import add_set_option, load_dataset, parse_overrides, split_list
from fastcf.cli.vot_protocol import add_protocol_options
from fastcf.cli.vot_protocol import run_eval as run_vot_eval
from fastcf.errors import ConfigError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "eval",
        help="run trackers over a dataset and write result files",
        description=(
            "Run each tracker on each sequence (init on frame 0 with the ground truth) and "
            "write <results>/<dataset>/<tracker>/<seq>.txt plus per-frame times and scores. "
            "Complete results are skipped unless --no-resume."
        ),
    )
    p.add_argument("dataset", metavar="DATASET_SPEC", help="dataset spec, e.g. otb:/data/OTB100")
    p.add_argument("--trackers", required=True, help="comma-separated tracker names")
    p.add_argument("--results", default="results", help="results root (default: results)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--address", default=None, help="Ray cluster address (with --executor ray)")
    p.add_argument("--no-resume", action="store_true", help="re-run complete sequences too")
    p.add_argument("--sequences", default=None, help="comma-separated subset of sequences")
    add_set_option(p)
    p.add_argument("--tag", default="", help="write results to <tracker>_<tag> folders")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_protocol_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    if getattr(args, "protocol", "ope") != "ope":
        return run_vot_eval(args)
    from fastcf.evaluation.runner import run_experiment

    trackers = split_list(args.trackers, "trackers") or []
    sequences = split_list(args.sequences, "sequences")
    overrides = parse_overrides(args.overrides)
    if args.address and args.executor != "ray":
        raise ConfigError("--address is only used with --executor ray")
    dataset = load_dataset(args.dataset)
    summary = run_experiment(
        trackers,
        dataset,
        args.results,
        workers=args.workers,
        executor=args.executor,
        address=args.address,
        resume=not args.no_resume,
        overrides=overrides,
        sequences=sequences,
        tag=args.tag,
        quiet=args.quiet,
    )
    print(f"dataset {summary.dataset}: results in {summary.results_root / summary.dataset}")
    print(
        f"{'tracker':24s} {'done':>5s} {'skip':>5s} {'fail':>5s} {'frames':>8s} "
        f"{'fps':>8s} {'decode ms/f':>11s}"
    )
    for name, row in summary.by_tracker().items():
        print(
            f"{name:24s} {row['done']:5d} {row['skipped']:5d} {row['failed']:5d} "
            f"{row['frames']:8d} {row['fps']:8.1f} {row['decode_ms_per_frame']:11.2f}"
        )
    print(f"wall time {summary.wall_seconds:.1f} s (fps: tracker time only, decoding excluded)")
    if summary.failed:
        print(f"fastcf eval: {len(summary.failed)} sequence(s) failed:", file=sys.stderr)
        for o in summary.failed:
            frame = "?" if o.error_frame is None else o.error_frame
            print(f"  {o.tracker} / {o.sequence} at frame {frame}: {o.error}", file=sys.stderr)
        print("  details in <results>/<dataset>/<tracker>/errors/<sequence>.txt", file=sys.stderr)
        return 1
    return 0
