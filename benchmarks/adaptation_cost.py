"""Cost of ``feco``'s online adaptation: at init, and on confident later frames.

For every sequence of a dataset: ``init`` on frame 1 with
``create("feco", online_adaptation=False)`` and with
``create("feco", online_adaptation=True, **overrides)``, alternating, ``--reps`` times;
prints the median init milliseconds of both, the adaptation milliseconds
(``tracker.adapt_ms``) and the number of gradient steps done. With ``--later N`` it then
tracks the first N frames with later-frame adaptation on (``adapt_interval=10`` unless
overridden) and prints how many frames adapted and their adaptation milliseconds
(``tracker.update_adapt_ms``).

    python benchmarks/adaptation_cost.py otb:../shared/data/sequences [--reps 3] \\
        [--later 150] [--set adapt_steps=10 --set adapt_lr=0.005]

Single torch thread. Timings depend on other load on the machine (preliminary on a
shared one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import cast

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

import fastcf  # noqa: E402
from fastcf.datasets import open_dataset  # noqa: E402
from fastcf.trackers.eco.tracker import ECOTracker  # noqa: E402


def _value(text: str) -> float | int | str:
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", help="dataset spec, e.g. otb:../shared/data/sequences")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument(
        "--later",
        type=int,
        default=0,
        help="frames to track with later-frame adaptation (0: init only)",
    )
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    args = ap.parse_args()
    torch.set_num_threads(1)
    lines: list[str] = []

    def emit(text: str) -> None:
        print(text)
        lines.append(text)

    kw = {k: _value(v) for k, _, v in (o.partition("=") for o in args.overrides)}
    trackers: dict[bool, ECOTracker] = {
        False: cast(ECOTracker, fastcf.create("feco", online_adaptation=False)),
        True: cast(ECOTracker, fastcf.create("feco", online_adaptation=True, **kw)),
    }
    rows = []
    for seq in open_dataset(args.dataset):
        frame = next(iter(seq.iter_frames()))
        box = seq.init_box
        times: dict[bool, list[float]] = {False: [], True: []}
        adapt, steps = [], []
        for _ in range(args.reps):
            for on in (False, True):
                t0 = time.perf_counter()
                trackers[on].init(frame, box)
                times[on].append((time.perf_counter() - t0) * 1000.0)
                if on:
                    adapt.append(trackers[on].adapt_ms)
                    steps.append(trackers[on].features.adaptation.last_steps)
        row = (
            seq.name,
            statistics.median(times[False]),
            statistics.median(times[True]),
            statistics.median(adapt),
            min(steps),
        )
        rows.append(row)
        name, init_off, init_on, ms, done = row
        emit(
            f"{name:13s} init off {init_off:6.0f} ms  on {init_on:6.0f} ms  adapt {ms:5.1f} ms  "
            f"steps >= {done}"
        )
    if args.later > 0:
        later_kw = {"adapt_interval": 10, **kw}
        tracker = cast(ECOTracker, fastcf.create("feco", online_adaptation=True, **later_kw))
        spent: list[float] = []
        frames_done = 0
        for seq in open_dataset(args.dataset):
            n = 0
            for i, frame in enumerate(seq.iter_frames()):
                if i == 0:
                    tracker.init(frame, seq.init_box)
                    continue
                tracker.update(frame)
                frames_done += 1
                if tracker.update_adapt_ms > 0:
                    spent.append(tracker.update_adapt_ms)
                    n += 1
                if i >= args.later:
                    break
            emit(f"{seq.name:13s} later-frame adaptations in {i} frames: {n}")
        if spent:
            emit(
                f"later frames ({later_kw}): {len(spent)} adaptations in {frames_done} frames; "
                f"{statistics.median(spent):.1f} ms median, {max(spent):.1f} ms max"
            )
    med_off = statistics.median(r[1] for r in rows)
    med_on = statistics.median(r[2] for r in rows)
    med_ms = statistics.median(r[3] for r in rows)
    max_ms = max(r[3] for r in rows)
    emit(
        f"median over sequences: init off {med_off:.0f} ms, on {med_on:.0f} ms; adaptation "
        f"{med_ms:.1f} ms (max {max_ms:.1f}); load average {os.getloadavg()}"
    )

    out = Path(__file__).resolve().parent / "results" / "adaptation_cost.md"
    cmd = "python benchmarks/adaptation_cost.py " + " ".join(sys.argv[1:])
    header = ["# Online adaptation cost (`feco`, one torch thread)", "", f"Regenerate: `{cmd}`", ""]
    out.write_text("\n".join(header + ["```", *lines, "```"]) + "\n")


if __name__ == "__main__":
    main()
