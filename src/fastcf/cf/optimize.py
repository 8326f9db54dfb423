"""Maximise a continuous response given by its Fourier series (ECO's ``optimize_scores``).

A grid search on the sampled response, then Newton iterations on the trigonometric
polynomial itself, per scale; the scale with the highest refined score wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fastcf.cf.fourier import freq_indices, half_weights, sample_fs


@dataclass(frozen=True)
class ScoreMax:
    row: float  # displacement in output-grid cells, in [-H/2, H/2)
    col: float
    scale_index: int
    score: float  # value of the continuous response at the maximum


def _series(
    t: npt.NDArray[np.complexfloating],
    ky: npt.NDArray[np.float64],
    kx: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, gradient (N, 2) and Hessian (N, 2, 2) of the series at angles (y, x)."""
    ey = np.exp(1j * ky[None, :] * y[:, None])  # (N, H)
    ex = np.exp(1j * kx[None, :] * x[:, None])  # (N, Wh)
    a0 = np.einsum("nh,nhw->nw", ey, t)
    a1 = np.einsum("nh,nhw->nw", ey * (1j * ky), t)
    a2 = np.einsum("nh,nhw->nw", ey * (-(ky**2)), t)
    ikx = 1j * kx
    val = np.einsum("nw,nw->n", a0, ex).real
    gy = np.einsum("nw,nw->n", a1, ex).real
    gx = np.einsum("nw,nw->n", a0, ex * ikx).real
    hyy = np.einsum("nw,nw->n", a2, ex).real
    hxx = np.einsum("nw,nw->n", a0, ex * (-(kx**2))).real
    hxy = np.einsum("nw,nw->n", a1, ex * ikx).real
    grad = np.stack([gy, gx], axis=1)
    hess = np.stack([np.stack([hyy, hxy], 1), np.stack([hxy, hxx], 1)], axis=1)
    return val, grad, hess


def optimize_scores(scores_fs: npt.NDArray[np.complexfloating], iterations: int = 5) -> ScoreMax:
    """Find the maximum of the response(s) ``scores_fs`` ``(N, H, Wh)`` (half spectra).

    The response is ``s(y, x) = sum S[ky, kx] exp(i (ky y + kx x))`` over the full spectrum;
    the returned row/col are displacements in units of the ``H x W`` sampling grid.
    """
    s = np.asarray(scores_fs)
    if s.ndim == 2:
        s = s[None]
    n, h, wh = s.shape
    w = 2 * wh - 1
    sampled = sample_fs(s)  # (N, H, W)
    flat = sampled.reshape(n, -1)
    idx = flat.argmax(axis=1)
    init_score = flat[np.arange(n), idx]
    r, c = np.divmod(idx, w)
    r = (r + (h - 1) // 2) % h - (h - 1) // 2
    c = (c + (w - 1) // 2) % w - (w - 1) // 2
    y0 = 2 * np.pi * r / h
    x0 = 2 * np.pi * c / w
    ky, kx = freq_indices(h, wh)
    t = s.astype(np.complex128) * half_weights(h, wh, np.float64)
    y, x = y0.astype(np.float64), x0.astype(np.float64)
    for _ in range(iterations):
        _, g, hm = _series(t, ky, kx, y, x)
        det = hm[:, 0, 0] * hm[:, 1, 1] - hm[:, 0, 1] ** 2
        ok = np.isfinite(det) & (np.abs(det) > 1e-12)
        safe = np.where(ok, det, 1.0)
        dy = (hm[:, 1, 1] * g[:, 0] - hm[:, 0, 1] * g[:, 1]) / safe
        dx = (hm[:, 0, 0] * g[:, 1] - hm[:, 0, 1] * g[:, 0]) / safe
        y = np.where(ok, y - dy, y)
        x = np.where(ok, x - dx, x)
    val, _, _ = _series(t, ky, kx, y, x)
    worse = ~(val >= init_score)  # also catches NaN
    val = np.where(worse, init_score, val)
    y = np.where(worse, y0, y)
    x = np.where(worse, x0, x)
    best = int(np.argmax(val))
    row = (np.mod(y[best] + np.pi, 2 * np.pi) - np.pi) / (2 * np.pi) * h
    col = (np.mod(x[best] + np.pi, 2 * np.pi) - np.pi) / (2 * np.pi) * w
    return ScoreMax(float(row), float(col), best, float(val[best]))
