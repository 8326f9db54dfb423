"""Run and score fastcf's VOT protocols over a dataset (``fastcf eval`` / ``fastcf report``
with ``--protocol vot-supervised|vot-realtime``).

:func:`run_vot` runs every tracker on every sequence under the supervised or real-time
protocol of :mod:`fastcf.evaluation.vot` and writes VOT trajectories
(:mod:`fastcf.io.vot_results`) under ``<results>/<dataset>/<tracker>/<experiment>/``;
:func:`score_vot` reads them back (or the VOT toolkit's own, from a workspace's
``results`` folder) and computes accuracy, failures, robustness and EAO;
:func:`write_vot_report` writes ``report.md``, ``report.json`` and the EAO curve plot.

Each (tracker, sequence) run creates one tracker and re-initialises it after failures.
Runs happen in this process (``workers=1``, threads limited to one) or in ``workers``
spawned single-threaded processes; a tracker that raises fails only its own run (its
error goes to ``errors/<sequence>.txt``).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import multiprocessing
import traceback
from collections.abc import Mapping
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fastcf.datasets.base import Dataset, Sequence
from fastcf.errors import ConfigError, DatasetError
from fastcf.evaluation.threads import apply_thread_limits, limit_threads, single_thread_env
from fastcf.evaluation.vot import (
    RealtimeSettings,
    SupervisedSettings,
    VOTRun,
    VOTScores,
    eao_interval,
    run_supervised,
    score_runs,
)
from fastcf.io.vot_results import error_path, read_run, trajectory_path, write_error, write_run
from fastcf.registry import TrackerEntry, available, create, entry, get_config, register

PROTOCOLS = ("vot-supervised", "vot-realtime")


def experiment_name(realtime: RealtimeSettings | None) -> str:
    """``vot-supervised``, or ``vot-realtime-<fps>fps`` (one folder per input rate)."""
    return "vot-supervised" if realtime is None else f"vot-realtime-{realtime.fps:g}fps"


def image_size(sequence: Sequence) -> tuple[int, int]:
    """``(width, height)`` of a sequence's first frame."""
    first = next(iter(sequence.iter_frames()))
    return int(first.shape[1]), int(first.shape[0])


# --- running -------------------------------------------------------------------------


@dataclass(frozen=True)
class VOTTask:
    index: int
    tracker: str
    entry: TrackerEntry
    overrides: dict[str, Any]
    sequence: Sequence
    settings: SupervisedSettings
    realtime: RealtimeSettings | None


@dataclass
class VOTOutcome:
    tracker: str  # result folder (name + tag)
    sequence: str
    status: str  # done | skipped | failed
    failures: int = 0
    frames: int = 0
    seconds: float = 0.0  # tracker time (all calls)
    error: str = ""


def _run_task(task: VOTTask) -> tuple[int, VOTRun | None, str]:
    try:
        if task.tracker not in available():
            e = task.entry
            register(e.name, e.tracker, e.preset, e.summary, e.reference)
        tracker = create(task.tracker, **task.overrides)
        run = run_supervised(
            tracker,
            task.sequence.iter_frames(),
            task.sequence.ground_truth,
            task.settings,
            task.realtime,
        )
    except Exception as exc:  # noqa: BLE001 - recorded in the errors file
        return task.index, None, f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"
    return task.index, run, ""


def _worker_init() -> None:
    apply_thread_limits(1)


