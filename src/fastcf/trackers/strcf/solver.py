"""The STRCF learning problem and its ADMM solver (Fourier domain, real FFTs).

For one feature block with ``D`` channels ``x_d`` of size ``h x w`` (``T = h*w``), the
filter ``f`` minimises::

    E(f) = 1/(2T) || sum_d x_d (*) f_d - y ||^2          (data term)
         + 1/2    sum_d || w . f_d ||^2                  (spatial regularisation)
         + mu/2   sum_d || f_d - f_prev_d ||^2           (temporal regularisation)

where ``(x (*) f)[t] = sum_s f[s] x[s + t]`` is circular cross-correlation (response
``= ifft(sum_d conj(F_d) X_d)``), ``w`` the spatial regularisation window and
``f_prev`` the previous frame's filter. The ``1/T`` on the data term is the scaling the
reference MATLAB code implies (its f-subproblem uses ``S_xx + T (gamma + mu)``).

ADMM with the split ``f = g`` and (unscaled) multiplier ``h``::

    f-step  (X X^H + T(gamma+mu)) F = X conj(Y) + T (gamma G - H + mu F_prev)
            solved per frequency by Sherman-Morrison (rank-one X X^H);
    g-step  g = (gamma f + h) / (w^2 + gamma)       (spatial domain, elementwise);
    h-step  h += gamma (f - g);  gamma = min(step * gamma, gamma_max).

All spectra are ``rfft2`` half-spectra ``(..., h, w//2 + 1)``: the per-frequency
solutions are Hermitian, so the half spectrum is exact.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.fft

CArray = npt.NDArray[np.complex64]
FArray = npt.NDArray[np.float32]


def rfft2(x: npt.NDArray[np.floating]) -> CArray:
    out = scipy.fft.rfft2(np.asarray(x, dtype=np.float32), axes=(-2, -1), workers=1)
    return np.asarray(out, dtype=np.complex64)


def irfft2(xf: npt.NDArray[np.complexfloating], shape: tuple[int, int]) -> FArray:
    out = scipy.fft.irfft2(xf, s=shape, axes=(-2, -1), workers=1)
    return np.asarray(out, dtype=np.float32)


def fft_offsets(n: int) -> npt.NDArray[np.float64]:
    """Signed offsets/frequencies in FFT order, Nyquist positive for even ``n``
    (``circshift(-floor((n-1)/2):ceil((n-1)/2), -floor((n-1)/2))`` in MATLAB)."""
    k = np.arange(n, dtype=np.float64)
    return np.where(k <= n // 2, k, k - n)


def gaussian_label(shape: tuple[int, int], sigma: float) -> FArray:
    """Gaussian of width ``sigma`` (cells) peaking at index ``(0, 0)``, circularly."""
    if not sigma > 0:
        raise ValueError(f"gaussian_label: sigma must be > 0, got {sigma}")
    ry, rx = fft_offsets(shape[0]), fft_offsets(shape[1])
    y = np.exp(-0.5 * (ry[:, None] ** 2 + rx[None, :] ** 2) / sigma**2)
    return y.astype(np.float32)


def hann2d(shape: tuple[int, int]) -> FArray:
    """Symmetric Hann window (MATLAB ``hann(h) * hann(w)'``, zero at the borders)."""

    def hann(n: int) -> npt.NDArray[np.float64]:
        if n == 1:
            return np.ones(1)
        return 0.5 - 0.5 * np.cos(2 * math.pi * np.arange(n) / (n - 1))

    return np.outer(hann(shape[0]), hann(shape[1])).astype(np.float32)


def reg_window(
    shape: tuple[int, int], target_cells: tuple[int, int], w_min: float, w_max: float
) -> FArray:
    """STRCF's binary spatial regularisation window: ``w_min`` on a ``target_cells``
    rectangle centred at index ``n // 2`` of each axis, ``w_max`` elsewhere."""
    w = np.full(shape, w_max, dtype=np.float32)
    sl = []
    for n, s in zip(shape, target_cells, strict=True):
        s = int(min(max(s, 1), n))
        start = n // 2 - s // 2
        start = min(max(start, 0), n - s)
        sl.append(slice(start, start + s))
    w[sl[0], sl[1]] = w_min
    return w


def f_step(
    xf: CArray,
    yf: npt.NDArray[np.complexfloating],
    rhs_extra: CArray | None,
    c: float,
    s_xx: npt.NDArray[np.float32] | None = None,
) -> CArray:
    """Solve ``(X X^H + c I) F = X conj(Y) + rhs_extra`` per frequency.

    ``xf``: ``(D, h, wr)``; ``yf``: ``(h, wr)``; ``rhs_extra``: ``(D, h, wr)`` or None.
    With ``rhs_extra = None`` and ``c = T * lam`` this is the closed-form multi-channel
    ridge regression with a uniform spatial penalty ``lam`` (no temporal term).
    """
    if not c > 0:
        raise ValueError(f"f_step: c must be > 0, got {c}")
    rhs = xf * np.conj(yf)[None]
    if rhs_extra is not None:
        rhs = rhs + rhs_extra
    if s_xx is None:
        s_xx = np.sum((xf * np.conj(xf)).real, axis=0)
    proj = np.sum(np.conj(xf) * rhs, axis=0)  # X^H rhs
    out = rhs / c - xf * (proj / (c * (c + s_xx)))[None]
    return out.astype(np.complex64, copy=False)


def admm_train(
    xf: CArray,
    yf: npt.NDArray[np.complexfloating],
    reg: FArray,
    shape: tuple[int, int],
    f_prev: CArray | None = None,
    mu: float = 0.0,
    iterations: int = 2,
    gamma: float = 1.0,
    gamma_max: float = 0.1,
    gamma_step: float = 10.0,
) -> CArray:
    """Run ``iterations`` ADMM steps from ``g = h = 0``; returns the filter spectrum ``F``.

    ``reg`` is the spatial window ``w`` (``shape``); ``mu = 0`` or ``f_prev = None``
    disables the temporal term (the reference's first frame).
    """
    h, w = shape
    t = float(h * w)
    if f_prev is None:
        mu = 0.0
    s_xx = np.sum((xf * np.conj(xf)).real, axis=0)
    g_f = np.zeros_like(xf)
    h_f = np.zeros_like(xf)
    w2 = (reg.astype(np.float64) ** 2).astype(np.float32)
    f_f = g_f
    for _ in range(iterations):
        extra = (gamma * t) * g_f - t * h_f
        if mu > 0 and f_prev is not None:
            extra = extra + (mu * t) * f_prev
        f_f = f_step(xf, yf, extra, t * (gamma + mu), s_xx)
        g = irfft2(gamma * f_f + h_f, shape) / (w2 + np.float32(gamma))[None]
        g_f = rfft2(g)
        h_f = h_f + gamma * (f_f - g_f)
        gamma = min(gamma_step * gamma, gamma_max)
    return f_f


def resize_spectrum(xf: CArray, in_shape: tuple[int, int], out_shape: tuple[int, int]) -> CArray:
    """Zero-pad (or crop) an ``rfft2`` half-spectrum of an ``in_shape`` signal to the
    half-spectrum of an ``out_shape`` signal, scaled to keep spatial amplitudes (ECO's
    ``resizeDFT2``; Nyquist terms of even sizes are dropped)."""
    if tuple(in_shape) == tuple(out_shape):
        return xf
    (h, w), (hh, ww) = in_shape, out_shape
    mh, mw = min(h, hh), min(w, ww)
    pos_h = (mh + 1) // 2  # frequencies 0 .. ceil(m/2)-1
    neg_h = (mh - 1) // 2  # the last floor((m-1)/2) frequencies
    pos_w = (mw + 1) // 2
    scale = np.float32(hh * ww / (h * w))
    out = np.zeros((*xf.shape[:-2], hh, ww // 2 + 1), dtype=np.complex64)
    out[..., :pos_h, :pos_w] = xf[..., :pos_h, :pos_w] * scale
    if neg_h > 0:
        out[..., hh - neg_h :, :pos_w] = xf[..., h - neg_h :, :pos_w] * scale
    return out
