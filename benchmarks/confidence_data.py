"""Per-frame response statistics against ground truth, to set the found/lost decision on data.

    python benchmarks/confidence_data.py --trackers feco,eco-hc [--workers 2]

For every tracker, runs the 34 development sequences plus two synthetic variants of each
(``fastcf.datasets.synthetic``: a 30-frame blackout at one third of the sequence and a
30-frame occlusion at two thirds, each cut 40 frames after the edit) and records, per
update frame, the statistics of the detection response (``tracker.last_stats``: peak,
APCE, PSR, sidelobe), the tracker's ``ok`` and ``score``, the IoU of its box with the
ground truth (NaN where the target is absent) and, for ECO, the long-term memory ratio
(``tracker.last_memory``: the first frame's filter at the response peak). Writes
``benchmarks/raw/confidence/<tracker>.npz`` (not committed); ``benchmarks/confidence_fit.py``
reads them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from pathlib import Path

import numpy as np
from devset import HERE, dev_dataset

FIELDS = ("peak", "apce", "psr", "sidelobe")


def clips(names: list[str] | None = None) -> list:
    from fastcf.datasets.synthetic import blackout, head, occlude

    out = []
    for seq in dev_dataset(names=names or ()):
        n = len(seq)
        out.append(seq)
        if n < 60:
            continue
        b = n // 3
        out.append(blackout(head(seq, b + 70), b, 30))
        o = (2 * n) // 3
        if o + 10 < n:
            out.append(occlude(head(seq, o + 70), o, 30))
    return out


def run_one(task: tuple[str, dict, object]) -> dict:
    from fastcf.evaluation.threads import apply_thread_limits

    apply_thread_limits(1)
    import fastcf
    from fastcf.metrics import iou

    name, overrides, seq = task
    tracker = fastcf.create(name, **overrides)
    if hasattr(tracker, "record_memory"):  # ECO: the long-term memory ratio as well
        tracker.record_memory = True
    rows = []
    for i, frame in enumerate(seq.frames):
        if i == 0:
            tracker.init(frame, seq.init_box)
            continue
        res = tracker.update(frame)
        st = getattr(tracker, "last_stats", None)
        gt = seq.ground_truth[i]
        overlap = (
            float(iou(np.asarray([res.box]), gt[None])[0]) if np.all(np.isfinite(gt)) else np.nan
        )
        rows.append(
            [*(getattr(st, f) if st is not None else np.nan for f in FIELDS),
             float(res.score), float(res.ok), overlap,
             float(getattr(tracker, "last_memory", np.nan))]
        )  # fmt: skip
    return {"sequence": seq.name, "rows": np.asarray(rows, np.float64).reshape(-1, 8)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trackers", default="feco,eco-hc")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sequences", default=None)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", default=str(HERE / "raw" / "confidence"))
    args = ap.parse_args()
    from fastcf.cli.common import parse_overrides

    overrides = parse_overrides(args.set)
    names = args.sequences.split(",") if args.sequences else None
    all_clips = clips(names)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = multiprocessing.get_context("spawn")
    for name in args.trackers.split(","):
        tasks = [(name, overrides, c) for c in all_clips]
        with ctx.Pool(args.workers) as pool:
            results = pool.map(run_one, tasks, chunksize=1)
        np.savez(
            out / f"{name}.npz",
            sequences=np.array([r["sequence"] for r in results]),
            lengths=np.array([len(r["rows"]) for r in results]),
            rows=np.concatenate([r["rows"] for r in results]),
            columns=np.array([*FIELDS, "score", "ok", "iou", "memory"]),
        )
        print(f"{name}: {sum(len(r['rows']) for r in results)} frames -> {out / name}.npz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
