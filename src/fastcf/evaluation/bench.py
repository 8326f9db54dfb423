"""The speed protocol: single-thread tracker FPS with decoding excluded.

Protocol (what :func:`benchmark` measures, in this order):

1. A fresh ``spawn`` process is started with ``OMP/MKL/OPENBLAS/...=1`` in its
   environment, so that no native pool starts with more than one thread; inside it
   ``torch.set_num_threads(1)`` and ``cv2.setNumThreads(1)`` are applied and the effective
   counts are read back and stored (``threads``; anything above 1 is listed in
   ``thread_problems``).
2. For each sequence, its first ``frames`` frames are decoded into memory (bounded by
   ``max_decoded_mb``; a sequence cut by that bound is marked ``truncated``). Decoding is
   timed and reported separately, never inside tracker time.
3. For each tracker: create it, time ``init`` on frame 0 (reported as ``init_ms``), then
   time every ``update`` with ``time.perf_counter`` (per-frame latency).
4. Per tracker and sequence, and overall (all update latencies of the tracker pooled):
   ``fps_median = 1000 / p50`` latency, ``fps_mean`` = updates / total update seconds,
   latency ``p50``/``p95``/``max``/``mean`` in milliseconds. Overall also gives the median
   of the per-sequence ``fps_median`` values.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime
import importlib.util
import json
import multiprocessing
import os
import platform
import sys
import time
import traceback
from collections.abc import Mapping
from collections.abc import Sequence as SequenceABC
from pathlib import Path
from typing import Any

import numpy as np

from fastcf.api import Frame
from fastcf.datasets.base import Dataset, Sequence
from fastcf.errors import ConfigError
from fastcf.evaluation.threads import (
    apply_thread_limits,
    check_single_thread,
    effective_threads,
    limit_threads,
    single_thread_env,
)
from fastcf.registry import TrackerEntry, available, create, entry, get_config, register


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else what platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _physical_cores() -> int | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    cores = set()
    phys = core = ""
    for line in text.splitlines() + [""]:
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            phys = value.strip()
        elif key == "core id":
            core = value.strip()
        elif not line.strip() and core:
            cores.add((phys, core))
            phys = core = ""
    return len(cores) or None


def _version(module: str) -> str | None:
    if module in sys.modules:
        return str(getattr(sys.modules[module], "__version__", "unknown"))
    if importlib.util.find_spec(module) is None:
        return None
    mod = __import__(module)
    return str(getattr(mod, "__version__", "unknown"))


def machine_info() -> dict[str, Any]:
    """CPU, core counts, library versions and the date (UTC) of this process."""
    import fastcf

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": _physical_cores(),
        "usable_cores": affinity,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "torch": _version("torch"),
        "opencv": _version("cv2"),
        "fastcf": fastcf.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def latency_stats(seconds: SequenceABC[float] | np.ndarray) -> dict[str, float]:
    """p50/p95/max/mean in milliseconds and the FPS derived from them (NaN when empty)."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    if ms.size == 0:
        nan = float("nan")
        return {"p50": nan, "p95": nan, "max": nan, "mean": nan, "fps_median": nan, "fps_mean": nan}
    p50, p95 = np.percentile(ms, [50, 95])
    mean = float(ms.mean())
    return {
        "p50": float(p50),
        "p95": float(p95),
        "max": float(ms.max()),
        "mean": mean,
        "fps_median": 1000.0 / float(p50) if p50 > 0 else float("inf"),
        "fps_mean": 1000.0 / mean if mean > 0 else float("inf"),
    }


def decode_frames(
    sequence: Sequence, max_frames: int | None, max_bytes: int
) -> tuple[list[Frame], list[float], bool]:
    """Decode up to ``max_frames`` frames into memory, at most ``max_bytes`` in all.

    Returns the frames, the decode seconds per frame and whether the memory bound cut
    the sequence short.
    """
    frames: list[Frame] = []
    seconds: list[float] = []
    used = 0
    limit = len(sequence) if max_frames is None else min(max_frames, len(sequence))
    it = iter(sequence.iter_frames())
    truncated = False
    while len(frames) < limit:
        t0 = time.perf_counter()
        try:
            frame = next(it)
        except StopIteration:
            break
        seconds.append(time.perf_counter() - t0)
        if used + frame.nbytes > max_bytes:
            truncated = True
            break
        used += frame.nbytes
        frames.append(frame)
    return frames, seconds[: len(frames)], truncated