def run_vot(
    trackers: SequenceABC[str],
    dataset: Dataset,
    results_root: str | Path,
    settings: SupervisedSettings | None = None,
    realtime: RealtimeSettings | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    sequences: SequenceABC[str] | None = None,
    tag: str = "",
    resume: bool = True,
    workers: int = 1,
    log: Any = None,
) -> list[VOTOutcome]:
    """Run the VOT protocol; write trajectories; return one outcome per tracker x sequence.

    ``overrides``: ``{"field": v}`` for every tracker, ``{"tracker:field": v}`` for one.
    """
    from fastcf.evaluation.runner import split_overrides

    settings = settings or SupervisedSettings()
    if not trackers:
        raise ConfigError("no trackers given")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    per_tracker = split_overrides(trackers, overrides)
    for name in trackers:
        get_config(name, **per_tracker[name])
    seqs = [dataset[s] for s in sequences] if sequences else list(dataset.sequences)
    root = Path(results_root) / dataset.name
    experiment = experiment_name(realtime)
    outcomes: dict[int, VOTOutcome] = {}
    tasks: list[VOTTask] = []
    meta: dict[int, tuple[str, Sequence]] = {}
    order = 0
    for name in trackers:
        folder = f"{name}_{tag}" if tag else name
        for seq in seqs:
            path = trajectory_path(root, folder, experiment, seq.name)
            if resume and path.is_file() and _complete(path, len(seq)):
                outcomes[order] = VOTOutcome(folder, seq.name, "skipped")
            else:
                tasks.append(
                    VOTTask(order, name, entry(name), per_tracker[name], seq, settings, realtime)
                )
                meta[order] = (folder, seq)
            order += 1

    def handle(index: int, run: VOTRun | None, error: str) -> None:
        folder, seq = meta[index]
        err = error_path(root, folder, experiment, seq.name)
        path = trajectory_path(root, folder, experiment, seq.name)
        if run is None:
            path.unlink(missing_ok=True)
            write_error(err, f"tracker: {folder}\nsequence: {seq.name}\nerror: {error}")
            outcomes[index] = VOTOutcome(folder, seq.name, "failed", error=error.splitlines()[0])
        else:
            err.unlink(missing_ok=True)
            write_run(path, run, realtime=realtime is not None)
            outcomes[index] = VOTOutcome(
                folder, seq.name, "done", run.failures, len(run), float(run.times.sum())
            )
        if log is not None:
            o = outcomes[index]
            log(f"{o.tracker} / {o.sequence}: {o.status}, {o.failures} failures")

    if workers == 1 or len(tasks) <= 1:
        with limit_threads(1):
            for task in tasks:
                handle(*_run_task(task))
    else:
        ctx = multiprocessing.get_context("spawn")
        with single_thread_env(1):
            with cf.ProcessPoolExecutor(
                max_workers=min(workers, len(tasks)), mp_context=ctx, initializer=_worker_init
            ) as pool:
                futures = {pool.submit(_run_task, t): t for t in tasks}
                for fut in cf.as_completed(futures):
                    task = futures[fut]
                    try:
                        handle(*fut.result())
                    except Exception as exc:  # noqa: BLE001 - a worker died
                        handle(task.index, None, f"worker process failed: {exc}")
    return [outcomes[i] for i in sorted(outcomes)]


def _complete(path: Path, frames: int) -> bool:
    try:
        return len([ln for ln in path.read_text().splitlines() if ln.strip()]) == frames
    except OSError:
        return False


# --- scoring -------------------------------------------------------------------------


@dataclass
class VOTReport:
    dataset: str
    experiment: str
    sequences: list[str]
    interval: tuple[int, int]
    scores: list[VOTScores]
    failed: dict[str, list[str]] = field(default_factory=dict)  # tracker -> sequences
    files: list[Path] = field(default_factory=list)


def discover(root: Path, experiment: str) -> list[str]:
    """Tracker folders under ``root`` that hold this experiment."""
    if not root.is_dir():
        raise DatasetError(f"{root}: no results folder")
    names = sorted(p.name for p in root.iterdir() if (p / experiment).is_dir())
    if not names:
        raise DatasetError(f"{root}: no tracker has results for experiment {experiment!r}")
    return names


def score_vot(
    root: str | Path,
    dataset: Dataset,
    experiment: str,
    trackers: SequenceABC[str] | None = None,
    sequences: SequenceABC[str] | None = None,
    interval: tuple[int, int] | None = None,
    burnin: int = 10,
) -> VOTReport:
    """Score the trajectories under ``root/<tracker>/<experiment>/`` (``root`` is
    ``<results>/<dataset>`` for fastcf's runs, ``<workspace>/results`` for the toolkit's).

    Every tracker is scored on the same sequences; a missing or failed run is listed
    in ``failed`` and left out of that tracker's numbers. ``interval`` defaults to
    :func:`fastcf.evaluation.vot.eao_interval` of the scored sequences' lengths.
    """
    base = Path(root)
    names = list(trackers) if trackers else discover(base, experiment)
    seqs = [dataset[s] for s in sequences] if sequences else list(dataset.sequences)
    if interval is None:
        interval = eao_interval([len(s) for s in seqs])
    sizes = {s.name: image_size(s) for s in seqs}
    scores: list[VOTScores] = []
    failed: dict[str, list[str]] = {}
    for name in names:
        rows = []
        for seq in seqs:
            path = trajectory_path(base, name, experiment, seq.name)
            if not path.is_file():
                failed.setdefault(name, []).append(seq.name)
                continue
            run = read_run(path, seq.ground_truth)
            rows.append((seq.name, run, seq.ground_truth, sizes[seq.name]))
        scores.append(score_runs(name, rows, interval, burnin))
    return VOTReport(dataset.name, experiment, [s.name for s in seqs], interval, scores, failed)


