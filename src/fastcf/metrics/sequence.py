"""One-pass evaluation (OPE) scores of one sequence and their average over a dataset.

Rules (see ``docs/metrics.md``):

* frame 0 (the initialisation frame) is scored, with the result replaced by the ground
  truth, as got10k's ``ExperimentOTB`` and the LaSOT toolkit do (``first_frame=
  "ground_truth"``); ``"result"`` scores the file's own first box and ``"exclude"`` drops
  the frame (GOT-10k).
* a frame whose ground truth is unknown (non-finite, ``w <= 0`` or ``h <= 0``) or whose
  target is flagged absent is removed from numerator and denominator
  (``absent="exclude"``, got10k / GOT-10k); ``absent="fail"`` keeps it in the denominator
  as a failure, as the LaSOT MATLAB toolkit does.
* predicted and ground-truth arrays must have the same length (ValueError otherwise).
* an invalid predicted box (NaN, ``w <= 0``, ``h <= 0``) has IoU 0 and infinite centre
  errors: a failure at every threshold.
* the dataset curve is the mean of the per-sequence curves (each sequence weighs the
  same), and AUC / precision are read off that mean curve.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from fastcf.metrics.boxes import (
    as_boxes,
    center_error,
    iou,
    normalized_center_error,
    valid_boxes,
)
from fastcf.metrics.curves import (
    NORM_PRECISION_THRESHOLD,
    OTB_SUCCESS_BINS,
    PRECISION_THRESHOLD_PX,
    auc,
    norm_precision_curve,
    norm_precision_thresholds,
    precision_curve,
    precision_thresholds,
    success_curve,
    success_thresholds,
    value_at,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
FirstFrame = Literal["ground_truth", "result", "exclude"]
AbsentPolicy = Literal["exclude", "fail"]


@dataclass(frozen=True)
class Curves:
    """Success / precision / normalized precision curves with their thresholds."""

    success_thresholds: FloatArray
    success: FloatArray
    precision_thresholds: FloatArray
    precision: FloatArray
    norm_precision_thresholds: FloatArray
    norm_precision: FloatArray

    @property
    def auc(self) -> float:
        """Mean of the success curve (OTB "AUC", "success score")."""
        return auc(self.success)

    @property
    def precision_20(self) -> float:
        """Precision at a 20 px centre-error threshold."""
        return value_at(self.precision, self.precision_thresholds, PRECISION_THRESHOLD_PX)

    @property
    def norm_precision_20(self) -> float:
        """Normalized precision at threshold 0.2 (LaSOT)."""
        return value_at(
            self.norm_precision, self.norm_precision_thresholds, NORM_PRECISION_THRESHOLD
        )

    @property
    def success_rate_50(self) -> float:
        """Success at IoU threshold 0.5 (when 0.5 is one of the thresholds)."""
        return value_at(self.success, self.success_thresholds, 0.5)


@dataclass(frozen=True)
class SequenceScores:
    """Per-frame measures and curves of one sequence.

    ``scored`` marks, for each of the ``num_frames`` frames, whether it is in the
    denominator; ``ious`` / ``center_errors`` / ``norm_center_errors`` hold the values of
    the scored frames only, in frame order.
    """

    num_frames: int
    scored: BoolArray
    ious: FloatArray
    center_errors: FloatArray
    norm_center_errors: FloatArray
    curves: Curves

    @property
    def auc(self) -> float:
        return self.curves.auc

    @property
    def precision_20(self) -> float:
        return self.curves.precision_20

    @property
    def norm_precision_20(self) -> float:
        return self.curves.norm_precision_20

    @property
    def average_overlap(self) -> float:
        """Mean IoU over the scored frames."""
        return float(np.mean(self.ious)) if self.ious.size else float("nan")


def _thresholds(success_bins: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    return success_thresholds(success_bins), precision_thresholds(), norm_precision_thresholds()


def gt_mask(gt: npt.ArrayLike, absent: npt.ArrayLike | None = None) -> BoolArray:
    """Frames whose ground truth can be scored: a valid box and not flagged absent."""
    g = as_boxes(gt, "ground-truth boxes")
    ok = valid_boxes(g)
    if absent is not None:
        a = np.asarray(absent, dtype=bool).reshape(-1)
        if a.shape[0] != g.shape[0]:
            raise ValueError(f"absent flags have {a.shape[0]} rows but ground truth {len(g)}")
        ok &= ~a
    return ok


def score_sequence(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    absent: npt.ArrayLike | None = None,
    *,
    first_frame: FirstFrame = "ground_truth",
    absent_policy: AbsentPolicy = "exclude",
    success_bins: int = OTB_SUCCESS_BINS,
) -> SequenceScores:
    """Score one sequence's predicted boxes against its ground truth (same convention).

    Raises ValueError when the arrays differ in length, or when no frame can be scored.
    """
    p = as_boxes(pred, "predicted boxes")
    g = as_boxes(gt, "ground-truth boxes")
    if p.shape[0] != g.shape[0]:
        raise ValueError(
            f"{p.shape[0]} predicted boxes for {g.shape[0]} ground-truth frames "
            "(lengths must match; truncate explicitly if that is intended)"
        )
    if first_frame not in ("ground_truth", "result", "exclude"):
        raise ValueError(f"first_frame must be ground_truth, result or exclude: {first_frame!r}")
    if absent_policy not in ("exclude", "fail"):
        raise ValueError(f"absent_policy must be 'exclude' or 'fail', got {absent_policy!r}")
    n = p.shape[0]
    known = gt_mask(g, absent)
    if first_frame == "ground_truth" and n > 0:
        p[0] = g[0]

    ious = iou(p, g)
    ces = center_error(p, g)
    nces = normalized_center_error(p, g)
    # frames in the denominator
    scored = known.copy() if absent_policy == "exclude" else np.ones(n, dtype=bool)
    if first_frame == "exclude" and n > 0:
        scored[0] = False
    # a frame with unknown GT that is still scored ("fail") is a failure everywhere
    ious[~known] = 0.0
    ces[~known] = np.inf
    nces[~known] = np.inf
    if not scored.any():
        raise ValueError(f"no frame of the {n} can be scored (all ground truth unknown/absent)")

    ts, tp, tn = _thresholds(success_bins)
    curves = Curves(
        success_thresholds=ts,
        success=success_curve(ious[scored], ts),
        precision_thresholds=tp,
        precision=precision_curve(ces[scored], tp),
        norm_precision_thresholds=tn,
        norm_precision=norm_precision_curve(nces[scored], tn),
    )
    return SequenceScores(
        num_frames=n,
        scored=scored,
        ious=ious[scored],
        center_errors=ces[scored],
        norm_center_errors=nces[scored],
        curves=curves,
    )


def failed_curves(success_bins: int = OTB_SUCCESS_BINS) -> Curves:
    """All-zero curves: how a sequence without a usable result enters the average."""
    ts, tp, tn = _thresholds(success_bins)
    return Curves(ts, np.zeros_like(ts), tp, np.zeros_like(tp), tn, np.zeros_like(tn))


def mean_curves(curves: Iterable[Curves]) -> Curves:
    """Average of per-sequence curves (each sequence weighs the same, as in OTB)."""
    items = list(curves)
    if not items:
        raise ValueError("cannot average the curves of zero sequences")
    first = items[0]
    for c in items[1:]:
        if not (
            np.array_equal(c.success_thresholds, first.success_thresholds)
            and np.array_equal(c.precision_thresholds, first.precision_thresholds)
            and np.array_equal(c.norm_precision_thresholds, first.norm_precision_thresholds)
        ):
            raise ValueError("cannot average curves computed on different thresholds")
    return Curves(
        success_thresholds=first.success_thresholds,
        success=np.mean([c.success for c in items], axis=0),
        precision_thresholds=first.precision_thresholds,
        precision=np.mean([c.precision for c in items], axis=0),
        norm_precision_thresholds=first.norm_precision_thresholds,
        norm_precision=np.mean([c.norm_precision for c in items], axis=0),
    )
