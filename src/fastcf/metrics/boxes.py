"""Per-frame measures between two arrays of ``x, y, w, h`` boxes.

All functions take ``(N, 4)`` arrays (or a single box of shape ``(4,)``) in the same
coordinate convention; IoU and centre error are translation invariant, so 0-based and
OTB's 1-based coordinates give identical numbers as long as both arrays use the same one.

Invalid boxes (any non-finite value, or ``w <= 0`` or ``h <= 0``) never count as a hit:
their IoU is 0 and their centre errors are ``+inf``. Which ground-truth frames are scored
at all is decided by :func:`valid_boxes` in the callers (see ``docs/metrics.md``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def as_boxes(boxes: npt.ArrayLike, name: str = "boxes") -> FloatArray:
    """Return ``boxes`` as an ``(N, 4)`` float64 array (a copy), or raise ValueError."""
    a = np.array(boxes, dtype=np.float64, copy=True)
    if a.ndim == 1 and a.shape[0] == 4:
        a = a.reshape(1, 4)
    if a.ndim != 2 or a.shape[1] != 4:
        raise ValueError(f"{name}: expected an (N, 4) array of x,y,w,h boxes, got {a.shape}")
    return a


def _pair(pred: npt.ArrayLike, gt: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    p = as_boxes(pred, "predicted boxes")
    g = as_boxes(gt, "ground-truth boxes")
    if p.shape != g.shape:
        raise ValueError(
            f"predicted boxes have {p.shape[0]} rows but ground truth has {g.shape[0]}: "
            "truncate or pad explicitly before scoring"
        )
    return p, g


def valid_boxes(boxes: npt.ArrayLike) -> BoolArray:
    """Per row: True when all four values are finite and ``w > 0`` and ``h > 0``."""
    b = as_boxes(boxes)
    with np.errstate(invalid="ignore"):
        return np.all(np.isfinite(b), axis=1) & (b[:, 2] > 0) & (b[:, 3] > 0)


def clip_to_image(boxes: npt.ArrayLike, bound: tuple[float, float]) -> FloatArray:
    """Clip boxes to the image ``[0, width] x [0, height]`` (GOT-10k's ``bound``).

    Same rule as the got10k toolkit: the top-left corner is clipped into the image, then
    width/height are clipped so the box ends inside it (an outside box gets zero size).
    """
    b = as_boxes(boxes)
    width, height = float(bound[0]), float(bound[1])
    b[:, 0] = np.clip(b[:, 0], 0.0, width)
    b[:, 1] = np.clip(b[:, 1], 0.0, height)
    b[:, 2] = np.clip(b[:, 2], 0.0, width - b[:, 0])
    b[:, 3] = np.clip(b[:, 3], 0.0, height - b[:, 1])
    return b


def iou(
    pred: npt.ArrayLike, gt: npt.ArrayLike, bound: tuple[float, float] | None = None
) -> FloatArray:
    """Intersection over union per row, in ``[0, 1]``; 0 where either box is invalid.

    ``bound = (width, height)`` first clips both boxes to the image (GOT-10k rule);
    a box clipped to zero size then has IoU 0.
    """
    p, g = _pair(pred, gt)
    if bound is not None:
        p = clip_to_image(p, bound)
        g = clip_to_image(g, bound)
    ok = valid_boxes(p) & valid_boxes(g)
    out = np.zeros(len(p), dtype=np.float64)
    if not ok.any():
        return out
    p, g = p[ok], g[ok]
    x1 = np.maximum(p[:, 0], g[:, 0])
    y1 = np.maximum(p[:, 1], g[:, 1])
    x2 = np.minimum(p[:, 0] + p[:, 2], g[:, 0] + g[:, 2])
    y2 = np.minimum(p[:, 1] + p[:, 3], g[:, 1] + g[:, 3])
    inter = np.maximum(x2 - x1, 0.0) * np.maximum(y2 - y1, 0.0)
    union = p[:, 2] * p[:, 3] + g[:, 2] * g[:, 3] - inter
    out[ok] = np.clip(inter / union, 0.0, 1.0)
    return out


def centers(boxes: npt.ArrayLike) -> FloatArray:
    """``(N, 2)`` box centres ``(x + w/2, y + h/2)`` (continuous coordinates)."""
    b = as_boxes(boxes)
    return b[:, :2] + b[:, 2:] / 2.0


def center_error(pred: npt.ArrayLike, gt: npt.ArrayLike) -> FloatArray:
    """Euclidean distance in pixels between box centres; ``+inf`` where either is invalid.

    OTB/got10k write centres as ``x + (w - 1) / 2``; the ``-1/2`` cancels in the
    difference, so the distances are identical.
    """
    p, g = _pair(pred, gt)
    ok = valid_boxes(p) & valid_boxes(g)
    out = np.full(len(p), np.inf, dtype=np.float64)
    d = centers(p[ok]) - centers(g[ok])
    out[ok] = np.hypot(d[:, 0], d[:, 1])
    return out


def normalized_center_error(pred: npt.ArrayLike, gt: npt.ArrayLike) -> FloatArray:
    """Centre error with x and y offsets divided by the ground-truth width and height.

    LaSOT toolkit definition (``calc_seq_err_robust.m`` with ``norm_dst``):
    ``sqrt(((cx_p - cx_g) / w_g)^2 + ((cy_p - cy_g) / h_g)^2)``; ``+inf`` where either box
    is invalid.
    """
    p, g = _pair(pred, gt)
    ok = valid_boxes(p) & valid_boxes(g)
    out = np.full(len(p), np.inf, dtype=np.float64)
    d = (centers(p[ok]) - centers(g[ok])) / g[ok][:, 2:]
    out[ok] = np.hypot(d[:, 0], d[:, 1])
    return out