# --- writing -------------------------------------------------------------------------


def _num(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def report_to_dict(report: VOTReport) -> dict[str, Any]:
    return {
        "dataset": report.dataset,
        "experiment": report.experiment,
        "sequences": report.sequences,
        "eao_interval": list(report.interval),
        "conventions": {
            "overlap": "pixel overlap after rounding, clipped to the image (VOT toolkit)",
            "accuracy": "tracked frames, 10-frame burn-in after each initialisation; "
            "length-weighted mean over sequences",
            "failures": "frames with zero overlap; re-initialised 5 frames later",
            "robustness": "length-weighted mean of the per-sequence failure counts",
            "eao": "mean of the EAO curve over the interval (inclusive)",
        },
        "trackers": {
            s.tracker: {
                "accuracy": _num(s.accuracy),
                "failures": s.failures,
                "robustness": _num(s.robustness),
                "eao": _num(s.eao),
                "missing": report.failed.get(s.tracker, []),
                "sequences": {
                    q.sequence: {
                        "frames": q.frames,
                        "accuracy": _num(q.accuracy),
                        "accuracy_frames": q.accuracy_frames,
                        "failures": q.failures,
                        "held": q.held,
                    }
                    for q in s.sequences
                },
                "eao_curve": [_num(v) for v in s.curve],
            }
            for s in report.scores
        },
    }


def _fmt(v: float, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if v is not None and math.isfinite(v) else "n/a"


def report_markdown(report: VOTReport) -> str:
    order = sorted(report.scores, key=lambda s: (-np.nan_to_num(s.eao, nan=-1.0), s.tracker))
    low, high = report.interval
    lines = [
        f"# VOT report: {report.dataset}, {report.experiment}",
        "",
        f"{len(report.sequences)} sequences. EAO over lengths {low}..{high}; accuracy and "
        "robustness (failures per sequence) weighted by sequence length; conventions in "
        "docs/vot.md.",
        "",
        "| Tracker | EAO | Accuracy | Robustness | Failures |",
        "|---|---|---|---|---|",
    ]
    for s in order:
        lines.append(
            f"| {s.tracker} | {_fmt(s.eao)} | {_fmt(s.accuracy)} | {_fmt(s.robustness, 2)} "
            f"| {s.failures} |"
        )
    lines += ["", "## Per sequence: accuracy / failures", ""]
    lines.append("| Sequence | " + " | ".join(s.tracker for s in order) + " |")
    lines.append("|---" * (len(order) + 1) + "|")
    for name in report.sequences:
        cells = []
        for s in order:
            q = {x.sequence: x for x in s.sequences}.get(name)
            cells.append("missing" if q is None else f"{_fmt(q.accuracy)} / {q.failures}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    missing = [(t, q) for t, qs in report.failed.items() for q in qs]
    if missing:
        lines += ["", "## Missing or failed runs", ""]
        lines += [f"- {t} / {q}" for t, q in missing]
    return "\n".join(lines) + "\n"


def write_vot_report(report: VOTReport, out_dir: str | Path) -> list[Path]:
    """``report.md``, ``report.json`` and ``eao_curve.png|svg`` into ``out_dir``."""
    from fastcf.evaluation.plots import CurveEntry, plot_curves

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report_to_dict(report), indent=2, allow_nan=False) + "\n")
    md_path = out / "report.md"
    md_path.write_text(report_markdown(report))
    entries = [
        CurveEntry(s.tracker, np.arange(len(s.curve), dtype=np.float64), s.curve, s.eao)
        for s in report.scores
    ]
    files = plot_curves(
        entries,
        out / "eao_curve",
        f"Expected average overlap, {report.experiment} on {report.dataset}",
        "Sequence length (frames)",
        "Expected average overlap",
    )
    report.files = [*files, json_path, md_path]
    return report.files
