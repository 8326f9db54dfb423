"""The speed protocol: tracker throughput and latency with decoding excluded.

Protocol (what :func:`benchmark` measures, in this order):

1. Every tracker is checked and built once (missing networks, bad overrides) before any
   measurement. A fresh ``spawn`` process is started with ``OMP/MKL/OPENBLAS/...=threads``
   (default 1) in its environment, so that no native pool starts bigger; inside it the
   run-time limits are applied, each tracker gets ``threads`` as its config's ``threads``
   (it scopes its own threads), and the effective counts are read back and stored
   (``threads``; anything above ``threads`` is listed in ``thread_problems``).
2. For each sequence, its first ``frames`` frames are decoded into memory (bounded by
   ``max_decoded_mb``; a sequence cut by that bound is marked ``truncated``). Decoding is
   timed and reported separately, never inside tracker time.
3. For each tracker: create it, time ``init`` on frame 0, then time every ``update`` with
   ``time.perf_counter``.
4. Speed with the one vocabulary of :mod:`fastcf.metrics.speed`, per tracker and
   sequence and overall: **throughput FPS** = frames / tracking time per sequence (init
   included), the mean over sequences as the headline plus the pooled value; latency
   median / p95 / max ms over the update frames (pooled over sequences in ``overall``);
   init ms; decode ms separately.
5. With ``results=``, the per-frame times and boxes are written in the results layout of
   :mod:`fastcf.io.results`, so ``fastcf report`` scores them and recomputes the same
   throughput from the same times.
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
from fastcf.evaluation.calibration import reference_speed
from fastcf.evaluation.preflight import PreparedTracker, prepare_trackers
from fastcf.evaluation.store import save_identity, sequence_record
from fastcf.evaluation.threads import (
    apply_thread_limits,
    check_single_thread,
    effective_threads,
    limit_threads,
    single_thread_env,
)
from fastcf.io.results import result_paths, write_result
from fastcf.metrics.speed import DEFINITIONS, sequence_speed, summarize_speed
from fastcf.registry import TrackerEntry, available, create, entry, register


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
    boxes = np.empty((len(frames), 4), dtype=np.float64)
    oks = np.ones(len(frames), dtype=bool)
    scores = np.ones(len(frames), dtype=np.float64)
    times = np.empty(len(frames), dtype=np.float64)
    t0 = time.perf_counter()
    tracker.init(frames[0], sequence.init_box)
    times[0] = time.perf_counter() - t0
    boxes[0] = sequence.init_box
    for i in range(1, len(frames)):
        at[0] = i
        t0 = time.perf_counter()
        ok, box, score = tracker.update(frames[i])
        times[i] = time.perf_counter() - t0
        boxes[i], oks[i], scores[i] = box, ok, score
    return {"times": times, "boxes": boxes, "oks": oks, "scores": scores}


def _bench_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """Runs in the benchmark process: limit threads, decode, time every tracker."""
    torch_installed = importlib.util.find_spec("torch") is not None
    apply_thread_limits(payload["threads"], import_torch=torch_installed)
    return _measure(payload, expect_env=True)


def _measure(payload: dict[str, Any], expect_env: bool) -> dict[str, Any]:
    quiet: bool = payload["quiet"]
    threads: int = payload["threads"]
    for e in payload["entries"]:
        if e.name not in available():
            register(e.name, e.tracker, e.preset, e.summary, e.reference)
    info = effective_threads(import_torch=importlib.util.find_spec("torch") is not None)
    problems = check_single_thread(info, threads)
    if not expect_env:
        problems = [p for p in problems if "_NUM_THREADS" not in p and "MAXIMUM" not in p]
    trackers: list[str] = payload["trackers"]
    overrides: dict[str, dict[str, Any]] = payload["overrides"]
    core_before = reference_speed()
    decode: dict[str, Any] = {}
    runs: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in trackers}
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
                run = _bench_one(name, overrides[name], seq, frames, at)
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
            run["decode_times"] = np.asarray(dec, dtype=np.float64)
            runs[name][seq.name] = run
            if not quiet:
                sp = sequence_speed(run["times"])
                print(
                    f"  {name} / {seq.name}: throughput {sp.throughput_fps:.1f} FPS "
                    f"(latency p95 {sp.latency_p95_ms:.2f} ms)",
                    file=sys.stderr,
                    flush=True,
                )
        del frames
    return {
        "threads": info,
        "thread_problems": problems,
        "machine": machine_info(),
        "core_speed": {"before": core_before, "after": reference_speed()},
        "decode": decode,
        "runs": runs,
        "errors": errors,
    }


def _tables(runs: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Per tracker: per-sequence speed rows and the overall summary (metrics.speed)."""
    results: dict[str, Any] = {}
    for name, per_seq in runs.items():
        rows = {}
        for seq, run in per_seq.items():
            sp = sequence_speed(run["times"], run["decode_times"])
            rows[seq] = {"updates": int(len(run["times"]) - 1), **sp.to_dict()}
        summary = summarize_speed(
            [r["times"] for r in per_seq.values()], [r["decode_times"] for r in per_seq.values()]
        )
        results[name] = {"sequences": rows, "overall": summary.to_dict()}
    return results