def _bench_one(
    name: str,
    overrides: dict[str, Any],
    sequence: Sequence,
    frames: list[Frame],
    at: list[int],
) -> dict[str, Any]:
    at[0] = 0
    tracker = create(name, **overrides)
    t0 = time.perf_counter()
    tracker.init(frames[0], sequence.init_box)
    init = time.perf_counter() - t0
    latencies = np.empty(len(frames) - 1, dtype=np.float64)
    for i in range(1, len(frames)):
        at[0] = i
        t0 = time.perf_counter()
        tracker.update(frames[i])
        latencies[i - 1] = time.perf_counter() - t0
    stats = latency_stats(latencies)
    return {
        "frames": len(frames),
        "updates": int(latencies.size),
        "init_ms": init * 1000.0,
        "update_seconds": float(latencies.sum()),
        "fps_median": stats.pop("fps_median"),
        "fps_mean": stats.pop("fps_mean"),
        "latency_ms": stats,
        "_latencies": latencies,
    }


def _bench_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """Runs in the benchmark process: limit threads, decode, time every tracker."""
    torch_installed = importlib.util.find_spec("torch") is not None
    apply_thread_limits(1, import_torch=torch_installed)
    return _measure(payload, expect_env=True)


def _measure(payload: dict[str, Any], expect_env: bool) -> dict[str, Any]:
    quiet: bool = payload["quiet"]
    for e in payload["entries"]:
        if e.name not in available():
            register(e.name, e.tracker, e.preset, e.summary, e.reference)
    threads = effective_threads(import_torch=importlib.util.find_spec("torch") is not None)
    problems = check_single_thread(threads)
    if not expect_env:
        problems = [p for p in problems if "_NUM_THREADS" not in p and "MAXIMUM" not in p]
    trackers: list[str] = payload["trackers"]
    overrides: dict[str, dict[str, Any]] = payload["overrides"]
    decode: dict[str, Any] = {}
    per: dict[str, dict[str, Any]] = {t: {} for t in trackers}
    pooled: dict[str, list[np.ndarray]] = {t: [] for t in trackers}
    errors: list[dict[str, Any]] = []
    for seq in payload["sequences"]:
        frames, dec, truncated = decode_frames(seq, payload["frames"], payload["max_bytes"])
        decode[seq.name] = {
            "frames": len(frames),
            "seconds": float(sum(dec)),
            "ms_per_frame": 1000.0 * float(np.mean(dec)) if dec else float("nan"),
            "megabytes": sum(f.nbytes for f in frames) / 2**20,
            "truncated": truncated,
        }
        if len(frames) < 2:
            for name in trackers:
                msg = f"only {len(frames)} frame(s) decoded; need at least 2"
                errors.append({"tracker": name, "sequence": seq.name, "error": msg})
            continue
        for name in trackers:
            at = [0]
            try:
                row = _bench_one(name, overrides[name], seq, frames, at)
            except Exception as exc:  # noqa: BLE001 - reported per tracker and sequence
                errors.append(
                    {
                        "tracker": name,
                        "sequence": seq.name,
                        "frame": at[0],
                        "error": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc(),
                    }
                )
                continue
            pooled[name].append(row.pop("_latencies"))
            per[name][seq.name] = row
            if not quiet:
                print(
                    f"  {name} / {seq.name}: {row['fps_median']:.1f} fps "
                    f"(p95 {row['latency_ms']['p95']:.2f} ms)",
                    file=sys.stderr,
                    flush=True,
                )
        del frames
    results: dict[str, Any] = {}
    for name in trackers:
        lat = np.concatenate(pooled[name]) if pooled[name] else np.zeros(0)
        stats = latency_stats(lat)
        seq_fps = [row["fps_median"] for row in per[name].values()]
        results[name] = {
            "sequences": per[name],
            "overall": {
                "sequences": len(per[name]),
                "updates": int(lat.size),
                "init_ms_median": float(np.median([r["init_ms"] for r in per[name].values()]))
                if per[name]
                else float("nan"),
                "fps_median": stats.pop("fps_median"),
                "fps_mean": stats.pop("fps_mean"),
                "fps_median_of_sequences": float(np.median(seq_fps)) if seq_fps else float("nan"),
                "latency_ms": stats,
            },
        }
    return {
        "threads": threads,
        "thread_problems": problems,
        "machine": machine_info(),
        "decode": decode,
        "results": results,
        "errors": errors,
    }


