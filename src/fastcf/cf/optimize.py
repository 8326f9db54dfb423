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
    """Value, gradient (N, 2) and Hessian (N, 2, 2) of the series at angles (y, x).

    With ``e_y = exp(i ky y)`` and ``e_x = exp(i kx x)``, every term is
    ``Re((e_y * dy) . t . (e_x * dx))`` for a derivative factor ``dy`` in ``(1, i ky,
    -ky^2)`` and ``dx`` in ``(1, i kx, -kx^2)``: two batched matrix products.
    """
    ey = np.exp(1j * ky[None, :] * y[:, None])  # (N, H)
    ex = np.exp(1j * kx[None, :] * x[:, None])  # (N, Wh)
    rows = np.stack([ey, ey * (1j * ky), ey * (-(ky**2))], axis=1)  # (N, 3, H)
    cols = np.stack([ex, ex * (1j * kx), ex * (-(kx**2))], axis=2)  # (N, Wh, 3)
    m = ((rows @ t) @ cols).real  # (N, 3, 3): [y-derivative order, x-derivative order]
    val = m[:, 0, 0]
    grad = np.stack([m[:, 1, 0], m[:, 0, 1]], axis=1)
    hyy, hxx, hxy = m[:, 2, 0], m[:, 0, 2], m[:, 1, 1]
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
