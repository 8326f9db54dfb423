"""The ``--protocol`` options of ``fastcf eval`` and ``fastcf report`` (VOT protocols).

Not a sub-command: ``eval_cmd`` and ``report_cmd`` call :func:`add_protocol_options` and,
for ``--protocol vot-supervised|vot-realtime``, hand over to :func:`run_eval` /
:func:`run_report`. The default protocol, ``ope``, is the OTB one-pass evaluation.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from fastcf.errors import ConfigError

PROTOCOL_CHOICES = ("ope", "vot-supervised", "vot-realtime")


def add_protocol_options(p: argparse.ArgumentParser, report: bool = False) -> None:
    g = p.add_argument_group("protocol (docs/vot.md)")
    g.add_argument(
        "--protocol",
        choices=PROTOCOL_CHOICES,
        default="ope",
        help="ope: OTB one-pass (default); vot-supervised: reset-based VOT (accuracy, "
        "failures, EAO); vot-realtime: the same with frames arriving at --fps",
    )
    g.add_argument(
        "--fps", type=float, default=20.0, help="vot-realtime: input frame rate (default 20)"
    )
    g.add_argument(
        "--grace",
        type=int,
        default=3,
        help="vot-realtime: slow calls forgiven after each initialisation (default 3)",
    )
    g.add_argument("--skip", type=int, default=5, help="vot: frames skipped after a failure (5)")
    g.add_argument("--burnin", type=int, default=10, help="vot: burn-in frames for accuracy (10)")
    if report:
        g.add_argument(
            "--eao-interval",
            default=None,
            metavar="LOW,HIGH",
            help="vot: EAO sequence-length interval (default: VOT's rule on these sequences)",
        )


def _settings(args: argparse.Namespace) -> tuple[Any, Any]:
    from fastcf.evaluation.vot import RealtimeSettings, SupervisedSettings

    settings = SupervisedSettings(skip=args.skip, burnin=args.burnin)
    realtime = None
    if args.protocol == "vot-realtime":
        realtime = RealtimeSettings(fps=args.fps, grace=args.grace)
    return settings, realtime


def run_eval(args: argparse.Namespace) -> int:
    """``fastcf eval --protocol vot-*``: run, write trajectories, print a summary."""
    import sys

    from fastcf.cli.common import load_dataset, parse_overrides, split_list
    from fastcf.evaluation.vot_eval import experiment_name, run_vot

    if args.executor != "local":
        raise ConfigError("--protocol vot-* runs with the local executor only")
    settings, realtime = _settings(args)
    dataset = load_dataset(args.dataset)
    if realtime is not None and args.workers > 1:
        print(
            f"note: {args.workers} workers share the machine's cores; the real-time "
            "protocol's timing is meant for --workers 1 on an idle core",
            file=sys.stderr,
        )
    outcomes = run_vot(
        split_list(args.trackers, "trackers") or [],
        dataset,
        args.results,
        settings,
        realtime,
        overrides=parse_overrides(args.overrides),
        sequences=split_list(args.sequences, "sequences"),
        tag=args.tag,
        resume=not args.no_resume,
        workers=args.workers,
        log=None if args.quiet else (lambda m: print(m, file=sys.stderr)),
    )
    folder = Path(args.results) / dataset.name
    print(f"{dataset.name}: {experiment_name(realtime)} trajectories under {folder}/<tracker>/")
    print(f"{'tracker':24s} {'done':>5s} {'skip':>5s} {'fail':>5s} {'failures':>9s}")
    by: dict[str, list[Any]] = {}
    for o in outcomes:
        by.setdefault(o.tracker, []).append(o)
    for name, rows in by.items():
        count = {k: sum(1 for o in rows if o.status == k) for k in ("done", "skipped", "failed")}
        fails = sum(o.failures for o in rows if o.status == "done")
        print(
            f"{name:24s} {count['done']:5d} {count['skipped']:5d} {count['failed']:5d} {fails:9d}"
        )
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        print(f"fastcf eval: {len(failed)} run(s) failed:", file=sys.stderr)
        for o in failed:
            print(f"  {o.tracker} / {o.sequence}: {o.error}", file=sys.stderr)
        return 1
    print(f"score with: fastcf report --protocol {args.protocol} --dataset {args.dataset} ...")
    return 0


def _interval(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    parts = text.split(",")
    try:
        low, high = (int(v) for v in parts)
    except ValueError:
        raise ConfigError(f"--eao-interval expects LOW,HIGH (integers), got {text!r}") from None
    if not 1 <= low <= high:
        raise ConfigError(f"--eao-interval needs 1 <= LOW <= HIGH, got {text!r}")
    return low, high


def run_report(args: argparse.Namespace) -> int:
    """``fastcf report --protocol vot-*``: score trajectories; write report.md/json + plot."""
    from fastcf.cli.common import load_dataset, split_list
    from fastcf.evaluation.vot_eval import experiment_name, score_vot, write_vot_report

    settings, realtime = _settings(args)
    dataset = load_dataset(args.dataset)
    experiment = experiment_name(realtime)
    report = score_vot(
        Path(args.results) / dataset.name,
        dataset,
        experiment,
        trackers=split_list(args.trackers, "trackers"),
        sequences=split_list(args.sequences, "sequences"),
        interval=_interval(args.eao_interval),
        burnin=settings.burnin,
    )
    out = Path(args.out) / dataset.name / experiment
    write_vot_report(report, out)
    low, high = report.interval
    width = max(len(s.tracker) for s in report.scores)
    print(f"{report.dataset}: {len(report.sequences)} sequences, {experiment}, EAO {low}..{high}")
    print(f"{'tracker':<{width}}    EAO    Acc   Rob  failures")
    for s in sorted(report.scores, key=lambda s: -(s.eao if math.isfinite(s.eao) else -1)):
        eao = f"{s.eao:.3f}" if math.isfinite(s.eao) else "  n/a"
        print(
            f"{s.tracker:<{width}}  {eao}  {s.accuracy:.3f}  {s.robustness:4.2f}  {s.failures:8d}"
        )
    for name, seqs in report.failed.items():
        print(f"{name}: no result for {', '.join(seqs)} (left out)")
    print(f"written: {out}/report.md, report.json, eao_curve.png")
    return 0
