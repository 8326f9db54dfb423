"""Regenerate benchmarks/results/profile_stages.{md,json}: per-frame time by stage, one thread.

Three parts (all single-threaded: the thread variables are set before numpy/torch/cv2 load):

1. fHOG batching: milliseconds for the batch sizes the trackers use, one image at a time
   (the old path) against the chunked path of ``fastcf.features.hog.fhog``.
2. Stage profile: median ms per frame and stage (``fastcf.evaluation.profile``) for each
   tracker over the first ``--frames`` frames of a few shared sequences (pooled over frames).
3. ``--spikes``: ``eco-hc`` per-frame totals over every shared sequence, full length:
   p99 / median, max / median, and whether the slow frames recur every training step.

    python benchmarks/profile_stages.py [--frames 60] [--sequences Crossing Dog Vase]
        [--trackers eco-hc strcf feco] [--spikes] [--out benchmarks/results]

Timings depend on the machine and its load; the script records ``os.getloadavg()``.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import fastcf  # noqa: E402
from fastcf.datasets.otb import read_otb  # noqa: E402
from fastcf.evaluation.profile import (  # noqa: E402
    STAGES,
    StageTimer,
    attach,
    detach,
    min_over_runs,
    spike_stats,
)
from fastcf.evaluation.threads import apply_thread_limits  # noqa: E402
from fastcf.features import hog  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FASTCF_SHARED", REPO.parent / "shared")).resolve()
SEQ_ROOT = SHARED / "data" / "sequences"
VGGM = SHARED / "data" / "models" / "CF_VGGM.mat"

# (label, batch, height, width): ECO's scale filter (17 samples of the 32x16-cell model),
# ECO-HC's search patch (cell 6, 5 scales off), STRCF's 5 scales, a large single patch.
HOG_CASES = (
    ("scale filter 17 x 20x36", 17, 20, 36),
    ("scale filter 17 x 32x32", 17, 32, 32),
    ("17 x 36x68", 17, 36, 68),
    ("5 x 64x64", 5, 64, 64),
    ("5 x 128x128", 5, 128, 128),
    ("5 x 200x200 (strcf scales)", 5, 200, 200),
    ("1 x 250x250 (eco-hc sample)", 1, 250, 250),
)


CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}
CLOCK = ["cpu"]  # set by --clock


def _time_ms(fn: Any, reps: int) -> float:
    clock = CLOCKS[CLOCK[0]]
    fn()
    ts = []
    for _ in range(reps):
        t0 = clock()
        fn()
        ts.append((clock() - t0) * 1e3)
    # the minimum: on a shared machine the median is inflated by preemption
    return min(ts)


def bench_hog(reps_pixels: int = 3_000_000) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    rows = []
    for label, n, h, w in HOG_CASES:
        x = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
        reps = max(10, reps_pixels // (n * h * w))
        per_image = _time_ms(
            lambda x=x: np.concatenate([hog.fhog(x[i : i + 1], 4) for i in range(len(x))]),
            reps,
        )
        chunked = _time_ms(lambda x=x: hog.fhog(x, 4), reps)
        whole = _time_ms(lambda x=x: hog._fhog_batch(x, 4, 9, 0.2, False), reps)
        rows.append(
            {"case": label, "per_image_ms": per_image, "whole_batch_ms": whole, "fhog_ms": chunked}
        )
        print(f"fhog {label}: per-image {per_image:.2f}  whole {whole:.2f}  fhog {chunked:.2f}")
    return rows


def load_frames(name: str, limit: int | None) -> tuple[list[np.ndarray], Any]:
    seq = next(iter(read_otb(SEQ_ROOT / name)))  # one sequence folder, OTB layout
    frames = []
    for i, frame in enumerate(seq.iter_frames()):
        if limit is not None and i > limit:
            break
        frames.append(np.asarray(frame))
    return frames, seq.init_box


def make_tracker(name: str, **overrides: Any) -> Any:
    if name == "feco":
        overrides.setdefault("cnn_path", str(VGGM))
    return fastcf.create(name, **overrides)


def run_one(
    name: str, frames: list[np.ndarray], box: Any, repeats: int = 1, **overrides: Any
) -> StageTimer:
    """Track ``frames`` ``repeats`` times; per frame and stage the fastest of the runs."""
    timers = []
    for _ in range(repeats):
        tracker = make_tracker(name, **overrides)
        tracker.init(frames[0], box)
        timer = attach(tracker, StageTimer(clock=CLOCKS[CLOCK[0]]))
        try:
            for frame in frames[1:]:
                tracker.update(frame)
        finally:
            detach(tracker)
        timers.append(timer)
    return min_over_runs(timers)


def profile_table(
    trackers: list[str], sequences: list[str], limit: int, repeats: int
) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    loaded = {s: load_frames(s, limit) for s in sequences}
    for name in trackers:
        if name == "feco" and not VGGM.exists():
            print(f"skip feco: {VGGM} missing")
            continue
        per_stage: dict[str, list[float]] = {s: [] for s in (*STAGES, "sum", "total")}
        for seq in sequences:
            frames, box = loaded[seq]
            timer = run_one(name, frames, box, repeats)
            for s in STAGES:
                per_stage[s] += timer.stage_ms(s)
            per_stage["total"] += timer.total_ms()
            per_stage["sum"] += [sum(f.values()) * 1e3 for f in timer.frames]
            print(f"{name} {seq}: median {statistics.median(timer.total_ms()):.1f} ms/frame")
        table[name] = {s: statistics.median(v) for s, v in per_stage.items()}
        table[name]["frames"] = float(len(per_stage["total"]))
    return table


def _largest_stage(frame: dict[str, float]) -> str:
    return max(STAGES, key=lambda s: frame.get(s, 0.0))


def spikes(
    repeats: int, sequences: list[str] | None = None, name: str = "eco-hc", **overrides: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    gap = int(make_tracker(name, **overrides).config.train_gap)
    if sequences is None:
        sequences = sorted(p.name for p in SEQ_ROOT.iterdir() if p.is_dir())
    for seq in sequences:
        frames, box = load_frames(seq, None)
        timer = run_one(name, frames, box, repeats, **overrides)
        totals = timer.total_ms()
        stats: dict[str, Any] = dict(spike_stats(totals, gap + 1))
        slow = [i for i, t in enumerate(totals) if t > 3 * stats["median_ms"]]
        stats["slow_frames"] = [i + 1 for i in slow][:20]  # frame numbers (init = frame 0)
        stats["slow_stage"] = [_largest_stage(timer.frames[i]) for i in slow[:20]]
        stats["frames"] = len(totals)
        stats["period"] = gap + 1
        out[seq] = stats
        print(
            f"spikes {seq}: median {stats['median_ms']:.1f} ms, p99/med "
            f"{stats['p99_over_median']:.2f}, max/med {stats['max_over_median']:.2f}, "
            f"{int(stats['spikes'])} > 3x, periodic share {stats['periodic_share']:.2f}, "
            f"phase ratio {stats['phase_ratio']:.2f}"
        )
    return out


def to_markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Per-stage profile (single thread)",
        "",
        f"Generated by `benchmarks/profile_stages.py` on {result['machine']}; "
        f"load average at start {result['loadavg_start']}, at end {result['loadavg_end']}. "
        f"Tracker stages timed with the {result['clock']} clock "
        "(cpu: the thread's CPU time, which excludes time other processes held the core).",
        "",
        "## fHOG: one image at a time vs batched (ms per call, fastest of many, same clock)",
        "",
        "| batch | per image (old) | whole batch | `fhog` (chunked) |",
        "|---|---:|---:|---:|",
    ]
    for r in result["hog"]:
        lines.append(
            f"| {r['case']} | {r['per_image_ms']:.2f} | {r['whole_batch_ms']:.2f} "
            f"| {r['fhog_ms']:.2f} |"
        )
    if result.get("profile"):
        lines += [
            "",
            f"## Median ms per frame by stage (first {result['frames']} frames of "
            f"{', '.join(result['sequences'])}, pooled; per frame the fastest of "
            f"{result['repeats']} runs)",
            "",
            "| tracker | " + " | ".join(STAGES) + " | sum of stages | total | frames |",
            "|---|" + "---:|" * (len(STAGES) + 3),
        ]
        for name, row in result["profile"].items():
            cells = " | ".join(f"{row[s]:.2f}" for s in STAGES)
            lines.append(
                f"| {name} | {cells} | {row['sum']:.2f} | {row['total']:.2f} "
                f"| {int(row['frames'])} |"
            )
        lines += [
            "",
            "Stage medians are taken separately, so they need not add up to the median total. "
            "sum of stages: median over frames of the frame's stage times, each the fastest of "
            "the runs; total: median of the fastest whole-frame time.",
        ]
    for key, title in (
        ("spikes", "eco-hc latency spikes (default `spread_cg=True`"),
        ("spikes_reference_schedule", "eco-hc with the reference schedule (`spread_cg=False`"),
    ):
        if not result.get(key):
            continue
        lines += [
            "",
            f"## {title}; all frames of {len(result[key])} shared sequences; per frame the "
            f"fastest of {result['repeats']} runs)",
            "",
            "| sequence | frames | median ms | mean ms | p99/median | max/median "
            "| frames > 3x median | periodic share | phase ratio |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for seq, s in result[key].items():
            lines.append(
                f"| {seq} | {s['frames']} | {s['median_ms']:.1f} | {s.get('mean_ms', 0.0):.1f} "
                f"| {s['p99_over_median']:.2f} "
                f"| {s['max_over_median']:.2f} | {int(s['spikes'])} "
                f"| {s['periodic_share']:.2f} | {s['phase_ratio']:.2f} |"
            )
        lines += [
            "",
            "periodic share: fraction of the > 3x frames on the most common frame index modulo "
            "the training period (train_gap + 1); phase ratio: largest median time of one "
            "residue class over the overall median (1.0 = no periodic extra cost).",
        ]
        slow = {k: v["slow_stage"] for k, v in result[key].items() if v["slow_stage"]}
        if slow:
            lines += ["", "Largest stage in the frames above 3x the median:", ""]
            lines += [
                f"- {k}: frames {result[key][k]['slow_frames']} -> {v}" for k, v in slow.items()
            ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--sequences", nargs="+", default=["Crossing", "Dog", "Vase"])
    ap.add_argument("--trackers", nargs="*", default=["eco-hc", "strcf", "feco"])
    ap.add_argument("--repeats", type=int, default=2, help="runs per sequence (per-frame min)")
    ap.add_argument("--spikes", action="store_true", help="eco-hc spike analysis (slow)")
    ap.add_argument("--no-hog", action="store_true")
    ap.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: this thread's CPU time (robust to other load; = wall time on an idle "
        "machine for single-threaded work); wall: perf_counter",
    )
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args(argv)
    apply_thread_limits(1, import_torch=True)
    CLOCK[0] = args.clock
    if not SEQ_ROOT.is_dir():
        print(f"shared sequences not found at {SEQ_ROOT}", file=sys.stderr)
        return 2
    result: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "loadavg_start": [round(v, 2) for v in os.getloadavg()],
        "frames": args.frames,
        "sequences": args.sequences,
        "repeats": args.repeats,
        "clock": args.clock,
    }
    result["hog"] = [] if args.no_hog else bench_hog()
    result["profile"] = profile_table(args.trackers, args.sequences, args.frames, args.repeats)
    if args.spikes:
        result["spikes"] = spikes(args.repeats)
        # the reference schedule (all CG iterations every train_gap + 1 frames) for contrast
        result["spikes_reference_schedule"] = spikes(
            args.repeats, ["Crossing", "Dog", "Vase"], spread_cg=False
        )
    result["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "profile_stages.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "profile_stages.md").write_text(to_markdown(result))
    print(f"wrote {args.out / 'profile_stages.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
