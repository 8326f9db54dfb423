"""Sub-cell peak of a multi-scale correlation response (ECO/STRCF ``resp_newton``).

The response is a trigonometric polynomial given by its DFT; starting from the best grid
cell of each scale, a few Newton steps maximise it continuously. A scale whose refined
value is below its grid maximum keeps the grid position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fastcf.trackers.strcf.solver import fft_offsets


@dataclass(frozen=True)
class Peak:
    row: float  # signed displacement in cells (fft order: 0 = no motion)
    col: float
    scale_index: int
    value: float  # response at the refined peak


def newton_peak(response: npt.NDArray[np.floating], iterations: int = 5) -> Peak:
    """Refined maximum over ``(S, H, W)`` real responses (index 0 = zero displacement)."""
    resp = np.asarray(response, dtype=np.float64)
    if resp.ndim == 2:
        resp = resp[None]
    n_scales, h, w = resp.shape
    flat = resp.reshape(n_scales, -1).argmax(axis=1)
    rows, cols = np.divmod(flat, w)
    init_max = resp.reshape(n_scales, -1)[np.arange(n_scales), flat]
    ky = fft_offsets(h)
    kx = fft_offsets(w)
    # signed grid displacement, as angles
    py0 = 2 * math.pi * ky[rows] / h
    px0 = 2 * math.pi * kx[cols] / w
    py, px = py0.copy(), px0.copy()
    if iterations > 0:
        rf = np.fft.fft2(resp)  # (S, H, W)
        for _ in range(iterations):
            ey = np.exp(1j * ky[None, :] * py[:, None])  # (S, H)
            ex = np.exp(1j * kx[None, :] * px[:, None])  # (S, W)
            resp_x = np.einsum("shw,sw->sh", rf, ex)  # sum over kx
            y_resp = np.einsum("sh,shw->sw", ey, rf)  # sum over ky
            grad_y = -np.einsum("sh,sh->s", ky * ey, resp_x).imag
            grad_x = -np.einsum("sw,sw->s", y_resp, kx * ex).imag
            h_yy = -np.einsum("sh,sh->s", ky**2 * ey, resp_x).real
            h_xx = -np.einsum("sw,sw->s", y_resp, kx**2 * ex).real
            r_kx = np.einsum("shw,sw->sh", rf, kx * ex)
            h_xy = -np.einsum("sh,sh->s", ky * ey, r_kx).real
            det = h_yy * h_xx - h_xy * h_xy
            ok = np.abs(det) > 1e-12
            safe = np.where(ok, det, 1.0)
            py = np.where(ok, py - (h_xx * grad_y - h_xy * grad_x) / safe, py)
            px = np.where(ok, px - (h_yy * grad_x - h_xy * grad_y) / safe, px)
        ey = np.exp(1j * ky[None, :] * py[:, None])
        ex = np.exp(1j * kx[None, :] * px[:, None])
        value = np.einsum("sh,shw,sw->s", ey, rf, ex).real / (h * w)
        worse = ~(value >= init_max)  # also catches NaN
        value = np.where(worse, init_max, value)
        py = np.where(worse, py0, py)
        px = np.where(worse, px0, px)
    else:
        value = init_max
    best = int(np.argmax(value))
    row = (math.fmod(py[best] + math.pi, 2 * math.pi) % (2 * math.pi) - math.pi) / (2 * math.pi)
    col = (math.fmod(px[best] + math.pi, 2 * math.pi) % (2 * math.pi) - math.pi) / (2 * math.pi)
    return Peak(row * h, col * w, best, float(value[best]))
