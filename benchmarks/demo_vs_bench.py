"""What ``fastcf track --demo`` prints against what ``fastcf bench`` measures on the same
clip (issue 11: within 15 %, no environment variables set) -> demo_vs_bench.md / .json.

    python benchmarks/demo_vs_bench.py [--trackers feco,eco-hc] [--repeats 3]

The demo clip (``fastcf.demo.demo_clip``, 150 frames) is written once as lossless PNG
frames into a temporary folder, so ``fastcf bench folder:...`` reads the same pixels.
Then, ``--repeats`` times and alternating, each as a new process started the way a user
starts it, with every thread variable (``OMP_NUM_THREADS`` ...) removed from its
environment:

* ``fastcf track --demo --tracker T`` (its printed ``throughput ... FPS`` line is parsed);
* ``fastcf bench folder:DIR@x,y,w,h --trackers T`` (the JSON it writes is read).

Both figures are frames / tracking time (init included), decoding excluded. The table
gives the median of the repeats and the ratio track / bench. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRACK_LINE = re.compile(r"throughput ([0-9.]+) FPS")


def clean_env() -> dict[str, str]:
    from fastcf.evaluation.threads import THREAD_ENV_VARS

    return {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}


def write_clip(folder: Path) -> str:
    """The demo frames as PNG files; returns the first box as ``x,y,w,h``."""
    import cv2

    from fastcf.demo import demo_clip

    frames, gt = demo_clip()
    for i, frame in enumerate(frames):
        if not cv2.imwrite(str(folder / f"{i + 1:04d}.png"), frame):
            raise OSError(f"could not write frame {i + 1} into {folder}")
    return ",".join(f"{v:g}" for v in gt[0])


def run_track(tracker: str, out: Path) -> float:
    cmd = [sys.executable, "-m", "fastcf.cli.main", "track", "--demo", "--tracker", tracker]
    cmd += ["--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, env=clean_env(), capture_output=True, text=True, check=False)
    match = TRACK_LINE.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return float(match.group(1))


def run_bench(tracker: str, spec: str, out: Path) -> dict:
    cmd = [sys.executable, "-m", "fastcf.cli.main", "bench", spec, "--trackers", tracker]
    cmd += ["--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, env=clean_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return json.loads(out.read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trackers", default="feco,eco-hc")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    trackers = args.trackers.split(",")
    rows: dict[str, dict] = {}
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "demo"
        clip.mkdir()
        spec = f"folder:{clip}@{write_clip(clip)}"
        for t in trackers:
            track_fps, bench_fps = [], []
            for r in range(args.repeats):
                track_fps.append(run_track(t, Path(tmp) / f"track_{t}_{r}"))
                res = run_bench(t, spec, Path(tmp) / f"bench_{t}_{r}.json")
                bench_fps.append(float(res["results"][t]["overall"]["throughput_fps"]))
                core = res.get("core_speed", {}).get("before", {})
            rows[t] = {
                "track_fps": track_fps,
                "bench_fps": bench_fps,
                "track_median": statistics.median(track_fps),
                "bench_median": statistics.median(bench_fps),
                "core_speed": core,
            }
            rows[t]["ratio"] = rows[t]["track_median"] / rows[t]["bench_median"]
            print(t, rows[t], flush=True)
    load_end = os.getloadavg()
    lines = [
        "# `fastcf track --demo` against `fastcf bench` on the demo clip",
        "",
        f"Regenerate: `python benchmarks/demo_vs_bench.py --trackers {args.trackers} "
        f"--repeats {args.repeats}` ({time.strftime('%Y-%m-%d')}; no thread variables set; "
        f"load average at start {load_start[0]:.2f}, at end {load_end[0]:.2f}, "
        f"{os.cpu_count()} cores). Throughput = frames / tracking time (init included), "
        "decoding excluded; median of the repeats (alternating track, bench).",
        "",
        "| tracker | `track --demo` FPS | `bench` FPS | track / bench | within 15 % "
        "| runs (track; bench) |",
        "|---|---:|---:|---:|---|---|",
    ]
    for t, r in rows.items():
        runs = (
            ", ".join(f"{v:.1f}" for v in r["track_fps"])
            + "; "
            + ", ".join(f"{v:.1f}" for v in r["bench_fps"])
        )
        ok = "yes" if abs(r["ratio"] - 1) <= 0.15 else "NO"
        lines.append(
            f"| {t} | {r['track_median']:.1f} | {r['bench_median']:.1f} | {r['ratio']:.2f} "
            f"| {ok} | {runs} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = HERE / "results" / "demo_vs_bench"
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
