"""GOT-10k measures: average overlap (AO) and success rates SR0.5 / SR0.75.

As the got10k toolkit's ``ExperimentGOT10k.report`` computes them:

* frame 0 (initialisation) is never scored;
* frames where the target is absent (GOT's ``cover == 0``; here the ``absent`` flags or a
  non-finite / empty ground-truth box) are removed;
* boxes may be clipped to the image first (``bound = (width, height)``);
* ``SR_t`` is the fraction of frames with ``IoU > t`` (strictly greater);
* the dataset AO / SR pool the frames of all sequences (a long sequence weighs more),
  as the toolkit concatenates the IoUs before averaging.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fastcf.metrics.boxes import as_boxes, iou
from fastcf.metrics.sequence import gt_mask

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GotScores:
    ao: float
    sr50: float
    sr75: float
    num_frames: int  # frames scored


def got_ious(
    pred: npt.ArrayLike,
    gt: npt.ArrayLike,
    absent: npt.ArrayLike | None = None,
    bound: tuple[float, float] | None = None,
) -> FloatArray:
    """IoUs of the frames GOT-10k scores (frame 0 and absent frames removed)."""
    p = as_boxes(pred, "predicted boxes")
    g = as_boxes(gt, "ground-truth boxes")
    if p.shape[0] != g.shape[0]:
        raise ValueError(f"{p.shape[0]} predicted boxes for {g.shape[0]} ground-truth frames")
    keep = gt_mask(g, absent)
    if keep.size:
        keep[0] = False
    return iou(p[keep], g[keep], bound=bound)


def got_scores(ious: npt.ArrayLike | Iterable[npt.ArrayLike]) -> GotScores:
    """AO, SR0.5 and SR0.75 of one IoU array, or of several pooled frame by frame."""
    if isinstance(ious, np.ndarray):
        v = ious.astype(np.float64).reshape(-1)
    else:
        parts = [np.asarray(a, dtype=np.float64).reshape(-1) for a in ious]  # type: ignore[union-attr]
        v = np.concatenate(parts) if parts else np.zeros(0)
    if np.isnan(v).any():
        raise ValueError("ious contain NaN")
    if v.size == 0:
        return GotScores(float("nan"), float("nan"), float("nan"), 0)
    return GotScores(
        ao=float(np.mean(v)),
        sr50=float(np.mean(v > 0.5)),
        sr75=float(np.mean(v > 0.75)),
        num_frames=int(v.size),
    )
