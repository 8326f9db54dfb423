"""VOT real-time protocol table: trackers x input frame rates on the development set.

    python benchmarks/vot_realtime.py
        [--trackers feco,eco-hc,opencv-csrt,opencv-nanotrack] [--rates 20,30]
        [--set TRACKER:KEY=VALUE ...] [--sequences A,B] [--name realtime]

For each tracker and each input rate, fastcf's real-time protocol
(:mod:`fastcf.evaluation.vot`, ``fastcf eval --protocol vot-realtime``): the supervised
VOT protocol (re-initialisation 5 frames after a zero-overlap failure) with frame ``k``
arriving at ``k / fps`` s; a frame that arrives while the tracker is still busy keeps the
last box; the time of each call is measured on the tracker's own ``init`` / ``update``
(decoding excluded); 3 slow calls are forgiven after each initialisation (VOT's grace).
Also the unconstrained supervised protocol (``--no-supervised`` leaves it out), so the
table shows what real time costs each tracker.

One core: every tracker runs with ``threads=1`` in this one process (torch, OpenCV and
BLAS limited to one thread), sequences one after the other. Run it on an otherwise idle
machine; the load average at the start and the end is recorded.

Trackers that are not registered (e.g. ``opencv-nanotrack`` before it exists) are
skipped with a message. ``--set TRACKER:KEY=VALUE`` sets a config field of one tracker;
NanoTrack v2's ONNX files default to ``../shared/data/models/peers/nanotrack_v2``.

Raw trajectories go to ``benchmarks/raw/<name>/`` (not committed); the table to
``benchmarks/results/vot/<name>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "sequences"
NANOTRACK = HERE.parent.parent / "shared" / "data" / "models" / "peers" / "nanotrack_v2"
DEFAULT_TRACKERS = "feco,eco-hc,opencv-csrt,opencv-nanotrack"


def default_overrides() -> dict[str, str]:
    if not NANOTRACK.is_dir():
        return {}
    return {
        "opencv-nanotrack:backbone": str(NANOTRACK / "backbone.onnx"),
        "opencv-nanotrack:neckhead": str(NANOTRACK / "head.onnx"),
    }


def parse_sets(items: list[str]) -> dict[str, str]:
    from fastcf.cli.common import parse_overrides

    return parse_overrides(items)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="OTB-layout sequences folder")
    ap.add_argument("--trackers", default=DEFAULT_TRACKERS)
    ap.add_argument("--rates", default="20,30", help="input frame rates (fps), comma-separated")
    ap.add_argument("--grace", type=int, default=3)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="TRACKER:KEY=VALUE")
    ap.add_argument("--sequences", default=None, help="comma-separated subset (default: all)")
    ap.add_argument("--no-supervised", action="store_true", help="skip the unconstrained run")
    ap.add_argument("--name", default="realtime", help="output name (default: realtime)")
    args = ap.parse_args(argv)

    from fastcf.datasets import open_dataset
    from fastcf.errors import FastCFError
    from fastcf.evaluation.vot import RealtimeSettings, SupervisedSettings, eao_interval
    from fastcf.evaluation.vot_eval import experiment_name, run_vot, score_vot
    from fastcf.io.vot_results import read_run, trajectory_path
    from fastcf.registry import available, get_config

    overrides = {**default_overrides(), **parse_sets(args.sets)}
    trackers: list[str] = []
    for name in [t.strip() for t in args.trackers.split(",") if t.strip()]:
        if name not in available():
            print(f"skipping {name}: no tracker of that name is registered in this fastcf")
            continue
        mine = {k.split(":", 1)[1]: v for k, v in overrides.items() if k.startswith(name + ":")}
        try:
            get_config(name, **mine)
        except FastCFError as exc:
            print(f"skipping {name}: {exc}")
            continue
        trackers.append(name)
    if not trackers:
        print("no tracker to run", file=sys.stderr)
        return 2
    overrides = {
        k: v for k, v in overrides.items() if ":" not in k or k.split(":", 1)[0] in trackers
    }
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    dataset = open_dataset(f"otb:{args.data}")
    seqs = [s.strip() for s in args.sequences.split(",")] if args.sequences else dataset.names()
    lengths = [len(dataset[s]) for s in seqs]
    interval = eao_interval(lengths)
    raw = HERE / "raw" / args.name
    settings = SupervisedSettings()
    protocols: list[RealtimeSettings | None] = [RealtimeSettings(r, args.grace) for r in rates]
    if not args.no_supervised:
        protocols.append(None)

    from fastcf.evaluation.calibration import reference_speed

    load_start = os.getloadavg()
    core_start = reference_speed()
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    for rt in protocols:
        exp = experiment_name(rt)
        print(f"{exp}: {', '.join(trackers)} on {len(seqs)} sequences")
        outcomes = run_vot(
            trackers, dataset, raw, settings, rt, overrides=overrides, sequences=seqs, resume=False
        )
        failed = [o for o in outcomes if o.status == "failed"]
        for o in failed:
            print(f"  FAILED {o.tracker} / {o.sequence}: {o.error}")
        report = score_vot(raw / dataset.name, dataset, exp, trackers, seqs, interval)
        for s in report.scores:
            calls, held, frames = [], 0, 0
            for q in seqs:
                path = trajectory_path(raw / dataset.name, s.tracker, exp, q)
                if not path.is_file():
                    continue
                run = read_run(path, dataset[q].ground_truth)
                ran = (run.times > 0) & (run.states != 1)
                calls += list(run.times[ran] * 1000.0)
                held += int(np.count_nonzero(run.held))
                frames += len(run)
            rows.append(
                {
                    "tracker": s.tracker,
                    "protocol": exp,
                    "fps": None if rt is None else rt.fps,
                    "eao": s.eao,
                    "accuracy": s.accuracy,
                    "robustness": s.robustness,
                    "failures": s.failures,
                    "held_fraction": held / frames if frames else math.nan,
                    "median_update_ms": float(np.median(calls)) if calls else math.nan,
                    "p95_update_ms": float(np.percentile(calls, 95)) if calls else math.nan,
                    "missing": report.failed.get(s.tracker, []),
                }
            )
    seconds = time.perf_counter() - start
    load_end = os.getloadavg()
    core_end = reference_speed()

    def f(v: Any, d: int = 3) -> str:
        return f"{v:.{d}f}" if isinstance(v, float) and math.isfinite(v) else "n/a"

    cmd = "python benchmarks/vot_realtime.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    md = [
        f"# VOT real-time protocol: {len(seqs)} sequences, one core",
        "",
        f"Command: `{cmd.strip()}`. Sequences: {', '.join(seqs)}. EAO interval "
        f"{interval[0]}..{interval[1]} (VOT's rule on these lengths). Grace {args.grace}. "
        f"Load average at start {load_start[0]:.2f}, at end {load_end[0]:.2f} (2 cores); "
        f"{seconds:.0f} s in all. Core speed (reference workload, "
        f"`fastcf.evaluation.calibration`): python {core_start['python_ms']:.1f} / numpy "
        f"{core_start['numpy_ms']:.1f} ms at start, {core_end['python_ms']:.1f} / "
        f"{core_end['numpy_ms']:.1f} ms at end. Protocol and conventions: docs/vot.md.",
        "",
        "| tracker | protocol | EAO | accuracy | robustness | failures | held frames "
        "| median / p95 update ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        md.append(
            f"| {r['tracker']} | {r['protocol']} | {f(r['eao'])} | {f(r['accuracy'])} "
            f"| {f(r['robustness'], 2)} | {r['failures']} | {f(100 * r['held_fraction'], 1)} % "
            f"| {f(r['median_update_ms'], 1)} / {f(r['p95_update_ms'], 1)} |"
        )
    missing = [(r["tracker"], r["protocol"], r["missing"]) for r in rows if r["missing"]]
    if missing:
        md += ["", "Runs that failed (left out of the numbers):", ""]
        md += [f"- {t} {p}: {', '.join(m)}" for t, p, m in missing]
    out = HERE / "results" / "vot"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.md").write_text("\n".join(md) + "\n")
    summary = {
        "command": cmd.strip(),
        "sequences": seqs,
        "eao_interval": list(interval),
        "grace": args.grace,
        "overrides": overrides,
        "load_average": {"start": load_start, "end": load_end},
        "core_speed": {"start": core_start, "end": core_end},
        "seconds": seconds,
        "rows": rows,
    }
    (out / f"{args.name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
