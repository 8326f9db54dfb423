"""Run trackers over a dataset and write one result file set per tracker x sequence.

For each (tracker, sequence) task the tracker is created from its registered preset,
initialised on frame 0 with the sequence's ground-truth box and updated on every later
frame. Per frame the runner records the box (written in the dataset's own convention),
``ok``, ``score`` and the tracker time: ``time.perf_counter`` around ``init``/``update``
only. Frame decoding is timed separately (summary and ``meta/<seq>.json``), never in the
time files. Frame 0's box is the init box and its time is the ``init`` time, as the
got10k toolkit records them. Speeds use :mod:`fastcf.metrics.speed` (throughput =
frames / tracking time).

Before any work: every tracker is checked and built once
(:mod:`fastcf.evaluation.preflight`), and the results already there are compared with
this run's settings (:mod:`fastcf.evaluation.store`): only results of the same
fingerprint are resumed; results of other settings make the run refuse, with a message
saying how to go on.

Tasks run in this process (``workers=1``), in ``workers`` spawned processes, or on a
Ray cluster (``executor="ray"``). Workers only track and return arrays; this process
writes every result file, so workers need the frames but not the results folder. Each
worker process starts with the thread environment of ``threads`` (see
:mod:`fastcf.evaluation.threads`), and each tracker scopes its own ``threads``. A tracker
that raises fails only its own task: the message, frame index and traceback go to
``errors/<seq>.txt`` and the other tasks finish; so does a sequence the dataset reader
could not read (``Dataset.broken``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import queue as queue_module
import time
import traceback
from collections.abc import Callable, Mapping
from collections.abc import Sequence as SequenceABC
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fastcf.datasets.base import Dataset, Sequence
from fastcf.errors import ConfigError
from fastcf.evaluation.preflight import PreparedTracker, prepare_trackers
from fastcf.evaluation.preflight import split_overrides as split_overrides  # re-exported
from fastcf.evaluation.progress import Progress
from fastcf.evaluation.store import (
    SAME,
    conflict_error,
    inspect_result,
    save_identity,
    sequence_record,
)
from fastcf.evaluation.threads import (
    apply_thread_limits,
    limit_threads,
    single_thread_env,
    single_thread_vars,
)
from fastcf.io.results import ResultPaths, result_paths, write_error, write_result
from fastcf.metrics.speed import (
    DEFINITIONS,
    SequenceSpeed,
    SpeedSummary,
    sequence_speed,
    summarize_speed,
)
from fastcf.registry import TrackerEntry, available, create, register

FrameCallback = Callable[[int, float], None]  # (frames tracked since last call, seconds)

EXECUTORS = ("local", "ray")


# --- one tracker on one sequence ------------------------------------------------------


@dataclass
class SequenceTrack:
    """Per-frame output of one tracker on one sequence (boxes 0-based, fastcf convention)."""

    boxes: npt.NDArray[np.float64]  # (N, 4)
    oks: npt.NDArray[np.bool_]  # (N,)
    scores: npt.NDArray[np.float64]  # (N,)
    times: npt.NDArray[np.float64]  # (N,) tracker seconds per frame; [0] is init
    decode_times: npt.NDArray[np.float64]  # (N,) seconds spent decoding each frame


class TrackingFailure(Exception):
    """A tracker or frame error at a known frame, with the frames done before it."""

    def __init__(self, frame: int, cause: BaseException, tb: str, partial: SequenceTrack):
        super().__init__(f"frame {frame}: {type(cause).__name__}: {cause}")
        self.frame = frame
        self.cause = cause
        self.tb = tb
        self.partial = partial


def track_sequence(
    tracker: Any, sequence: Sequence, on_frames: FrameCallback | None = None
) -> SequenceTrack:
    """Run ``tracker`` over ``sequence``; raise :class:`TrackingFailure` naming the frame."""
    boxes: list[tuple[float, float, float, float]] = []
    oks: list[bool] = []
    scores: list[float] = []
    times: list[float] = []
    decodes: list[float] = []

    def partial() -> SequenceTrack:
        return _as_track(boxes, oks, scores, times, decodes)

    frames = iter(sequence.iter_frames())
    index = 0
    while True:
        try:
            t0 = time.perf_counter()
            try:
                frame = next(frames)
            except StopIteration:
                break
            t1 = time.perf_counter()
            if index == 0:
                box = sequence.init_box
                tracker.init(frame, box)
                t2 = time.perf_counter()
                ok, score = True, 1.0
            else:
                result = tracker.update(frame)
                t2 = time.perf_counter()
                ok, box, score = result
            boxes.append(tuple(float(v) for v in box))  # type: ignore[arg-type]
            oks.append(bool(ok))
            scores.append(float(score))
        except Exception as exc:  # noqa: BLE001 - recorded with its frame, never swallowed
            raise TrackingFailure(index, exc, traceback.format_exc(), partial()) from exc
        times.append(t2 - t1)
        decodes.append(t1 - t0)
        if on_frames is not None:
            on_frames(1, t2 - t1)
        index += 1
    if index == 0:
        raise TrackingFailure(
            0, RuntimeError(f"sequence {sequence.name!r} yielded no frames"), "", partial()
        )
    return partial()


def _as_track(
    boxes: list[tuple[float, float, float, float]],
    oks: list[bool],
    scores: list[float],
    times: list[float],
    decodes: list[float],
) -> SequenceTrack:
    return SequenceTrack(
        boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
        oks=np.array(oks, dtype=bool),
        scores=np.array(scores, dtype=np.float64),
        times=np.array(times, dtype=np.float64),
        decode_times=np.array(decodes, dtype=np.float64),
    )


# --- tasks and outcomes ---------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One tracker on one sequence; picklable so that it can run in another process
    (unless ``instance`` holds a caller's tracker object: in-process only)."""

    index: int
    tracker: str  # registered name (or the label of a tracker object)
    entry: TrackerEntry | None  # so that user-registered trackers also work in fresh processes
    overrides: dict[str, Any]
    sequence: Sequence
    instance: Any = None