def benchmark(
    trackers: SequenceABC[str],
    dataset: Dataset,
    frames: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    sequences: SequenceABC[str] | None = None,
    max_decoded_mb: float = 2048.0,
    fresh_process: bool = True,
    quiet: bool = False,
) -> dict[str, Any]:
    """Measure single-thread speed of ``trackers`` on ``dataset`` (see the module doc).

    ``frames`` limits the frames per sequence (init frame included); ``overrides`` as in
    :func:`fastcf.evaluation.runner.run_experiment`. With ``fresh_process=False`` the
    measurement runs in this process with torch/OpenCV limited to one thread, but BLAS
    pools already started here cannot be shrunk without threadpoolctl: use it for tests.
    """
    from fastcf.evaluation.runner import split_overrides

    if not trackers:
        raise ConfigError("no trackers given")
    if frames is not None and frames < 2:
        raise ConfigError(f"frames must be >= 2 (init + at least one update), got {frames}")
    if max_decoded_mb <= 0:
        raise ConfigError(f"max_decoded_mb must be > 0, got {max_decoded_mb}")
    per_tracker = split_overrides(trackers, overrides)
    for name in trackers:
        get_config(name, **per_tracker[name])
    seqs = list(dataset.sequences)
    if sequences is not None:
        seqs = [dataset[name] for name in sequences]
    entries: list[TrackerEntry] = [entry(name) for name in trackers]
    payload = {
        "trackers": list(trackers),
        "entries": entries,
        "overrides": per_tracker,
        "sequences": seqs,
        "frames": frames,
        "max_bytes": int(max_decoded_mb * 2**20),
        "quiet": quiet,
    }
    start = time.perf_counter()
    if fresh_process:
        ctx = multiprocessing.get_context("spawn")
        with single_thread_env(1), cf.ProcessPoolExecutor(1, mp_context=ctx) as pool:
            measured = pool.submit(_bench_worker, payload).result()
    else:
        with limit_threads(1):
            measured = _measure(payload, expect_env=False)
    protocol = {
        "threads": 1,
        "fresh_process": fresh_process,
        "frames_per_sequence": frames,
        "max_decoded_mb": max_decoded_mb,
        "timer": "time.perf_counter around init/update only",
        "decoding": "excluded: frames decoded into memory before timing, timed separately",
        "fps_median": "1000 / median update latency (ms)",
        "fps_mean": "updates / total update seconds",
        "overall": "all update latencies of a tracker pooled over sequences",
    }
    return {
        "dataset": dataset.name,
        "protocol": protocol,
        **measured,
        "wall_seconds": time.perf_counter() - start,
    }


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def to_markdown(result: Mapping[str, Any]) -> str:
    """A markdown report: machine, thread counts, one row per tracker x sequence + overall."""
    m = result["machine"]
    t = result["threads"]
    lines = [
        f"Speed on `{result['dataset']}`, {m['date']}",
        "",
        f"- CPU: {m['cpu_model']} ({m['logical_cores']} logical cores, "
        f"{m['usable_cores']} usable); {m['platform']}",
        f"- python {m['python']}, numpy {m['numpy']}, torch {m['torch']}, "
        f"opencv {m['opencv']}, fastcf {m['fastcf']}",
        f"- threads: torch {t.get('torch')}, opencv {t.get('opencv')}, "
        f"OMP_NUM_THREADS={t['env'].get('OMP_NUM_THREADS')}"
        + ("" if not result["thread_problems"] else f" (WARNING: {result['thread_problems']})"),
        "- decoding excluded (decoded into memory first); init timed separately; "
        "FPS med = 1000 / p50 latency",
        "",
        "| tracker | sequence | frames | init ms | FPS med | FPS mean | p50 ms | p95 ms | max ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, res in result["results"].items():
        for seq, row in res["sequences"].items():
            lat = row["latency_ms"]
            lines.append(
                f"| {name} | {seq} | {row['frames']} | {_fmt(row['init_ms'])} | "
                f"{_fmt(row['fps_median'])} | {_fmt(row['fps_mean'])} | {_fmt(lat['p50'], 2)} | "
                f"{_fmt(lat['p95'], 2)} | {_fmt(lat['max'], 2)} |"
            )
        o = res["overall"]
        lat = o["latency_ms"]
        lines.append(
            f"| **{name}** | **overall** | {o['updates'] + o['sequences']} | "
            f"{_fmt(o['init_ms_median'])} | **{_fmt(o['fps_median'])}** | {_fmt(o['fps_mean'])} | "
            f"{_fmt(lat['p50'], 2)} | {_fmt(lat['p95'], 2)} | {_fmt(lat['max'], 2)} |"
        )
    lines += ["", "| sequence | decoded frames | decode ms/frame | MB | truncated |"]
    lines.append("|---|---:|---:|---:|---|")
    for seq, d in result["decode"].items():
        lines.append(
            f"| {seq} | {d['frames']} | {_fmt(d['ms_per_frame'], 2)} | "
            f"{_fmt(d['megabytes'])} | {'yes' if d['truncated'] else 'no'} |"
        )
    if result["errors"]:
        lines += ["", "Errors:"]
        lines += [
            f"- {e['tracker']} / {e['sequence']} at frame {e.get('frame', '?')}: {e['error']}"
            for e in result["errors"]
        ]
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


def save(result: Mapping[str, Any], path: str | Path) -> tuple[Path, Path]:
    """Write the result as JSON (non-finite numbers as null) and the markdown beside it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_jsonable(dict(result)), indent=2, allow_nan=False) + "\n")
    md = out.with_suffix(".md")
    md.write_text(to_markdown(result))
    return out, md
