"""Found or lost: a calibrated confidence for fastcf's CF trackers, and re-detection.

**Score.** Every update frame, the response of the detection gives
:class:`~fastcf.cf.confidence.ResponseStats` (peak, APCE, PSR, sidelobe). The tracker keeps
*references*: exponential moving averages of the peak and of the APCE over the found frames
(response score >= ``ok_threshold``; ``confidence_memory``: the weight of the newest one).
The (response) score is

    score = sigmoid(w_peak * log(peak / ref_peak) + w_apce * log(apce / ref_apce)
                    + w_psr * log(psr) + bias)

a number in [0, 1]: the estimated probability that the reported box overlaps the target
(IoU >= 0.5 in the data it was fitted on; docs/confidence.md). The weights were fitted by
logistic regression on per-frame statistics of ``feco`` and ``eco-hc`` on the development
sequences and on synthetic blackout / occlusion clips made from them
(``benchmarks/confidence_fit.py``). Optionally (``confidence_memory_weight`` != 0, ECO
only) a fourth term ``w_memory * log(max(memory, MEMORY_FLOOR))`` asks whether the filter
of the first frame also sees the target at the response peak (off by default: measured
in docs/confidence.md, "Refits").

**Colour check** (``appearance_check``, on by default). The score a tracker *reports* adds
a witness that does not come from the CF model: the box's colours against the target's
colours in the first frame (:class:`~fastcf.trackers.appearance.ColourModel`):

    reported = sigmoid(w0 * logit(score) + w1 * log(similarity) + w2 * log(likelihood) + w3)

(``appearance_weights``, fitted by ``benchmarks/appearance_fit.py``). ``ok`` is True only
on tracked frames (below), and there only when the reported score reaches
``ok_threshold``. Learning, the references and the lost state follow the response score
alone, so the check changes what is reported, never the boxes.

**Three bands** of the response score. ``score >= ok_threshold``: found, the model learns
and the references follow. ``update_threshold <= score < ok_threshold``: uncertain but
still tracked: the box moves and the model learns as on a found frame, so a frame the
score wrongly doubts costs no accuracy. ``score < update_threshold``: **lost**
(``ok=False``): the model is not updated and the size stays where it was last tracked.
The position follows the peak of the usual search window (``follow_while_lost``, the
default) when that window's response score reaches ``follow_threshold`` (0.01), and
otherwise stays; either way the centre is clipped into the image. While lost the
tracker also *re-detects*: besides the usual search window it scores ``redetect_windows``
more windows per frame, taken in turn from a grid that covers the whole frame
(:class:`SearchGrid`), and jumps to the best window once its score reaches
``max(ok_threshold, redetect_threshold)``; the usual window ends the lost state when its
own score reaches ``resume_above`` (``ok_threshold``, or ``resume_threshold`` when that is
stricter; hysteresis: a window that drifted onto background while the target was gone
must not resume learning there). The extra cost per lost frame is ``redetect_windows``
feature extractions and responses; other frames cost nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from fastcf.api import TrackResult
from fastcf.cf.confidence import ResponseStats
from fastcf.trackers.appearance import ColourModel, appearance_logit
from fastcf.trackers.ranges import COUNT, UNIT_CLOSED, UNIT_OPEN, Range, check_ranges

#: (w0, w1, w2, bias) of the reported score (ConfidenceSettings.appearance_weights)
APPEARANCE_WEIGHTS = (1.278, 1.828, 3.41, 1.896)


@dataclass(frozen=True)
class ConfidenceSettings:
    """The found/lost fields of the ECO and STRCF configs (see the module doc)."""

    ok_threshold: float = field(default=0.3, kw_only=True)
    # below it the frame counts as lost: no learning, re-detection (used as
    # min(update_threshold, ok_threshold), see lost_below)
    update_threshold: float = field(default=0.1, kw_only=True)
    confidence_memory: float = field(default=0.1, kw_only=True)
    # logistic model on (log peak ratio, log APCE ratio, log PSR), fitted on data
    # (benchmarks/confidence_fit.py, docs/confidence.md)
    confidence_weights: tuple[float, float, float] = field(
        default=(0.426, 0.0, 2.165), kw_only=True
    )
    confidence_bias: float = field(default=-6.026, kw_only=True)
    # weight of the long-term memory feature log(max(memory, MEMORY_FLOOR)) (ECO only:
    # the first frame's filter at the response peak over its first-frame value); 0 = off
    confidence_memory_weight: float = field(default=0.0, kw_only=True)
    # the reported score adds a colour check of the box against the first frame
    # (fastcf.trackers.appearance): sigmoid(w0 * logit(response score) + w1 * log
    # similarity + w2 * log likelihood + w3), fitted on data (benchmarks/appearance_fit.py);
    # False reports the response score itself. Learning and the lost state follow the
    # response score either way.
    appearance_check: bool = field(default=True, kw_only=True)
    appearance_weights: tuple[float, float, float, float] = field(
        default=APPEARANCE_WEIGHTS, kw_only=True
    )
    # while lost
    # the score the usual search window needs to end the lost state: max(ok_threshold,
    # resume_threshold); None = ok_threshold (see resume_above)
    resume_threshold: float | None = field(default=None, kw_only=True)
    redetect: bool = field(default=True, kw_only=True)
    redetect_windows: int = field(default=2, kw_only=True)
    redetect_threshold: float = field(default=0.5, kw_only=True)
    follow_while_lost: bool = field(default=True, kw_only=True)
    # ... only when the usual window's response score reaches this (below it, e.g. on a
    # black frame, the response is nearly constant and its peak a fixed offset: following
    # it walked the box off to the border)
    follow_threshold: float = field(default=0.01, kw_only=True)

    def __post_init__(self) -> None:
        check_ranges(self, CONFIDENCE_RANGES)
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:
            parent()

    @property
    def lost_below(self) -> float:
        """The score below which a frame counts as lost: ``min(update_threshold,
        ok_threshold)`` (an ok frame is always tracked)."""
        return min(self.update_threshold, self.ok_threshold)

    @property
    def resume_above(self) -> float:
        """The score at which the usual search window ends the lost state:
        ``max(ok_threshold, resume_threshold)`` (``ok_threshold`` when that is None), so a
        resumed frame is always ok. A stricter resume than ``ok`` keeps a window that
        drifted onto background while the target was gone from resuming there."""
        if self.resume_threshold is None:
            return self.ok_threshold
        return max(self.ok_threshold, self.resume_threshold)


#: the memory feature is ``log(max(memory, MEMORY_FLOOR))`` (a memory ratio at or below 0
#: counts as 1 % of the first frame's)
MEMORY_FLOOR = 0.01

CONFIDENCE_RANGES: dict[str, Range] = {
    "ok_threshold": UNIT_CLOSED,
    "update_threshold": UNIT_CLOSED,
    "confidence_memory": UNIT_OPEN,
    "confidence_weights": Range(-100.0, 100.0, length=3),
    "confidence_bias": Range(-100.0, 100.0),
    "confidence_memory_weight": Range(-100.0, 100.0),
    "appearance_weights": Range(-100.0, 100.0, length=4),
    "redetect_windows": COUNT,
    "redetect_threshold": UNIT_CLOSED,
    "follow_threshold": UNIT_CLOSED,
    "resume_threshold": Range(0.0, 1.0, high_open=False, none_ok=True),
}


class Confidence:
    """Per-tracker state of the score: the references of the found frames."""

    def __init__(self, settings: ConfidenceSettings) -> None:
        self.settings = settings
        self.ref_peak = math.nan
        self.ref_apce = math.nan
        self.lost = False
        self.colour: ColourModel | None = None
        # the last frame's response score, and the (similarity, likelihood) of its reported
        # box (NaN without the colour check)
        self.last_response_score = math.nan
        self.last_appearance = (math.nan, math.nan)

    def start(self, image: np.ndarray, box: tuple[float, float, float, float]) -> None:
        """Build the first frame's colour model (``appearance_check``): ``image`` the
        first frame as the tracker reads it (BGR or grey uint8), ``box`` the target. A box
        with no whole pixel in the image leaves the check off for this sequence (the
        response score is reported)."""
        self.colour = None
        if self.settings.appearance_check:
            try:
                self.colour = ColourModel(image, box)
            except ValueError:
                self.colour = None

    def report(
        self, response_score: float, image: np.ndarray, box: tuple[float, float, float, float]
    ) -> float:
        """The score to report for ``box`` in ``image``: the response score combined with
        the colour check (``appearance_weights``), or the response score itself when the
        check is off; 0 when the response score is 0 (no finite response). No state
        changes except ``last_appearance``."""
        if self.colour is None or response_score <= 0.0:
            self.last_appearance = (math.nan, math.nan)
            return response_score
        similarity, likelihood = self.colour.features(image, box)
        self.last_appearance = (similarity, likelihood)
        z = appearance_logit(
            response_score, similarity, likelihood, self.settings.appearance_weights
        )
        return _sigmoid(z)

    def result(
        self,
        tracked: bool,
        response_score: float,
        image: np.ndarray,
        box: tuple[float, float, float, float],
    ) -> TrackResult:
        """What a tracker reports for a frame: ``box``, the score of :meth:`report` and
        ``ok`` = ``tracked`` (not lost) and that score >= ``ok_threshold``. Keeps the
        response score in ``last_response_score``."""
        self.last_response_score = response_score
        reported = self.report(response_score, image, box)
        return TrackResult(tracked and reported >= self.settings.ok_threshold, box, reported)

    def features(self, stats: ResponseStats) -> tuple[float, float, float]:
        """``(log peak ratio, log APCE ratio, log PSR)``; the first frame is its own
        reference."""
        eps = 1e-12
        ref_peak = self.ref_peak if math.isfinite(self.ref_peak) else stats.peak
        ref_apce = self.ref_apce if math.isfinite(self.ref_apce) else stats.apce
        return (
            math.log(max(stats.peak, eps) / max(ref_peak, eps)),
            math.log(max(stats.apce, eps) / max(ref_apce, eps)),
            math.log(max(stats.psr, eps)),
        )

    def score(self, stats: ResponseStats, memory: float = math.nan) -> float:
        """The score in [0, 1] of one response (no state change); ``memory``: the
        long-term memory ratio of the detection (ECO's ``Detection.memory``; NaN when the
        tracker has none, which contributes nothing)."""
        if not (stats.peak > 0 and math.isfinite(stats.peak)):
            return 0.0
        w = self.settings.confidence_weights
        z = sum(wi * fi for wi, fi in zip(w, self.features(stats), strict=True))
        z += self.settings.confidence_bias
        w_mem = self.settings.confidence_memory_weight
        if w_mem != 0.0 and math.isfinite(memory):
            z += w_mem * math.log(max(memory, MEMORY_FLOOR))
        return _sigmoid(z)

    @property
    def track_threshold(self) -> float:
        """The score the usual search window needs to be tracked (learned from):
        ``lost_below``, or ``resume_above`` once lost (hysteresis)."""
        s = self.settings
        return s.resume_above if self.lost else s.lost_below

    @property
    def jump_threshold(self) -> float:
        """The score a re-detected window away from the usual one needs:
        ``max(ok_threshold, redetect_threshold)``."""
        return max(self.settings.ok_threshold, self.settings.redetect_threshold)

    def found(self, stats: ResponseStats) -> None:
        """Fold the statistics of a frame reported as found into the references."""
        a = self.settings.confidence_memory
        if not math.isfinite(self.ref_peak):
            self.ref_peak, self.ref_apce = stats.peak, stats.apce
        else:
            self.ref_peak = (1 - a) * self.ref_peak + a * stats.peak
            self.ref_apce = (1 - a) * self.ref_apce + a * stats.apce


class SearchGrid:
    """Window centres ``(row, col)`` covering a ``(height, width)`` frame with square windows
    of side ``window`` pixels, spaced by half a window, visited in turn (nearest to the
    last known position first)."""

    def __init__(self, frame_size: tuple[int, int], window: float, start: np.ndarray) -> None:
        h, w = frame_size
        step = max(window / 2.0, 1.0)
        rows = _centres(h, step)
        cols = _centres(w, step)
        grid = np.array([(r, c) for r in rows for c in cols], dtype=np.float64)
        order = np.argsort(np.hypot(grid[:, 0] - start[0], grid[:, 1] - start[1]), kind="stable")
        self.centres = grid[order]
        self._next = 0

    def __len__(self) -> int:
        return len(self.centres)

    def take(self, n: int) -> Iterator[np.ndarray]:
        """The next ``n`` centres (round robin)."""
        for _ in range(min(n, len(self.centres))):
            yield self.centres[self._next]
            self._next = (self._next + 1) % len(self.centres)


def _centres(length: int, step: float) -> list[float]:
    if length <= step:
        return [(length - 1) / 2.0]
    n = int(math.ceil((length - step) / step)) + 1
    return list(np.linspace(step / 2.0, length - 1 - step / 2.0, n))


def _sigmoid(z: float) -> float:
    """``1 / (1 + exp(-z))``, ``z`` clipped to [-60, 60] (no overflow)."""
    return float(1.0 / (1.0 + math.exp(-min(max(z, -60.0), 60.0))))