@dataclass
class TaskResult:
    """What a worker sends back: the track, or the failure."""

    index: int
    track: SequenceTrack | None
    error: str = ""
    error_frame: int | None = None
    details: str = ""
    partial: SequenceTrack | None = None


@dataclass(frozen=True)
class SequenceOutcome:
    tracker: str  # result folder name (tracker name, plus the tag if any)
    sequence: str
    status: str  # "done" | "skipped" (complete result of the same settings) | "failed"
    frames: int = 0  # frames tracked, including the init frame
    init_seconds: float = 0.0
    track_seconds: float = 0.0  # init + all updates
    decode_seconds: float = 0.0
    error: str = ""
    error_frame: int | None = None
    times: npt.NDArray[np.float64] | None = field(default=None, compare=False, repr=False)
    decode_times: npt.NDArray[np.float64] | None = field(default=None, compare=False, repr=False)

    @property
    def speed(self) -> SequenceSpeed:
        """Throughput, latency, init and decode of this run (unknown unless done)."""
        if self.status != "done" or self.times is None:
            return SequenceSpeed.unknown()
        return sequence_speed(self.times, self.decode_times)

    @property
    def fps(self) -> float:
        """Throughput FPS of this run (frames / tracking time); NaN unless done."""
        return self.speed.throughput_fps


