"""Fourier transform of the cubic (Keys) interpolation kernel: ECO's ``get_interp_fourier``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fastcf.cf.fourier import freq_indices


def cubic_kernel(x: npt.ArrayLike, a: float = -0.75) -> npt.NDArray[np.float64]:
    """The cubic convolution kernel ``b(x)`` (support ``[-2, 2]``)."""
    t = np.abs(np.asarray(x, dtype=np.float64))
    out = np.zeros_like(t)
    m1 = t <= 1
    m2 = (t > 1) & (t <= 2)
    out[m1] = (a + 2) * t[m1] ** 3 - (a + 3) * t[m1] ** 2 + 1
    out[m2] = a * t[m2] ** 3 - 5 * a * t[m2] ** 2 + 8 * a * t[m2] - 4 * a
    return out


def cubic_spline_fourier(f: npt.ArrayLike, a: float = -0.75) -> npt.NDArray[np.float64]:
    """Continuous Fourier transform ``B(f) = int b(x) exp(-i 2 pi f x) dx`` (real, even)."""
    f = np.asarray(f, dtype=np.float64)
    th = 2 * np.pi * f
    pf = np.pi * f
    with np.errstate(divide="ignore", invalid="ignore"):
        num = (
            -12 * a
            + 24 * np.cos(th)
            + 12 * a * np.cos(2 * th)
            + 24 * pf * np.sin(th)
            + 32 * a * pf * np.sin(th)
            + 8 * a * pf * np.sin(2 * th)
            - 24
        )
        bf = -num / (16 * pf**4)
    small = np.abs(f) < 1e-3  # series limit avoids cancellation near f = 0
    if np.any(small):
        bf = np.where(small, 1.0 + _second_moment(a) * (-2 * np.pi**2) * f**2, bf)
    return bf


def _second_moment(a: float) -> float:
    """``int x^2 b(x) dx``, used for the Taylor expansion of ``B`` at 0."""
    # int_0^1 x^2 ((a+2)x^3 - (a+3)x^2 + 1) + int_1^2 x^2 (a x^3 - 5a x^2 + 8a x - 4a), doubled
    i1 = (a + 2) / 6 - (a + 3) / 5 + 1 / 3
    i2 = a * (64 - 1) / 6 - 5 * a * (32 - 1) / 5 + 8 * a * (16 - 1) / 4 - 4 * a * (8 - 1) / 3
    return 2 * (i1 + i2)


def interp_fourier(
    filter_sz: tuple[int, int], a: float = -0.75, centering: bool = True
) -> tuple[npt.NDArray[np.complex64], npt.NDArray[np.complex64]]:
    """Fourier coefficients of the interpolation kernel for an odd ``filter_sz = (H, W)``.

    Returns ``(interp_y (H,), interp_x (Wh,))`` so that ``xf * iy[:, None] * ix[None, :]``
    maps DFT coefficients of a feature map to Fourier-series coefficients of its
    continuous interpolation (ECO: ``B(k / N) / N``, times ``exp(-i pi k / N)`` with
    centering).
    """
    h, w = filter_sz
    ky, kx = freq_indices(h, (w + 1) // 2)
    iy = cubic_spline_fourier(ky / h, a) / h
    ix = cubic_spline_fourier(kx / w, a) / w
    iy = iy.astype(np.complex128)
    ix = ix.astype(np.complex128)
    if centering:
        iy = iy * np.exp(-1j * np.pi / h * ky)
        ix = ix * np.exp(-1j * np.pi / w * kx)
    return iy.astype(np.complex64), ix.astype(np.complex64)
