"""``fastcf eval``: run trackers over a dataset and write result files."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from fastcf.cli.common import (
    add_name_option,
    add_set_option,
    add_threads_option,
    check_threads_arg,
    load_dataset,
    parse_overrides,
    split_list,
)
from fastcf.cli.vot_protocol import add_protocol_options
from fastcf.cli.vot_protocol import run_eval as run_vot_eval
from fastcf.errors import ConfigError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "eval",
        help="run trackers over a dataset and write result files",
        description=(
            "Run each tracker on each sequence (init on frame 0 with the ground truth) and "
            "write <results>/<dataset name>/<tracker>/<seq>.txt plus per-frame times, scores "
            "and the settings (config, fingerprint, weights' sha256). Complete results of "
            "the same settings are skipped; results of other settings make it refuse "
            "(--no-resume, --overwrite-changed or --tag say what to do instead)."
        ),
    )
    p.add_argument("dataset", metavar="DATASET_SPEC", help="dataset spec, e.g. otb:/data/OTB100")
    p.add_argument("--trackers", required=True, help="comma-separated tracker names")
    p.add_argument("--results", default="results", help="results root (default: results)")
    add_name_option(p)
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    add_threads_option(p)
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument("--address", default=None, help="Ray cluster address (with --executor ray)")
    p.add_argument("--no-resume", action="store_true", help="re-run complete sequences too")
    p.add_argument(
        "--overwrite-changed",
        action="store_true",
        help="re-run (overwrite) only the results stored with other settings",
    )
    p.add_argument("--sequences", default=None, help="comma-separated subset of sequences")
    add_set_option(p)
    p.add_argument("--tag", default="", help="write results to <tracker>_<tag> folders")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_protocol_options(p)
    return p


def _f(v: float, digits: int = 1) -> str:
    return f"{v:.{digits}f}" if math.isfinite(v) else "-"


def print_summary(summary: Any) -> None:
    """The per-tracker table of a run (speed of the sequences run now)."""
    print(f"dataset {summary.dataset}: results in {summary.results_dir}")
    print(
        f"{'tracker':24s} {'done':>5s} {'skip':>5s} {'fail':>5s} {'frames':>7s} "
        f"{'throughput':>10s} {'pooled':>7s} {'latency med/p95/max ms':>23s} {'init ms':>8s} "
        f"{'decode ms':>9s}"
    )
    for name, row in summary.by_tracker().items():
        sp = row["speed"]
        latency = f"{_f(sp.latency_median_ms)}/{_f(sp.latency_p95_ms)}/{_f(sp.latency_max_ms)}"
        print(
            f"{name:24s} {row['done']:5d} {row['skipped']:5d} {row['failed']:5d} "
            f"{row['frames']:7d} {_f(sp.throughput_fps):>10s} {_f(sp.throughput_fps_pooled):>7s} "
            f"{latency:>23s} {_f(sp.init_ms_median):>8s} {_f(sp.decode_ms, 2):>9s}"
        )
    print(
        f"wall time {summary.wall_seconds:.1f} s; speed of the sequences run now "
        f"({summary.threads} thread(s) per tracker): throughput = frames / tracking time per "
        "sequence (init included), mean over sequences; pooled = all frames / all time; "
        "decoding excluded and shown apart (fastcf bench measures speed alone)"
    )


def print_failures(summary: Any) -> None:
    print(f"fastcf eval: {len(summary.failed)} sequence(s) failed:", file=sys.stderr)
    for o in summary.failed:
        where = "" if o.error_frame is None else f" at frame {o.error_frame}"
        print(f"  {o.tracker} / {o.sequence}{where}: {o.error}", file=sys.stderr)
    print(f"  details in {summary.results_dir}/<tracker>/errors/<sequence>.txt", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "protocol", "ope") != "ope":
        return run_vot_eval(args)
    from fastcf.evaluation.runner import run_experiment

    trackers = split_list(args.trackers, "trackers") or []
    sequences = split_list(args.sequences, "sequences")
    overrides = parse_overrides(args.overrides)
    threads = check_threads_arg(args.threads)
    if args.address and args.executor != "ray":
        raise ConfigError("--address is only used with --executor ray")
    if args.no_resume and args.overwrite_changed:
        raise ConfigError("--no-resume re-runs everything; --overwrite-changed only what changed")
    dataset = load_dataset(args.dataset, sequences, args.name)
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
        threads=threads,
        overwrite_changed=args.overwrite_changed,
    )
    print_summary(summary)
    if summary.failed:
        print_failures(summary)
        return 1
    return 0