@dataclass
class ExperimentSummary:
    dataset: str
    results_root: Path
    outcomes: list[SequenceOutcome] = field(default_factory=list)
    wall_seconds: float = 0.0
    threads: int = 1
    fingerprints: dict[str, str] = field(default_factory=dict)  # result folder -> fingerprint

    @property
    def failed(self) -> list[SequenceOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def results_dir(self) -> Path:
        """``<results_root>/<dataset>``: where the tracker folders are."""
        return self.results_root / self.dataset

    def speed(self, tracker: str) -> SpeedSummary:
        """Speed of the sequences run now (done) by result folder ``tracker``."""
        done = [o for o in self.outcomes if o.tracker == tracker and o.status == "done"]
        return summarize_speed([o.times for o in done], [o.decode_times for o in done])

    def by_tracker(self) -> dict[str, dict[str, Any]]:
        """Per result folder: counts, frames tracked now and their speed (done tasks)."""
        table: dict[str, dict[str, Any]] = {}
        for o in self.outcomes:
            row = table.setdefault(o.tracker, {"done": 0, "skipped": 0, "failed": 0, "frames": 0})
            row[o.status] += 1
            if o.status == "done":
                row["frames"] += o.frames
        for name, row in table.items():
            row["speed"] = self.speed(name)
        return table

    def to_dict(self) -> dict[str, Any]:
        trackers = {}
        for name, row in self.by_tracker().items():
            trackers[name] = {**row, "speed": row["speed"].to_dict()}
            if name in self.fingerprints:
                trackers[name]["fingerprint"] = self.fingerprints[name]
        sequences = []
        for o in self.outcomes:
            d = {k: v for k, v in asdict(o).items() if k not in ("times", "decode_times")}
            sequences.append(d | {"speed": o.speed.to_dict()})
        return {
            "dataset": self.dataset,
            "results_root": str(self.results_root),
            "wall_seconds": self.wall_seconds,
            "threads": self.threads,
            "speed_definitions": DEFINITIONS,
            "trackers": trackers,
            "sequences": sequences,
        }


def run_task(task: Task, on_frames: FrameCallback | None = None) -> TaskResult:
    """Create the tracker and run it over the sequence; never raises for tracker errors."""
    try:
        if task.instance is not None:
            tracker = task.instance
        else:
            if task.tracker not in available() and task.entry is not None:
                e = task.entry
                register(e.name, e.tracker, e.preset, e.summary, e.reference)
            tracker = create(task.tracker, **task.overrides)
    except Exception as exc:  # noqa: BLE001
        return TaskResult(
            task.index,
            None,
            f"cannot create tracker {task.tracker!r}: {type(exc).__name__}: {exc}",
            0,
            traceback.format_exc(),
        )
    try:
        track = track_sequence(tracker, task.sequence, on_frames)
    except TrackingFailure as failure:
        return TaskResult(
            task.index,
            None,
            f"{type(failure.cause).__name__}: {failure.cause}",
            failure.frame,
            failure.tb,
            failure.partial,
        )
    return TaskResult(task.index, track)


# --- executors ------------------------------------------------------------------------

_WORKER_QUEUE: Any = None


def _init_worker(progress_queue: Any, threads: int) -> None:
    global _WORKER_QUEUE
    _WORKER_QUEUE = progress_queue
    apply_thread_limits(threads)


def _worker_run(task: Task) -> TaskResult:
    pending = [0, 0.0, time.monotonic()]

    def tick(frames: int, seconds: float) -> None:
        pending[0] += frames
        pending[1] += seconds
        now = time.monotonic()
        if _WORKER_QUEUE is not None and now - pending[2] > 0.25:
            _WORKER_QUEUE.put((task.index, pending[0], pending[1]))
            pending[:] = [0, 0.0, now]

    return run_task(task, tick)


def _ray_worker_run(task: Task, threads: int) -> TaskResult:
    apply_thread_limits(threads)
    return run_task(task)


def _run_inprocess(
    tasks: list[Task], handle: Callable[[TaskResult], None], progress: Progress, threads: int
) -> None:
    with limit_threads(threads):
        for task in tasks:
            handle(run_task(task, progress.add_frames))


def _run_processes(
    tasks: list[Task],
    workers: int,
    handle: Callable[[TaskResult], None],
    progress: Progress,
    threads: int,
) -> None:
    ctx = multiprocessing.get_context("spawn")
    ticks: Any = ctx.Queue()
    reported: dict[int, tuple[int, float]] = {}
    finished: set[int] = set()

    def drain() -> None:
        while True:
            try:
                index, frames, seconds = ticks.get_nowait()
            except queue_module.Empty:
                return
            if index in finished:
                continue
            f, s = reported.get(index, (0, 0.0))
            reported[index] = (f + frames, s + seconds)
            progress.add_frames(frames, seconds)

    # The environment must be in place when the children start, before they import
    # numpy/torch/cv2: spawned children copy os.environ at start.
    with single_thread_env(threads):
        with cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(ticks, threads),
        ) as pool:
            futures = {pool.submit(_worker_run, t): t for t in tasks}
            pending = set(futures)
            while pending:
                done, pending = cf.wait(pending, timeout=0.25, return_when=cf.FIRST_COMPLETED)
                drain()
                for fut in sorted(done, key=lambda f: futures[f].index):
                    task = futures[fut]
                    finished.add(task.index)
                    f, s = reported.pop(task.index, (0, 0.0))
                    try:
                        result = fut.result()
                    except Exception as exc:  # noqa: BLE001 - worker died (crash, OOM)
                        result = TaskResult(
                            task.index,
                            None,
                            f"worker process failed: {type(exc).__name__}: {exc}",
                            None,
                            traceback.format_exc(),
                        )
                    if result.track is not None:
                        n = len(result.track.times)
                        progress.add_frames(n - f, float(result.track.times.sum()) - s)
                    handle(result)
    ticks.close()


