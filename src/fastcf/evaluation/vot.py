"""VOT protocols and measures: supervised (reset-based) and real-time runs, accuracy,
failures / robustness and the expected average overlap (EAO).

Definitions follow the VOT challenge papers (Kristan et al., "A novel performance
evaluation methodology for single-target trackers", TPAMI 2016; VOT2015-VOT2019 reports)
and the conventions of the VOT toolkit (``vot-toolkit`` 0.9, read for reference):

* **Overlap** (:func:`vot_overlap`): the overlap of the pixel sets the two rectangles
  cover, after rounding ``x, y, w, h`` to integers (NumPy rounding, half to even) and
  clipping to the image, so a box ``(x, y, w, h)`` covers the pixels ``x .. x + w - 1``.
  Two empty regions overlap 1, one empty region 0.
* **Supervised run** (:func:`run_supervised`): the tracker is initialised on frame 0
  with the ground truth; every later frame's box is compared with the ground truth and a
  frame with overlap ``<= failure_overlap`` (0: no overlap at all) is a **failure**: the
  tracker is re-initialised (``init`` again, with the ground truth) ``skip`` frames later
  (5). Frames in between are not run. Frames whose ground truth is unknown (NaN, e.g.
  the target is out of view) are never failures; a re-initialisation due on such a frame
  moves to the next frame with a known box (the VOT toolkit has no unknown frames).
* **Real-time run** (``realtime=RealtimeSettings(fps)``): the same supervised run, with
  frame ``k`` arriving at ``k / fps`` seconds. The tracker's calls take the time measured
  on them (``clock``, ``time.perf_counter`` by default; decoding excluded). A frame that
  arrives while the tracker is still busy with an earlier call is not given to the
  tracker and keeps the last box the tracker produced ("zero-order hold"); the processed
  frame gets its own result even when its call overran the frame interval. The first
  ``grace`` calls after each (re-)initialisation that take longer than one frame interval
  (the initialisation included) are forgiven: the tracker counts as free at the next
  frame (VOT's real-time experiments use ``grace = 3``). This is stricter than the VOT
  toolkit's real-time runtime, which holds a frame only once the tracker is more than one
  whole interval behind (docs/vot.md).
* **Accuracy** (:func:`sequence_accuracy`): mean overlap over the tracked frames,
  leaving out failure frames, frames not run, frames with unknown ground truth and the
  ``burnin`` frames (10) starting at each initialisation (the initialisation frame
  included). A sequence with no such frame has accuracy 0.
* **Failures**: the number of failure frames. The dataset-level **robustness** is the
  sequence-length-weighted mean of the per-sequence failure counts, and the accuracy is
  the length-weighted mean of the per-sequence accuracies (the toolkit's aggregation).
* **EAO** (:func:`eao_curve`, :func:`eao_score`): every initialisation starts a segment
  that ends just before the next failure (a *failed* segment) or at the end of the
  sequence (a *completed* segment). ``Φ_N`` of a segment is the mean overlap of its
  frames ``1 .. N`` (frame 0 is the initialisation, left out); a failed segment continues
  with overlap 0 after its end, a completed one has no ``Φ_N`` past its length. The EAO
  curve at ``N`` averages ``Φ_N`` over the segments that have it, for ``N`` up to one
  less than the longest segment's frame count (where the toolkit's curve ends), and the
  EAO score averages the curve over ``N = low .. high`` (inclusive), or over the part of
  that interval the curve covers. Unknown ground truth frames are left out of ``Φ_N``'s
  mean.
* **EAO interval** (:func:`eao_interval`): VOT's sequence-length interval: around the
  mode of a Gaussian kernel density estimate of the sequence lengths, the shortest range
  of lengths holding half of the density's mass.

All boxes are 0-based ``x, y, w, h`` (:mod:`fastcf.api`); VOT coordinates are the same.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from fastcf.errors import ConfigError

# Per-frame states; the first three are the VOT toolkit's trajectory codes.
NOT_RUN = 0  # skipped after a failure (the toolkit's "unknown" code 0)
INITIALIZATION = 1
FAILURE = 2
TRACKED = 3  # a box; written as the box itself in VOT trajectory files

Clock = Callable[[], float]


@dataclass(frozen=True)
class SupervisedSettings:
    """``skip``: frames after a failure before the re-initialisation (VOT: 5).
    ``failure_overlap``: an overlap at or below it is a failure (VOT: 0).
    ``burnin``: frames from each initialisation left out of the accuracy (VOT: 10)."""

    skip: int = 5
    failure_overlap: float = 0.0
    burnin: int = 10

    def __post_init__(self) -> None:
        if isinstance(self.skip, bool) or not isinstance(self.skip, int) or self.skip < 1:
            raise ConfigError(f"skip must be an integer >= 1, got {self.skip!r}")
        if not 0.0 <= float(self.failure_overlap) < 1.0:
            raise ConfigError(f"failure_overlap must be in [0, 1), got {self.failure_overlap}")
        if isinstance(self.burnin, bool) or not isinstance(self.burnin, int) or self.burnin < 0:
            raise ConfigError(f"burnin must be an integer >= 0, got {self.burnin!r}")


@dataclass(frozen=True)
class RealtimeSettings:
    """``fps``: the input frame rate (frame ``k`` arrives at ``k / fps`` s).
    ``grace``: slow calls forgiven after each (re-)initialisation (VOT: 3)."""

    fps: float = 20.0
    grace: int = 3

    def __post_init__(self) -> None:
        if not (isinstance(self.fps, int | float) and math.isfinite(self.fps) and self.fps > 0):
            raise ConfigError(f"fps must be a number > 0, got {self.fps!r}")
        if isinstance(self.grace, bool) or not isinstance(self.grace, int) or self.grace < 0:
            raise ConfigError(f"grace must be an integer >= 0, got {self.grace!r}")

    @property
    def interval(self) -> float:
        """Seconds between two frames."""
        return 1.0 / float(self.fps)


@dataclass
class VOTRun:
    """One tracker's run on one sequence under a VOT protocol (arrays of N frames).

    ``states``: :data:`NOT_RUN` / :data:`INITIALIZATION` / :data:`FAILURE` /
    :data:`TRACKED`. ``boxes``: ``(N, 4)`` 0-based ``x, y, w, h``; the ground truth on
    initialisation frames, the tracker's (or, held, its last) box on tracked and failure
    frames, NaN on frames not run. ``scores``: the tracker's confidence (NaN where it gave
    none). ``times``: seconds of the tracker's own call on the frame (0 where it was not
    called). ``held``: real-time runs only, frames that kept the last box.
    """

    states: npt.NDArray[np.int8]
    boxes: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]
    times: npt.NDArray[np.float64]
    held: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.states)

    @property
    def failures(self) -> int:
        return int(np.count_nonzero(self.states == FAILURE))

    @property
    def initializations(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.states == INITIALIZATION)

    @classmethod
    def empty(cls, n: int) -> VOTRun:
        return cls(
            states=np.zeros(n, dtype=np.int8),
            boxes=np.full((n, 4), np.nan),
            scores=np.full(n, np.nan),
            times=np.zeros(n),
            held=np.zeros(n, dtype=bool),
        )


# --- overlap ---------------------------------------------------------------------------


def _pixel_span(
    start: npt.NDArray[np.float64], length: npt.NDArray[np.float64], limit: float | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """First and last covered pixel index (inclusive) after rounding and clipping."""
    first = np.round(start)
    last = first + np.round(length) - 1.0
    if limit is not None:
        first = np.maximum(first, 0.0)
        last = np.minimum(last, limit - 1.0)
    return first, last


def vot_overlaps(
    boxes: npt.ArrayLike,
    ground_truth: npt.ArrayLike,
    image_size: tuple[int, int] | None = None,
) -> npt.NDArray[np.float64]:
    """Per-row VOT overlap of ``(N, 4)`` boxes with ``(N, 4)`` ground truth.

    ``image_size`` is ``(width, height)``; pixels outside it do not count (the VOT
    toolkit's bounded overlap). Rows with a NaN in the ground truth give NaN; a NaN box
    (no output) against a known ground truth gives 0.
    """
    a = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    if a.shape != b.shape:
        raise ValueError(f"{len(a)} boxes but {len(b)} ground-truth rows")
    width = None if image_size is None else float(image_size[0])
    height = None if image_size is None else float(image_size[1])
    a_nan = np.asarray(np.isnan(a).any(axis=1), dtype=bool)
    b_nan = np.asarray(np.isnan(b).any(axis=1), dtype=bool)
    a = np.where(a_nan[:, None], 0.0, a)
    b = np.where(b_nan[:, None], 0.0, b)
    ax0, ax1 = _pixel_span(a[:, 0], a[:, 2], width)
    ay0, ay1 = _pixel_span(a[:, 1], a[:, 3], height)
    bx0, bx1 = _pixel_span(b[:, 0], b[:, 2], width)
    by0, by1 = _pixel_span(b[:, 1], b[:, 3], height)
    area_a = np.maximum(ax1 - ax0 + 1, 0) * np.maximum(ay1 - ay0 + 1, 0)
    area_b = np.maximum(bx1 - bx0 + 1, 0) * np.maximum(by1 - by0 + 1, 0)
    area_a = np.where(a_nan, 0.0, area_a)
    iw = np.maximum(np.minimum(ax1, bx1) - np.maximum(ax0, bx0) + 1, 0)
    ih = np.maximum(np.minimum(ay1, by1) - np.maximum(ay0, by0) + 1, 0)
    inter = np.where(a_nan, 0.0, iw * ih)
    union = area_a + area_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 1.0)
    out = np.where((union <= 0) & (area_a + area_b > 0), 0.0, out)
    out[b_nan] = np.nan
    return out


def vot_overlap(
    box: Sequence[float], ground_truth: Sequence[float], image_size: tuple[int, int] | None = None
) -> float:
    """VOT overlap of one box with one ground-truth box (see :func:`vot_overlaps`)."""
    return float(vot_overlaps([box], [ground_truth], image_size)[0])


# --- the runs ------------------------------------------------------------------------


def run_supervised(
    tracker: Any,
    frames: Any,
    ground_truth: npt.ArrayLike,
    settings: SupervisedSettings | None = None,
    realtime: RealtimeSettings | None = None,
    *,
    clock: Clock = time.perf_counter,
) -> VOTRun:
    """Run ``tracker`` (the :class:`fastcf.api.Tracker` protocol) over ``frames`` (an
    iterable of frames) under the supervised protocol, or the real-time one when
    ``realtime`` is given. ``ground_truth`` is ``(N, 4)``, 0-based, NaN where unknown.

    The same tracker object is re-initialised after each failure (``init`` again), as the
    VOT toolkit does with a TraX tracker. Tracker and frame errors propagate.
    """
    s = settings or SupervisedSettings()
    gt = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    n = len(gt)
    run = VOTRun.empty(n)
    known = np.asarray(~np.isnan(gt).any(axis=1), dtype=bool)
    next_init = 0  # the frame of the next (re-)initialisation; -1 while tracking
    size: tuple[int, int] | None = None
    interval = realtime.interval if realtime else 0.0
    busy_until = 0.0  # real-time: when the tracker's current call ends
    grace_left = 0
    last_box: tuple[float, float, float, float] = (math.nan,) * 4
    last_score = math.nan
    count = 0
    for k, frame in enumerate(frames):
        if k >= n:
            raise ConfigError(f"more frames than the {n} ground-truth rows")
        count += 1
        if size is None:
            size = (int(frame.shape[1]), int(frame.shape[0]))
        arrival = k * interval
        if next_init >= 0:
            if k < next_init:
                continue  # NOT_RUN
            if not known[k]:
                next_init = k + 1
                continue
            box0 = tuple(float(v) for v in gt[k])
            t0 = clock()
            tracker.init(frame, box0)
            cost = clock() - t0
            run.states[k] = INITIALIZATION
            run.boxes[k] = box0
            run.scores[k] = 1.0
            run.times[k] = cost
            last_box, last_score = box0, 1.0  # type: ignore[assignment]
            next_init = -1
            if realtime:
                grace_left = realtime.grace
                busy_until, grace_left = _finish(arrival, cost, interval, grace_left)
            continue
        if realtime and arrival < busy_until - 1e-9:
            box, score = last_box, last_score
            run.held[k] = True
        else:
            t0 = clock()
            _, box_out, score_out = tracker.update(frame)
            cost = clock() - t0
            run.times[k] = cost
            box = tuple(float(v) for v in box_out)  # type: ignore[assignment]
            score = float(score_out)
            last_box, last_score = box, score
            if realtime:
                busy_until, grace_left = _finish(arrival, cost, interval, grace_left)
        run.boxes[k] = box
        run.scores[k] = score
        if known[k] and vot_overlap(box, gt[k], size) <= s.failure_overlap:
            run.states[k] = FAILURE
            next_init = k + s.skip
        else:
            run.states[k] = TRACKED
    if count != n:
        raise ConfigError(f"{count} frames for {n} ground-truth rows")
    return run


def _finish(arrival: float, cost: float, interval: float, grace_left: int) -> tuple[float, int]:
    """When the tracker is free again after a call that started at ``arrival``."""
    if cost > interval and grace_left > 0:
        return arrival, grace_left - 1  # forgiven: free for the next frame
    return arrival + cost, grace_left


# --- measures ------------------------------------------------------------------------


def run_overlaps(
    run: VOTRun, ground_truth: npt.ArrayLike, image_size: tuple[int, int]
) -> npt.NDArray[np.float64]:
    """Overlap of each frame's box with the ground truth: NaN where the ground truth is
    unknown, 0 on frames not run and on failure frames whose box is missing."""
    gt = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    return vot_overlaps(run.boxes, gt, image_size)


def accuracy_mask(run: VOTRun, ground_truth: npt.ArrayLike, burnin: int = 10) -> npt.NDArray:
    """Frames that enter the accuracy (see the module docstring)."""
    gt = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    mask = (run.states == TRACKED) & ~np.isnan(gt).any(axis=1)
    for i in run.initializations:
        mask[i : i + burnin] = False
    return mask


def sequence_accuracy(
    run: VOTRun, ground_truth: npt.ArrayLike, image_size: tuple[int, int], burnin: int = 10
) -> tuple[float, int]:
    """(accuracy, frames it averages); ``(0.0, 0)`` when no frame qualifies."""
    mask = accuracy_mask(run, ground_truth, burnin)
    if not mask.any():
        return 0.0, 0
    overlaps = run_overlaps(run, ground_truth, image_size)
    return float(np.mean(overlaps[mask])), int(np.count_nonzero(mask))


@dataclass
class Segment:
    """Overlaps of one segment from its initialisation frame (index 0) on."""

    overlaps: npt.NDArray[np.float64]  # NaN where the ground truth is unknown
    failed: bool


def segments(run: VOTRun, overlaps: npt.ArrayLike) -> list[Segment]:
    """The run cut into segments at its initialisations (see the module docstring)."""
    o = np.asarray(overlaps, dtype=np.float64)
    inits = run.initializations
    fails = np.flatnonzero(run.states == FAILURE)
    out: list[Segment] = []
    for i, start in enumerate(inits):
        end_limit = inits[i + 1] if i + 1 < len(inits) else len(run)
        later = fails[(fails > start) & (fails < end_limit)]
        if len(later):
            out.append(Segment(o[start : later[0]].copy(), True))
        else:
            out.append(Segment(o[start:end_limit].copy(), False))
    return out


def eao_curve(all_segments: Sequence[Segment], max_length: int | None = None) -> npt.NDArray:
    """``curve[N]`` = expected average overlap of segments of length ``N`` (``N >= 1``;
    ``curve[0]`` is NaN), for ``N`` up to ``max_length``. The default, one less than the
    longest segment's frame count, is where the VOT toolkit's curve ends; a larger
    ``max_length`` extends it with the failed segments alone. NaN where no segment
    qualifies."""
    longest = max((len(s.overlaps) for s in all_segments), default=0)
    top = max(longest - 1, 1) if max_length is None else int(max_length)
    if not all_segments:
        return np.full(top + 1, np.nan)
    num = np.zeros(top + 1)
    den = np.zeros(top + 1)
    for seg in all_segments:
        length = len(seg.overlaps)
        o = np.zeros(top + 1)
        valid = np.zeros(top + 1)
        body = seg.overlaps[1 : min(length, top + 1)]
        known = ~np.isnan(body)
        o[1 : 1 + len(body)] = np.where(known, body, 0.0)
        valid[1 : 1 + len(body)] = known
        if seg.failed:
            valid[length:] = 1.0  # zero overlap after the failure
        csum_o = np.cumsum(o)
        csum_v = np.cumsum(valid)
        with np.errstate(invalid="ignore", divide="ignore"):
            phi = np.where(csum_v > 0, csum_o / np.where(csum_v > 0, csum_v, 1.0), np.nan)
        has = np.zeros(top + 1, dtype=bool)
        has[1:] = True if seg.failed else np.arange(1, top + 1) < length
        has &= ~np.isnan(phi)
        num[has] += phi[has]
        den[has] += 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    curve[0] = np.nan
    return curve


def eao_score(curve: npt.ArrayLike, low: int, high: int) -> float:
    """Mean of ``curve[low .. high]`` (inclusive), over the part the curve covers (as the
    VOT toolkit does when the interval reaches past its curve), NaN entries left out."""
    c = np.asarray(curve, dtype=np.float64)
    if not 1 <= low <= high:
        raise ConfigError(f"EAO interval must satisfy 1 <= low <= high, got [{low}, {high}]")
    part = c[low : high + 1]
    part = part[~np.isnan(part)]
    return float(np.mean(part)) if len(part) else math.nan


def eao_interval(lengths: Sequence[int]) -> tuple[int, int]:
    """VOT's EAO interval ``(low, high)`` for a dataset with these sequence lengths.

    A Gaussian KDE (SciPy, Scott's bandwidth) of the lengths is evaluated at every length
    ``1 .. max``; starting from its mode, the interval grows one length at a time towards
    the side of higher density until it holds half of the mass. With fewer than two
    distinct lengths the KDE is undefined and the interval is ``[1, max]``.
    """
    values = np.asarray([int(v) for v in lengths], dtype=np.float64)
    if len(values) == 0 or np.any(values < 1):
        raise ConfigError(f"sequence lengths must be >= 1, got {list(lengths)}")
    top = int(values.max())
    if len(np.unique(values)) < 2:
        return 1, top
    from scipy.stats import gaussian_kde

    grid = np.arange(1, top + 1, dtype=np.float64)
    density = gaussian_kde(values)(grid)
    density = density / density.sum()
    lo = hi = int(np.argmax(density))
    mass = density[lo]
    while mass < 0.5 and (lo > 0 or hi < top - 1):
        left = density[lo - 1] if lo > 0 else -1.0
        right = density[hi + 1] if hi < top - 1 else -1.0
        if right >= left:
            hi += 1
            mass += density[hi]
        else:
            lo -= 1
            mass += density[lo]
    return int(grid[lo]), int(grid[hi])


# --- a dataset's worth ----------------------------------------------------------------


@dataclass
class SequenceScore:
    sequence: str
    frames: int
    accuracy: float
    accuracy_frames: int
    failures: int
    held: int = 0  # real-time: frames that kept the last box


@dataclass
class VOTScores:
    """One tracker's VOT measures over a set of sequences."""

    tracker: str
    sequences: list[SequenceScore]
    accuracy: float  # length-weighted mean of the per-sequence accuracies
    failures: int  # total
    robustness: float  # length-weighted mean of the per-sequence failure counts
    eao: float
    eao_interval: tuple[int, int]
    curve: npt.NDArray[np.float64] = field(repr=False)


def score_runs(
    tracker: str,
    runs: Sequence[tuple[str, VOTRun, npt.ArrayLike, tuple[int, int]]],
    interval: tuple[int, int],
    burnin: int = 10,
) -> VOTScores:
    """Measures of one tracker from ``(sequence name, run, ground truth, (w, h))`` rows."""
    per: list[SequenceScore] = []
    all_segments: list[Segment] = []
    for name, run, gt, size in runs:
        acc, used = sequence_accuracy(run, gt, size, burnin)
        per.append(
            SequenceScore(name, len(run), acc, used, run.failures, int(np.count_nonzero(run.held)))
        )
        all_segments += segments(run, run_overlaps(run, gt, size))
    weights = np.array([s.frames for s in per], dtype=np.float64)
    total = float(weights.sum()) if len(per) else 0.0
    accuracy = float(np.dot(weights, [s.accuracy for s in per]) / total) if total else math.nan
    robustness = float(np.dot(weights, [s.failures for s in per]) / total) if total else math.nan
    low, high = interval
    curve = eao_curve(all_segments)
    return VOTScores(
        tracker=tracker,
        sequences=per,
        accuracy=accuracy,
        failures=int(sum(s.failures for s in per)),
        robustness=robustness,
        eao=eao_score(curve, low, high),
        eao_interval=(low, high),
        curve=curve,
    )
