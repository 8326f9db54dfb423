"""An appearance check of the reported box that does not come from the CF model: colour.

The response score (:mod:`fastcf.trackers.confidence`) asks the correlation filter how sure
it is. A filter that has drifted onto another object and learned it responds to that
object as sharply as it did to the target, so its own statistics cannot tell the two apart
(docs/confidence.md). This module keeps an independent witness: the target's colours in the
first frame, which the tracker never updates.

From the first frame's box (the *object*) and the ring around it out to ``surround`` times
its size (the *surround*), :class:`ColourModel` builds

* the object's colour histogram ``h_obj`` (8 x 8 x 8 bins over B, G, R; 32 grey levels
  when the first frame is grey), and
* the object likelihood of each bin, ``P(obj | bin) = h_obj / (h_obj + h_surround)``
  (the discriminative colour model of DAT: Possegger, Mauthner and Bischof, "In defense of
  color-based model-free tracking", CVPR 2015, Eq. 2-4, with equal priors).

For a later frame's box, :meth:`ColourModel.features` gives

* ``similarity``: the Bhattacharyya coefficient ``sum sqrt(h_box * h_obj)`` in [0, 1]
  (1 = the same colour distribution as the first frame's object);
* ``likelihood``: the mean ``P(obj | bin)`` over the box's pixels, over the same mean on
  the first frame's box (1 = as object-like as the first frame; > 1 possible).

Both are invariant to the target's deformation and blind to its shape, the complement of
the CF model. At most :data:`MAX_PIXELS` pixels of a box are read (a regular subsample of
large boxes), so the check costs a fraction of a millisecond per frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

#: bins per colour channel (8 x 8 x 8 = 512 colour bins) and grey levels for grey frames
COLOUR_BINS = 8
GREY_BINS = 32
#: a box is read on a regular grid of at most this many pixels
MAX_PIXELS = 16384


class ColourModel:
    """The first frame's colour model of the target (see the module doc).

    ``image``: ``(H, W, 3)`` uint8 BGR or ``(H, W)`` uint8 grey; ``box``: ``(x, y, w, h)``
    in pixels, 0-based, the target in ``image``; ``surround``: the outer ring's size
    relative to the box (> 1). The model is grey (one channel, :data:`GREY_BINS` levels)
    when the three channels of the first box are equal or the image is grey; later images
    must have the first one's number of channels. Raises ``ValueError`` for a box with no
    pixel in the image.
    """

    def __init__(
        self, image: npt.NDArray[np.uint8], box: Sequence[float], surround: float = 2.0
    ) -> None:
        obj = _crop(image, box)
        if obj is None:
            raise ValueError(f"colour model: the box {tuple(box)} has no pixel in the image")
        self.colour = obj.ndim == 3 and bool(
            np.any(obj[..., 0] != obj[..., 1]) or np.any(obj[..., 1] != obj[..., 2])
        )
        self.n_bins = COLOUR_BINS**3 if self.colour else GREY_BINS
        obj_bins = self._bins(obj)
        self.hist = self._histogram(obj_bins)
        ring = self._ring_histogram(image, box, surround)
        total = self.hist + ring
        # a bin seen in neither counts as undecided (0.5)
        self.object_likelihood = np.where(
            total > 0, self.hist / np.where(total > 0, total, 1.0), 0.5
        )
        self.first_likelihood = float(self.object_likelihood[obj_bins].mean())

    def features(self, image: npt.NDArray[np.uint8], box: Sequence[float]) -> tuple[float, float]:
        """``(similarity, likelihood)`` of ``box`` in ``image`` (see the module doc);
        ``(0.0, 0.0)`` when the box has no pixel in the image."""
        crop = _crop(image, box)
        if crop is None:
            return 0.0, 0.0
        bins = self._bins(_subsample(crop))
        hist = self._histogram(bins)
        similarity = float(np.sqrt(hist * self.hist).sum())
        likelihood = float(self.object_likelihood[bins].mean()) / max(self.first_likelihood, 1e-6)
        return min(similarity, 1.0), likelihood

    def _bins(self, pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
        if self.colour:
            q = pixels.astype(np.intp) // (256 // COLOUR_BINS)
            return (q[..., 0] * COLOUR_BINS + q[..., 1]) * COLOUR_BINS + q[..., 2]
        grey = pixels if pixels.ndim == 2 else pixels[..., 0]
        return grey.astype(np.intp) // (256 // GREY_BINS)

    def _histogram(self, bins: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """The normalised histogram of bin indices (all zeros for none)."""
        hist = np.bincount(bins.ravel(), minlength=self.n_bins).astype(np.float64)
        return hist / max(hist.sum(), 1.0)

    def _ring_histogram(
        self, image: npt.NDArray[np.uint8], box: Sequence[float], surround: float
    ) -> npt.NDArray[np.float64]:
        x, y, w, h = (float(v) for v in box)
        cx, cy = x + w / 2.0, y + h / 2.0
        outer = (cx - surround * w / 2.0, cy - surround * h / 2.0, surround * w, surround * h)
        region = _window(image.shape[:2], outer)
        inner = _window(image.shape[:2], box)
        if region is None:
            return np.zeros(self.n_bins)
        r0, r1, c0, c1 = region
        bins = self._bins(image[r0:r1, c0:c1])
        keep = np.ones(bins.shape, dtype=bool)
        if inner is not None:
            i0, i1, j0, j1 = inner
            keep[max(i0 - r0, 0) : max(i1 - r0, 0), max(j0 - c0, 0) : max(j1 - c0, 0)] = False
        return self._histogram(bins[keep])


def appearance_logit(
    response_score: float,
    similarity: float,
    likelihood: float,
    weights: Sequence[float],
) -> float:
    """``w0 * logit(response_score) + w1 * log(similarity) + w2 * log(likelihood) + w3``
    for ``weights = (w0, w1, w2, w3)``, each feature floored at :data:`FEATURE_FLOOR` (and
    the response score kept in [SCORE_EPS, 1 - SCORE_EPS]) so an empty box gives a finite value."""
    s = min(max(response_score, SCORE_EPS), 1.0 - SCORE_EPS)
    w0, w1, w2, bias = weights
    return (
        w0 * math.log(s / (1.0 - s))
        + w1 * math.log(max(similarity, FEATURE_FLOOR))
        + w2 * math.log(max(likelihood, FEATURE_FLOOR))
        + bias
    )


#: the appearance features enter the score as ``log(max(feature, FEATURE_FLOOR))``, the
#: response score as ``logit`` of it clipped to [SCORE_EPS, 1 - SCORE_EPS]
FEATURE_FLOOR = 0.01
SCORE_EPS = 1e-4


def _window(shape: tuple[int, ...], box: Sequence[float]) -> tuple[int, int, int, int] | None:
    """Rows ``[r0, r1)`` and columns ``[c0, c1)`` of ``box`` inside an image of ``shape``
    (whole pixels touched by the box); None when no pixel remains."""
    h, w = int(shape[0]), int(shape[1])
    x, y, bw, bh = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, bw, bh)):
        return None
    c0, r0 = max(int(math.floor(x)), 0), max(int(math.floor(y)), 0)
    c1, r1 = min(int(math.ceil(x + bw)), w), min(int(math.ceil(y + bh)), h)
    if c1 <= c0 or r1 <= r0:
        return None
    return r0, r1, c0, c1


def _crop(image: npt.NDArray[np.uint8], box: Sequence[float]) -> npt.NDArray[np.uint8] | None:
    win = _window(image.shape, box)
    if win is None:
        return None
    r0, r1, c0, c1 = win
    return image[r0:r1, c0:c1]


def _subsample(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Every ``k``-th row and column, ``k`` the smallest step leaving at most
    :data:`MAX_PIXELS` pixels."""
    n = crop.shape[0] * crop.shape[1]
    step = max(1, int(math.ceil(math.sqrt(n / MAX_PIXELS))))
    return crop[::step, ::step] if step > 1 else crop
