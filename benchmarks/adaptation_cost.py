"""Init cost of ``feco`` with and without first-frame online adaptation.

For every sequence of a dataset: ``init`` on frame 1 with ``create("feco")`` and with
``create("feco", online_adaptation=True, **overrides)``, alternating, ``--reps`` times;
prints the median init milliseconds of both, the adaptation milliseconds
(``tracker.adapt_ms``) and the number of gradient steps done.

    python benchmarks/adaptation_cost.py otb:../shared/data/sequences [--reps 3] \\
        [--set adapt_steps=10 --set adapt_lr=0.005]

Single torch thread. Timings depend on other load on the machine (preliminary on a
shared one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

import fastcf  # noqa: E402
from fastcf.datasets import open_dataset  # noqa: E402


def _value(text: str) -> float | int | str:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", help="dataset spec, e.g. otb:../shared/data/sequences")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    args = ap.parse_args()
    torch.set_num_threads(1)
    kw = {k: _value(v) for k, _, v in (o.partition("=") for o in args.overrides)}
    trackers = {
        False: fastcf.create("feco"),
        True: fastcf.create("feco", online_adaptation=True, **kw),
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
        name, off, on, ms, done = row
        print(
            f"{name:13s} init off {off:6.0f} ms  on {on:6.0f} ms  adapt {ms:5.1f} ms  "
            f"steps >= {done}"
        )
    med_off = statistics.median(r[1] for r in rows)
    med_on = statistics.median(r[2] for r in rows)
    med_ms = statistics.median(r[3] for r in rows)
    max_ms = max(r[3] for r in rows)
    print(
        f"median over sequences: init off {med_off:.0f} ms, on {med_on:.0f} ms; adaptation "
        f"{med_ms:.1f} ms (max {max_ms:.1f}); load average {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