def _run_ray(
    tasks: list[Task],
    workers: int,
    address: str | None,
    handle: Callable[[TaskResult], None],
    progress: Progress,
    threads: int,
) -> None:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "executor 'ray' needs Ray, which is not installed: pip install 'fastcf[ray]'"
        ) from None
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "runtime_env": {"env_vars": single_thread_vars(threads)},
            "log_to_driver": False,
        }
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = workers * threads
        ray.init(**kwargs)
        started = True
    try:
        remote = ray.remote(num_cpus=threads, max_retries=0)(_ray_worker_run)
        refs = {remote.remote(t, threads): t for t in tasks}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            task = refs[done[0]]
            try:
                result = ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - worker died or could not run
                result = TaskResult(
                    task.index, None, f"ray task failed: {type(exc).__name__}: {exc}", None
                )
            if result.track is not None:
                progress.add_frames(len(result.track.times), float(result.track.times.sum()))
            handle(result)
    finally:
        if started:
            ray.shutdown()


# --- the experiment -------------------------------------------------------------------


def _error_text(tracker: str, sequence: str, result: TaskResult) -> str:
    frame = "unknown" if result.error_frame is None else str(result.error_frame)
    lines = [
        f"tracker: {tracker}",
        f"sequence: {sequence}",
        f"frame: {frame}",
        f"error: {result.error}",
    ]
    if result.details:
        lines += ["", result.details.rstrip()]
    return "\n".join(lines)


