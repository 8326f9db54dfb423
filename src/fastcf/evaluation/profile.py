"""Per-frame time by stage for fastcf's CF trackers, opt-in and without hooks in the trackers.

:func:`attach` wraps a handful of a tracker *instance's* methods (instance attributes that
shadow the class's, plus, for ECO, the patch sampler it calls) with :class:`StageTimer`
sections; :func:`detach` restores them. Nothing changes for trackers that are not attached,
so the normal path pays nothing. Sections nest and each stage gets its *exclusive* time
(its own time minus that of the sections inside it), so the stages of a frame add up to
the frame's total ``update`` time.

Stages (the same names for every tracker; a stage a tracker lacks stays 0):

``features``
    patch sampling and feature extraction (for STRCF also the training patch).
``fft``
    what turns feature maps into interpolated spectra: projection, cosine window, FFT,
    interpolation (ECO's ``_sample_fourier`` minus the two above; STRCF's ``_spectra``
    minus extraction).
``detect``
    response (correlation, summation over blocks and scales), inverse FFT and Newton
    refinement: the tracker's ``_update`` minus every other stage.
``scale``
    ECO's fDSST scale filter: its own 17 fHOG samples, track and update.
``update``
    the model update: ECO's sample-space update and conjugate gradient (``_train``),
    STRCF's ADMM (``_train`` minus its features and FFT).
``other``
    ``update()`` minus everything above: input validation in ``BaseTracker``.

This module imports nothing heavy.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: Stage names in report order.
STAGES = ("features", "fft", "detect", "scale", "update", "other")


@dataclass
class _Open:
    name: str
    start: float
    children: float = 0.0


@dataclass
class StageTimer:
    """Nested, exclusive-time stage timer.

    ``with timer.section(name):`` blocks may nest; on leaving one, its time minus that of
    the sections opened inside it is added to ``name`` for the current frame. When the
    outermost section closes, the frame's per-stage times (seconds) are appended to
    ``frames`` and its wall time to ``totals``.
    """

    clock: Callable[[], float] = time.perf_counter
    frames: list[dict[str, float]] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)
    _stack: list[_Open] = field(default_factory=list)
    _current: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        opened = _Open(name, self.clock())
        self._stack.append(opened)
        try:
            yield
        finally:
            elapsed = self.clock() - opened.start
            self._stack.pop()
            self._current[name] = self._current.get(name, 0.0) + elapsed - opened.children
            if self._stack:
                self._stack[-1].children += elapsed
            else:
                self.frames.append(self._current)
                self.totals.append(elapsed)
                self._current = {}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` timed as section ``name``."""

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.section(name):
                return fn(*args, **kwargs)

        timed.__wrapped_stage__ = name  # type: ignore[attr-defined]
        return timed

    def stage_ms(self, name: str) -> list[float]:
        """Per-frame milliseconds spent in stage ``name`` (0 in frames without it)."""
        return [f.get(name, 0.0) * 1e3 for f in self.frames]

    def total_ms(self) -> list[float]:
        return [t * 1e3 for t in self.totals]

    def medians_ms(self) -> dict[str, float]:
        """Median per-frame milliseconds of every stage in :data:`STAGES` and ``total``."""
        if not self.frames:
            return {}
        out = {s: statistics.median(self.stage_ms(s)) for s in STAGES}
        out["total"] = statistics.median(self.total_ms())
        return out


def min_over_runs(timers: list[StageTimer]) -> StageTimer:
    """Frame-by-frame minimum of repeated runs of the same (deterministic) tracking.

    On a shared machine other processes preempt ours for whole scheduler slices (a few ms),
    which lands in a random stage; the minimum over repeats removes most of that. Each
    stage and the total are minimised separately, so a frame's stages may sum to less
    than its total.
    """
    if not timers:
        raise ValueError("min_over_runs: no timers")
    n = len(timers[0].frames)
    if any(len(t.frames) != n for t in timers):
        raise ValueError(f"min_over_runs: runs differ in length: {[len(t.frames) for t in timers]}")
    out = StageTimer()
    for i in range(n):
        names = set().union(*(t.frames[i] for t in timers))
        out.frames.append({s: min(t.frames[i].get(s, 0.0) for t in timers) for s in names})
        out.totals.append(min(t.totals[i] for t in timers))
    return out


