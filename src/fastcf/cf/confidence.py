"""How confident a correlation response is: statistics of a sampled response map.

For a real response map ``r`` (``(H, W)``, any origin; distances wrap around, as the map
of a correlation filter is circular):

* ``peak``: ``max r``;
* ``apce``: average peak-to-correlation energy, ``(max - min)^2 / mean((r - min)^2)``
  (Wang et al., "Large Margin Object Tracking with Circulant Feature Maps", CVPR 2017,
  Eq. 11); large for one sharp peak, small for a flat or multi-modal map;
* ``psr``: peak-to-sidelobe ratio, ``(max - mean_s) / std_s`` over the *sidelobe*: the
  cells farther than ``exclude`` cells (Chebyshev distance, wrapped) from the peak
  (Bolme et al., MOSSE, CVPR 2010);
* ``sidelobe``: the highest sidelobe value relative to the peak, ``max_s / max`` (the
  second mode of a two-target map; 1 when the sidelobe is as high as the peak).

These are the inputs of the trackers' found/lost decision (:mod:`fastcf.trackers.confidence`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class ResponseStats:
    peak: float
    apce: float
    psr: float
    sidelobe: float


def response_stats(response: npt.ArrayLike, exclude: int = 2) -> ResponseStats:
    """Statistics of one ``(H, W)`` response map (see the module doc).

    ``exclude``: half-width in cells of the square around the peak left out of the
    sidelobe (at least 1; capped so that some sidelobe remains). Non-finite maps give
    zeros (no confidence).
    """
    r = np.asarray(response, dtype=np.float64)
    if r.ndim != 2 or r.size == 0:
        raise ValueError(f"response_stats: expected a non-empty 2-D map, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        return ResponseStats(0.0, 0.0, 0.0, 0.0)
    h, w = r.shape
    flat = int(r.argmax())
    py, px = divmod(flat, w)
    peak = float(r[py, px])
    low = float(r.min())
    energy = float(np.mean((r - low) ** 2))
    apce = (peak - low) ** 2 / energy if energy > 0 else 0.0
    e = max(1, int(exclude))
    dy = np.abs((np.arange(h) - py + h // 2) % h - h // 2)
    dx = np.abs((np.arange(w) - px + w // 2) % w - w // 2)
    if (h - 1) // 2 <= e and (w - 1) // 2 <= e:  # tiny map: keep a ring of sidelobe
        e = max(0, min((h - 1) // 2, (w - 1) // 2) - 1)
    side = r[(dy[:, None] > e) | (dx[None, :] > e)]
    if side.size == 0:
        return ResponseStats(peak, apce, 0.0, 0.0)
    std = float(side.std())
    psr = (peak - float(side.mean())) / std if std > 0 else 0.0
    sidelobe = float(side.max()) / peak if peak > 0 else 1.0
    return ResponseStats(peak, float(apce), float(psr), float(sidelobe))