def write_bench_results(
    runs: dict[str, dict[str, dict[str, Any]]],
    prepared: SequenceABC[PreparedTracker],
    dataset: Dataset,
    results_root: str | Path,
    threads: int,
) -> Path:
    """Write the measured runs in the results layout of :mod:`fastcf.io.results` (boxes,
    per-frame times, scores, meta with the fingerprint), so ``fastcf report`` can score
    them and recompute the same speed. Returns ``<results_root>/<dataset>``."""
    root = Path(results_root)
    for p in prepared:
        save_identity(root / dataset.name / p.folder, p.identity)
        for seq_name, run in runs.get(p.name, {}).items():
            seq = dataset[seq_name]
            paths = result_paths(root, dataset.name, p.folder, seq_name)
            record = sequence_record(
                p.identity,
                seq,
                dataset,
                frames=len(run["times"]),
                threads=p.overrides.get("threads", threads),
                tracking_seconds=float(np.sum(run["times"])),
                decode_seconds=float(np.sum(run["decode_times"])),
                source="bench",
            )
            write_result(
                paths,
                seq.to_dataset_convention(run["boxes"]),
                run["times"],
                run["oks"],
                run["scores"],
                meta=record,
            )
    return root / dataset.name


def benchmark(
    trackers: SequenceABC[str],
    dataset: Dataset,
    frames: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    sequences: SequenceABC[str] | None = None,
    max_decoded_mb: float = 2048.0,
    fresh_process: bool = True,
    quiet: bool = False,
    threads: int = 1,
    results: str | Path | None = None,
    tag: str = "",
) -> dict[str, Any]:
    """Measure the speed of ``trackers`` on ``dataset`` (see the module doc).

    ``frames`` limits the frames per sequence (init frame included); ``overrides`` as in
    :func:`fastcf.evaluation.runner.run_experiment`; ``threads``: each tracker's
    ``threads`` and the benchmark process's thread environment (default 1). Every tracker
    is checked and built once before any measurement
    (:func:`~fastcf.evaluation.preflight.prepare_trackers`). With ``results``, the
    measured boxes and per-frame times are also written in the results layout
    (``<results>/<dataset>/<tracker>[_<tag>]/``), so that ``fastcf report`` scores them.
    With ``fresh_process=False`` the measurement runs in this process with torch/OpenCV
    limited to ``threads``, but BLAS pools already started here cannot be shrunk without
    threadpoolctl: use it for tests. A sequence the dataset could not read is listed in
    ``errors`` and the others are measured.
    """
    if frames is not None and frames < 2:
        raise ConfigError(f"frames must be >= 2 (init + at least one update), got {frames}")
    if max_decoded_mb <= 0:
        raise ConfigError(f"max_decoded_mb must be > 0, got {max_decoded_mb}")
    if any(not isinstance(t, str) for t in trackers):
        raise ConfigError("fastcf bench takes registered tracker names")
    prepared = prepare_trackers(trackers, overrides, threads=threads, tag=tag)
    ds = dataset.subset(sequences) if sequences is not None else dataset
    entries: list[TrackerEntry] = [entry(name) for name in trackers]
    payload = {
        "trackers": list(trackers),
        "entries": entries,
        "overrides": {p.name: p.overrides for p in prepared},
        "sequences": list(ds.sequences),
        "frames": frames,
        "max_bytes": int(max_decoded_mb * 2**20),
        "quiet": quiet,
        "threads": threads,
    }
    start = time.perf_counter()
    if fresh_process:
        ctx = multiprocessing.get_context("spawn")
        with single_thread_env(threads), cf.ProcessPoolExecutor(1, mp_context=ctx) as pool:
            measured = pool.submit(_bench_worker, payload).result()
    else:
        with limit_threads(threads):
            measured = _measure(payload, expect_env=False)
    runs = measured.pop("runs")
    for name, reason in ds.broken.items():
        for t in trackers:
            message = f"DatasetError: sequence {name!r} cannot be read: {reason}"
            measured["errors"].append({"tracker": t, "sequence": name, "error": message})
    written = None
    if results is not None:
        written = str(write_bench_results(runs, prepared, ds, results, threads))
    protocol = {
        "threads": threads,
        "fresh_process": fresh_process,
        "frames_per_sequence": frames,
        "max_decoded_mb": max_decoded_mb,
        "timer": "time.perf_counter around init/update only",
        "decoding": "excluded: frames decoded into memory before timing, timed separately",
        **DEFINITIONS,
    }
    return {
        "dataset": ds.name,
        "protocol": protocol,
        **measured,
        "results": _tables(runs),
        "fingerprints": {p.folder: p.identity.fingerprint for p in prepared},
        "results_dir": written,
        "wall_seconds": time.perf_counter() - start,
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def core_speed_text(result: Mapping[str, Any] | None) -> str:
    """The core's reference timings of a :func:`benchmark` result as one phrase ("" when
    the result has none)."""
    core = (result or {}).get("core_speed")
    if not core:
        return ""
    b, a = core["before"], core["after"]
    return (
        "core speed (fixed reference workload, fastest of 5, ms; "
        "`fastcf.evaluation.calibration`): python loop "
        f"{b['python_ms']:.1f} / numpy {b['numpy_ms']:.1f} before the runs, "
        f"{a['python_ms']:.1f} / {a['numpy_ms']:.1f} after"
    )


def to_markdown(result: Mapping[str, Any]) -> str:
    """A markdown report: machine, thread counts, one row per tracker x sequence + overall."""
    m = result["machine"]
    t = result["threads"]
    n = result["protocol"]["threads"]
    lines = [
        f"Speed on `{result['dataset']}`, {m['date']}",
        "",
        f"- CPU: {m['cpu_model']} ({m['logical_cores']} logical cores, "
        f"{m['usable_cores']} usable); {m['platform']}",
        f"- python {m['python']}, numpy {m['numpy']}, torch {m['torch']}, "
        f"opencv {m['opencv']}, fastcf {m['fastcf']}",
        f"- threads: {n} per tracker (torch {t.get('torch')}, opencv {t.get('opencv')}, "
        f"OMP_NUM_THREADS={t['env'].get('OMP_NUM_THREADS')})"
        + ("" if not result["thread_problems"] else f" (WARNING: {result['thread_problems']})"),
        *([f"- {core_speed_text(result)}"] if core_speed_text(result) else []),
        "- throughput = frames / tracking time per sequence (init frame and init time "
        "included), mean over sequences; pooled = all frames / all time; latency = update "
        "frames; decoding excluded (decoded into memory first) and reported separately",
        "",
        "| tracker | sequence | frames | throughput FPS | latency median ms | p95 ms | max ms "
        "| init ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, res in result["results"].items():
        for seq, row in res["sequences"].items():
            lat = row["latency_ms"]
            lines.append(
                f"| {name} | {seq} | {row['frames']} | {_fmt(row['throughput_fps'])} | "
                f"{_fmt(lat['median'], 2)} | {_fmt(lat['p95'], 2)} | {_fmt(lat['max'], 2)} | "
                f"{_fmt(row['init_ms'])} |"
            )
        o = res["overall"]
        lat = o["latency_ms"]
        lines.append(
            f"| **{name}** | **all** ({o['sequences']}; pooled "
            f"{_fmt(o['throughput_fps_pooled'])} FPS) | {o['frames']} | "
            f"**{_fmt(o['throughput_fps'])}** | {_fmt(lat['median'], 2)} | "
            f"{_fmt(lat['p95'], 2)} | {_fmt(lat['max'], 2)} | {_fmt(o['init_ms_median'])} |"
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