# (owner path, attribute, stage): owner path "" is the tracker itself, "features" its
# feature extractor, and so on. Applied in order; missing owners (no scale filter) skip.
_ECO_HOOKS = (
    ("", "update", "other"),
    ("", "_update", "detect"),
    ("", "_sample_fourier", "fft"),
    ("features", "extract", "features"),
    ("scale_filter", "track", "scale"),
    ("scale_filter", "update", "scale"),
    ("space", "update", "update"),
    ("", "_train", "update"),
)
_STRCF_HOOKS = (
    ("", "update", "other"),
    ("", "_update", "detect"),
    ("", "_patches", "features"),
    ("", "_spectra", "fft"),
    ("features", "extract", "features"),
    ("", "_train", "update"),
)


def _hooks_for(tracker: Any) -> tuple[tuple[str, str, str], ...]:
    from fastcf.trackers.eco.tracker import ECOTracker
    from fastcf.trackers.strcf.tracker import STRCF

    if isinstance(tracker, ECOTracker):
        return _ECO_HOOKS
    if isinstance(tracker, STRCF):
        return _STRCF_HOOKS
    raise TypeError(
        f"profile.attach: no stage map for {type(tracker).__name__}; "
        "supported: ECOTracker (eco, eco-hc, feco, ...) and STRCF (strcf, deepstrcf, ...)"
    )


def attach(tracker: Any, timer: StageTimer | None = None) -> StageTimer:
    """Time ``tracker``'s stages from now on; call after ``tracker.init`` (ECO and STRCF
    build their feature stack, sample space and scale filter there). Returns the timer."""
    if getattr(tracker, "_stage_patches", None):
        raise RuntimeError("profile.attach: this tracker is already attached")
    timer = timer if timer is not None else StageTimer()
    patches: list[tuple[Any, str, Any, bool]] = []  # (owner, attr, old value, had own)
    for owner_path, attr, stage in _hooks_for(tracker):
        owner = tracker
        for part in filter(None, owner_path.split(".")):
            owner = getattr(owner, part, None)
        if owner is None:
            continue
        fn = getattr(owner, attr, None)
        if not callable(fn):
            raise RuntimeError(
                f"profile.attach: {type(tracker).__name__}.{owner_path or 'self'}.{attr} "
                "is missing or not callable (the tracker changed: update the stage map in "
                "fastcf/evaluation/profile.py)"
            )
        own = attr in vars(owner)
        patches.append((owner, attr, vars(owner).get(attr), own))
        setattr(owner, attr, timer.wrap(stage, fn))
    module_patch = _patch_eco_sampler(tracker, timer)
    tracker._stage_patches = (patches, module_patch)
    return timer


def _patch_eco_sampler(tracker: Any, timer: StageTimer) -> tuple[Any, Any] | None:
    """ECO samples its patches with the module-level ``sample_patch`` inside
    ``_sample_fourier``: time it as ``features`` while attached."""
    from fastcf.trackers.eco import tracker as eco_module

    if not isinstance(tracker, eco_module.ECOTracker):
        return None
    old = eco_module.sample_patch
    if getattr(old, "__wrapped_stage__", None) is None:
        eco_module.sample_patch = timer.wrap("features", old)  # type: ignore[assignment]
        return (eco_module, old)
    return None


def detach(tracker: Any) -> None:
    """Undo :func:`attach` (restores the wrapped attributes)."""
    state = getattr(tracker, "_stage_patches", None)
    if not state:
        return
    patches, module_patch = state
    for owner, attr, old, own in reversed(patches):
        if own:
            setattr(owner, attr, old)
        else:
            delattr(owner, attr)
    if module_patch is not None:
        module, old = module_patch
        module.sample_patch = old
    del tracker._stage_patches


