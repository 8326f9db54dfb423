"""The speed a user gets, before and after each change of the update schedule and init
(issue 11) -> benchmarks/results/speed_stages.{md,json}.

    python benchmarks/speed_stages.py [--frames N] [--init-sequences 34] [--no-threads2]

1. **Init by stage**: ``fastcf.evaluation.profile.profile_init`` on the first frame of every
   development sequence (one thread, a fresh tracker each), median ms per stage, for the
   reference init (10 Gauss-Newton x 20 CG) and the shorter ones.
2. **Throughput and latency**: ``fastcf bench`` (one fresh process, one thread, decoding
   excluded), all rows side by side in one run: ``feco`` (its default is ECO's reference
   CG schedule and init), each candidate change alone (the spread CG schedule, a shorter
   init), and ``eco-hc``; then ``feco`` and ``eco-hc`` with 2 threads.
3. **Accuracy** of the same rows (AUC over the 34 sequences, results in
   ``benchmarks/raw/schedule``), so that the speed can be read against it.
   ``--accuracy-only`` runs (or resumes) these and stops.

Numbers depend on the machine and its load: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

from devset import HERE, Variant, dev_dataset, evaluate

REFERENCE = {"spread_cg": "false", "init_gn_iter": "10", "init_cg_iter": "200"}
ROWS = {  # name -> (label, feco overrides); the default is the reference schedule
    "feco": ("feco (the default: reference CG schedule, init 10 x 20)", {}),
    "sp-spread": ("+ spread CG", {**REFERENCE, "spread_cg": "true"}),
    "sp-init": ("+ init 5 x 20", {**REFERENCE, "init_gn_iter": "5", "init_cg_iter": "100"}),
}


def init_profile(names: list[str], sequences: int) -> dict[str, dict[str, float]]:
    """Median ms per init stage of each variant over the first frames of the sequences."""
    import fastcf
    from fastcf.evaluation.profile import profile_init

    dataset = dev_dataset(max_frames=1)
    out: dict[str, dict[str, float]] = {}
    for name in names:
        stages: dict[str, list[float]] = {}
        for seq in list(dataset)[:sequences]:
            frame = next(iter(seq.frames))
            tracker = fastcf.create(name)
            ms = profile_init(tracker, frame, tuple(seq.ground_truth[0]), time.thread_time)
            for k, v in ms.items():
                stages.setdefault(k, []).append(v)
        out[name] = {k: statistics.median(v) for k, v in stages.items()}
    return out


def speed(names: list[str], threads: int, frames: int | None) -> dict[str, Any]:
    from fastcf.evaluation import benchmark

    res = benchmark(names, dev_dataset(), frames=frames, quiet=True, threads=threads)
    out = {}
    for name in names:
        o = res["results"][name]["overall"]
        ratios = [
            (r["latency_ms"]["p95"] / r["latency_ms"]["median"],
             r["latency_ms"]["max"] / r["latency_ms"]["median"])
            for r in res["results"][name]["sequences"].values()
            if r["latency_ms"]["median"]
        ]  # fmt: skip
        out[name] = {
            "throughput_fps": o["throughput_fps"],
            "median_ms": o["latency_ms"]["median"],
            "p95_ms": o["latency_ms"]["p95"],
            "max_ms": o["latency_ms"]["max"],
            "init_ms": o["init_ms_median"],
            "worst_p95_ratio": max(r[0] for r in ratios),
            "worst_max_ratio": max(r[1] for r in ratios),
            "sequences_max_over_3x": sum(r[1] > 3 for r in ratios),
        }
    return {"rows": out, "machine": res["machine"], "load": os.getloadavg(),
            "core_speed": res.get("core_speed")}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--frames", type=int, default=None, help="frames per sequence (speed)")
    ap.add_argument("--init-sequences", type=int, default=34)
    ap.add_argument("--no-threads2", action="store_true")
    ap.add_argument("--workers", type=int, default=1, help="accuracy runs")
    ap.add_argument("--accuracy-only", action="store_true")
    args = ap.parse_args()
    variants = [Variant(n, "feco", o) for n, (_, o) in ROWS.items() if n != "feco"]
    variants.insert(0, Variant("feco", "feco"))
    variants.append(Variant("eco-hc", "eco-hc"))
    names = [v.name for v in variants]
    acc = evaluate(variants, dev_dataset(), HERE / "raw" / "schedule", workers=args.workers)
    if args.accuracy_only:
        print("\n".join(f"{n}: AUC {acc[n]['auc']:.3f}" for n in names))
        return 0
    from fastcf.evaluation.bench import core_speed_text

    init = init_profile(list(ROWS), args.init_sequences)
    one = speed(names, 1, args.frames)
    two = None if args.no_threads2 else speed(["feco", "eco-hc"], 2, args.frames)
    labels = {**{n: lab for n, (lab, _) in ROWS.items()}, "eco-hc": "eco-hc"}
    stages = sorted({k for v in init.values() for k in v} - {"total"}) + ["total"]
    lines = [
        "# Speed before and after the schedule and init changes (34 development sequences)",
        "",
        "Regenerate: `python benchmarks/speed_stages.py"
        + (f" --frames {args.frames}" if args.frames else "")
        + "` (idle machine).",
        f"Machine: {one['machine'].get('cpu_model', '?')}; load average during the 1-thread "
        f"speed run: {', '.join(f'{x:.1f}' for x in one['load'])}.",
        f"1-thread speed run: {core_speed_text(one) or 'core speed not recorded'}.",
        "",
        "## Throughput, latency, accuracy (1 thread, `fastcf bench`, decoding excluded)",
        "",
        "Throughput = frames / tracking time per sequence (init included), mean over "
        "sequences. Latency over update frames, pooled. Worst seq.: the largest per-sequence "
        "ratio; targets (issue 11): p95 <= 1.6x and max <= 3x the median on every sequence, "
        "init <= 150 ms, `feco` >= 60 FPS, `eco-hc` >= 150 FPS.",
        "",
        "| row | AUC (34) | throughput FPS | median ms | p95 ms | max ms | worst seq. p95/median "
        "| worst seq. max/median | sequences with max > 3x median | init ms (median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        r = one["rows"][n]
        auc = acc[n]["auc"]
        lines.append(
            f"| {labels[n]} | {auc:.3f} | {r['throughput_fps']:.1f} | {r['median_ms']:.1f} "
            f"| {r['p95_ms']:.1f} | {r['max_ms']:.0f} | {r['worst_p95_ratio']:.2f} "
            f"| {r['worst_max_ratio']:.1f} | {r['sequences_max_over_3x']} | {r['init_ms']:.0f} |"
        )
    lines += [
        "",
        "## Init by stage (ms, median over the first frames of the 34 sequences, thread CPU "
        "time, one thread)",
        "",
        "| row | " + " | ".join(stages) + " |",
        "|---|" + "---:|" * len(stages),
    ]
    for n, v in init.items():
        cells = " | ".join(f"{v.get(s, 0.0):.0f}" for s in stages)
        lines.append(f"| {labels[n]} | {cells} |")
    if two is not None:
        lines += [
            "",
            "## 1 against 2 threads (`fastcf bench --threads`, same machine, one run each)",
            "",
            "| tracker | threads | throughput FPS | median ms | p95 ms | init ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for n in ("feco", "eco-hc"):
            for t, res in ((1, one), (2, two)):
                r = res["rows"][n]
                lines.append(
                    f"| {n} | {t} | {r['throughput_fps']:.1f} | {r['median_ms']:.1f} "
                    f"| {r['p95_ms']:.1f} | {r['init_ms']:.0f} |"
                )
    text = "\n".join(lines) + "\n"
    (HERE / "results" / "speed_stages.md").write_text(text)
    payload = {"accuracy": {n: acc[n]["auc"] for n in acc}, "init_ms": init,
               "threads1": one, "threads2": two}  # fmt: skip
    (HERE / "results" / "speed_stages.json").write_text(json.dumps(payload, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
