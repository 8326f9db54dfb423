"""Success, precision and normalized-precision curves (OTB / LaSOT conventions).

* success curve: fraction of frames with ``IoU > t`` (strictly greater, as OTB's MATLAB
  toolkit and got10k do) for ``t`` in ``0:0.05:1`` (21 thresholds); its mean is the
  "AUC" reported by OTB papers.
* precision curve: fraction of frames with ``centre error <= t`` for ``t = 0, 1, ..., 50``
  pixels; "precision" is its value at 20 px.
* normalized precision curve: same with the LaSOT normalized centre error and
  ``t = 0, 0.01, ..., 0.5``; "normalized precision" is its value at 0.2.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: number of IoU thresholds of the OTB toolkit (``0:0.05:1``)
OTB_SUCCESS_BINS = 21
PRECISION_THRESHOLD_PX = 20.0
NORM_PRECISION_THRESHOLD = 0.2


def success_thresholds(n: int = OTB_SUCCESS_BINS) -> FloatArray:
    """``n`` evenly spaced IoU thresholds from 0 to 1 inclusive (21 = OTB, 101 = GOT-10k)."""
    if n < 2:
        raise ValueError(f"need at least 2 success thresholds, got {n}")
    return np.linspace(0.0, 1.0, n)


def precision_thresholds() -> FloatArray:
    """Centre-error thresholds 0..50 px in steps of 1 px (51 values)."""
    return np.arange(0, 51, dtype=np.float64)


def norm_precision_thresholds() -> FloatArray:
    """Normalized centre-error thresholds 0..0.5 in steps of 0.01 (51 values)."""
    return np.arange(0, 51, dtype=np.float64) / 100.0


def _as_1d(values: npt.ArrayLike, name: str) -> FloatArray:
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    if np.isnan(a).any():
        raise ValueError(f"{name}: NaN values (mask unscored frames out before building curves)")
    return a


def success_curve(ious: npt.ArrayLike, thresholds: npt.ArrayLike | None = None) -> FloatArray:
    """Fraction of frames with ``IoU > t`` for each threshold ``t``; empty input -> NaN."""
    v = _as_1d(ious, "ious")
    t = success_thresholds() if thresholds is None else np.asarray(thresholds, np.float64)
    if v.size == 0:
        return np.full(t.shape, np.nan)
    return np.mean(v[:, None] > t[None, :], axis=0)


def precision_curve(errors: npt.ArrayLike, thresholds: npt.ArrayLike | None = None) -> FloatArray:
    """Fraction of frames with ``error <= t`` for each threshold; empty input -> NaN."""
    v = _as_1d(errors, "centre errors")
    t = precision_thresholds() if thresholds is None else np.asarray(thresholds, np.float64)
    if v.size == 0:
        return np.full(t.shape, np.nan)
    return np.mean(v[:, None] <= t[None, :], axis=0)


def norm_precision_curve(
    errors: npt.ArrayLike, thresholds: npt.ArrayLike | None = None
) -> FloatArray:
    """Precision curve of normalized centre errors over ``0:0.01:0.5`` by default."""
    t = norm_precision_thresholds() if thresholds is None else thresholds
    return precision_curve(errors, t)


def auc(curve: npt.ArrayLike) -> float:
    """OTB "area under the curve": the mean of the success curve over its thresholds.

    With evenly spaced thresholds covering [0, 1] this is what every OTB paper reports; as
    the number of thresholds grows it converges to the average overlap.
    """
    c = np.asarray(curve, dtype=np.float64).reshape(-1)
    if c.size == 0:
        raise ValueError("auc of an empty curve")
    return float(np.mean(c))


def value_at(curve: npt.ArrayLike, thresholds: npt.ArrayLike, threshold: float) -> float:
    """The curve's value at ``threshold`` (which must be one of ``thresholds``)."""
    c = np.asarray(curve, dtype=np.float64).reshape(-1)
    t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if c.shape != t.shape:
        raise ValueError(f"curve has {c.size} points but {t.size} thresholds")
    hit = np.flatnonzero(np.isclose(t, threshold, rtol=0.0, atol=1e-9))
    if hit.size == 0:
        raise ValueError(f"threshold {threshold:g} is not one of the curve's thresholds")
    return float(c[hit[0]])