@contextmanager
def profiled(tracker: Any) -> Iterator[StageTimer]:
    """``with profiled(tracker) as timer:`` attach for the block, detach after."""
    timer = attach(tracker)
    try:
        yield timer
    finally:
        detach(tracker)


def spike_stats(times_ms: list[float], period: int) -> dict[str, float]:
    """Latency spikes of a per-frame time series: median, p99 and max over the median,
    and how periodic the slow frames are.

    ``periodic_share`` is the fraction of frames above ``3 * median`` whose index falls on
    the most common residue modulo ``period`` (1.0: all spikes every ``period`` frames;
    about ``1 / period`` for spikes at random). ``phase_ratio`` is the largest ratio of a
    residue class's median time to the overall median: a periodic extra cost shows as a
    phase_ratio well above 1 even when it stays below the 3x threshold.
    """
    if not times_ms:
        raise ValueError("spike_stats: empty time series")
    if period < 1:
        raise ValueError(f"spike_stats: period must be >= 1, got {period}")
    ordered = sorted(times_ms)
    med = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * (len(ordered) - 1))))]
    spikes = [i for i, t in enumerate(times_ms) if t > 3 * med]
    counts = [0] * period
    for i in spikes:
        counts[i % period] += 1
    phases = [times_ms[r::period] for r in range(period)]
    phase_med = [statistics.median(p) for p in phases if p]
    return {
        "median_ms": med,
        "mean_ms": statistics.fmean(times_ms),
        "p99_over_median": p99 / med if med > 0 else float("inf"),
        "max_over_median": ordered[-1] / med if med > 0 else float("inf"),
        "spikes": float(len(spikes)),
        "periodic_share": max(counts) / len(spikes) if spikes else 0.0,
        "phase_ratio": max(phase_med) / med if med > 0 else float("inf"),
    }


#: Stages of an ECO ``init``, in report order (:func:`profile_init`).
INIT_STAGES = ("adaptation", "features", "projection", "gauss_newton", "scale", "other")


def profile_init(
    tracker: Any, frame: Any, box: Any, clock: Callable[[], float] = time.perf_counter
) -> dict[str, float]:
    """Run ``tracker.init(frame, box)`` (an ECO tracker) and return milliseconds per stage:
    ``adaptation`` (first-frame fine-tuning of the CNN), ``features`` (patch sampling and
    extraction, FFT), ``projection`` (PCA of the projection matrices), ``gauss_newton``
    (the joint filter + projection optimisation: Gauss-Newton with CG inside, or plain
    CG without projection learning), ``scale`` (the fDSST scale filter's first model) and
    ``other``; ``total`` is the whole call. Exclusive times: they add up to ``total``."""
    from fastcf.trackers.eco import tracker as eco_module

    if not isinstance(tracker, eco_module.ECOTracker):
        raise TypeError(f"profile_init: {type(tracker).__name__} is not an ECO tracker")
    timer = StageTimer(clock=clock)
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, attr: str, stage: str) -> None:
        saved.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, timer.wrap(stage, getattr(owner, attr)))

    patch(tracker, "_adapt_features", "adaptation")
    patch(tracker, "_sample_fourier", "features")
    patch(tracker, "_run_cg", "gauss_newton")
    patch(eco_module, "train_joint", "gauss_newton")
    patch(eco_module, "pca_projection", "projection")
    patch(eco_module.ScaleFilter, "update", "scale")
    try:
        with timer.section("other"):
            tracker.init(frame, box)
    finally:
        for owner, attr, old in reversed(saved):
            setattr(owner, attr, old)
        for attr in ("_adapt_features", "_sample_fourier", "_run_cg"):
            if attr in vars(tracker):
                delattr(tracker, attr)
    stages = timer.frames[-1]
    out = {s: 1000.0 * stages.get(s, 0.0) for s in INIT_STAGES}
    out["total"] = 1000.0 * timer.totals[-1]
    return out