def run_experiment(
    trackers: SequenceABC[Any],
    dataset: Dataset,
    results_root: str | Path,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    resume: bool = True,
    overrides: Mapping[str, Any] | None = None,
    sequences: SequenceABC[str] | None = None,
    tag: str = "",
    quiet: bool = False,
    threads: int = 1,
    overwrite_changed: bool = False,
) -> ExperimentSummary:
    """Run every tracker on every sequence of ``dataset`` and write the result files.

    ``trackers``: registered names (or tracker objects, run in this process only).
    ``overrides`` are config fields (``"field"`` for all trackers, ``"tracker:field"`` for
    one); ``threads`` becomes each tracker's ``threads`` field (and the worker processes'
    thread environment). Results go to ``<results_root>/<dataset.name>/<tracker>[_<tag>]/``.

    Before any work, every tracker is checked and constructed once
    (:func:`~fastcf.evaluation.preflight.prepare_trackers`) and the existing results are
    inspected: with ``resume``, complete results of the same settings (fingerprint) and
    sequence are skipped, and results of other settings make the run refuse with a
    :class:`ConfigError` saying how to proceed, unless ``overwrite_changed`` (then only
    those are re-run). ``resume=False`` re-runs everything. A sequence the dataset could
    not read (``dataset.broken``) fails alone, with its reason. Returns a summary whose
    ``failed`` list names every task that raised.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    prepared = prepare_trackers(trackers, overrides, threads=threads, tag=tag)
    if any(p.instance is not None for p in prepared) and (workers > 1 or executor == "ray"):
        raise ConfigError(
            "tracker objects run in this process only: use workers=1 (or register the "
            "tracker with fastcf.register and pass its name)"
        )
    ds = dataset.subset(sequences) if sequences is not None else dataset
    seqs = list(ds.sequences)
    root = Path(results_root)
    start = time.perf_counter()

    # --- plan: what exists, what runs, what conflicts (nothing is written yet) ---
    order: list[tuple[str, str]] = []
    outcomes: dict[tuple[str, str], SequenceOutcome] = {}
    todo: list[tuple[PreparedTracker, Sequence, ResultPaths]] = []
    conflicts = []
    for p in prepared:
        for seq in seqs:
            paths = result_paths(root, ds.name, p.folder, seq.name)
            order.append((p.folder, seq.name))
            existing = inspect_result(paths, p.identity, seq)
            if resume and existing.state == SAME:
                outcomes[(p.folder, seq.name)] = SequenceOutcome(p.folder, seq.name, "skipped")
            elif resume and existing.conflict and not overwrite_changed:
                conflicts.append((p.folder, paths.tracker_dir, p.identity, seq.name, existing))
            else:
                todo.append((p, seq, paths))
        for name in ds.broken:
            order.append((p.folder, name))
    if conflicts:
        raise conflict_error(conflicts)

    # --- run ---
    for p in prepared:
        save_identity(root / ds.name / p.folder, p.identity)
        for name, reason in ds.broken.items():
            paths = result_paths(root, ds.name, p.folder, name)
            message = f"DatasetError: sequence {name!r} cannot be read: {reason}"
            write_error(paths, f"tracker: {p.folder}\nsequence: {name}\nframe: unknown\n"
                        f"error: {message}")  # fmt: skip
            outcomes[(p.folder, name)] = SequenceOutcome(
                p.folder, name, "failed", error=message, error_frame=None
            )
    tasks: list[Task] = []
    task_meta: dict[int, tuple[PreparedTracker, Sequence, ResultPaths]] = {}
    for p, seq, paths in todo:
        index = len(tasks)
        tasks.append(Task(index, p.name, p.entry, p.overrides, seq, p.instance))
        task_meta[index] = (p, seq, paths)

    def handle(result: TaskResult) -> None:
        p, seq, paths = task_meta[result.index]
        if result.track is not None:
            track = result.track
            record = sequence_record(
                p.identity,
                seq,
                ds,
                frames=len(track.times),
                threads=p.overrides.get("threads", threads),
                tracking_seconds=float(track.times.sum()),
                decode_seconds=float(track.decode_times.sum()),
            )
            write_result(
                paths,
                seq.to_dataset_convention(track.boxes),
                track.times,
                track.oks,
                track.scores,
                meta=record,
            )
            outcome = SequenceOutcome(
                p.folder,
                seq.name,
                "done",
                frames=len(track.times),
                init_seconds=float(track.times[0]),
                track_seconds=float(track.times.sum()),
                decode_seconds=float(track.decode_times.sum()),
                times=track.times,
                decode_times=track.decode_times,
            )
        else:
            write_error(paths, _error_text(p.folder, seq.name, result))
            done = result.partial
            outcome = SequenceOutcome(
                p.folder,
                seq.name,
                "failed",
                frames=0 if done is None else len(done.times),
                track_seconds=0.0 if done is None else float(done.times.sum()),
                decode_seconds=0.0 if done is None else float(done.decode_times.sum()),
                error=result.error,
                error_frame=result.error_frame,
            )
        outcomes[(p.folder, seq.name)] = outcome
        progress.task_done(failed=outcome.status == "failed")

    progress = Progress(len(order), quiet=quiet, desc=f"eval {ds.name}")
    try:
        for key in order:
            if key in outcomes:  # skipped, or a broken sequence
                progress.task_done(failed=outcomes[key].status == "failed")
        if tasks:
            if executor == "ray":
                _run_ray(tasks, workers, address, handle, progress, threads)
            elif workers == 1 or len(tasks) == 1:
                _run_inprocess(tasks, handle, progress, threads)
            else:
                _run_processes(tasks, min(workers, len(tasks)), handle, progress, threads)
    finally:
        progress.close()
    return ExperimentSummary(
        ds.name,
        root,
        [outcomes[key] for key in order],
        time.perf_counter() - start,
        threads,
        {p.folder: p.identity.fingerprint for p in prepared},
    )
