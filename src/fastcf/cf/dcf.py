"""Closed-form single-channel discriminative correlation filter (MOSSE / DCF ridge regression).

Used as a reference in tests and as the simplest CF. The filter ``h`` minimises
``sum_n (sum_m x[m + n] h[m] - y[n])^2 + lam ||h||^2`` over circular shifts of ``x``;
in the Fourier domain ``H = conj(X) Y / (|X|^2 + lam)`` (correlation convention:
response ``r = IFFT(X . conj(H_c))`` with ``H_c = conj(H)``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def dcf_train(
    x: npt.NDArray[np.floating], y: npt.NDArray[np.floating], lam: float = 1e-2
) -> npt.NDArray[np.complex128]:
    """DFT of the filter ``g`` whose circular *correlation* with ``x`` best fits ``y``:
    ``r[n] = sum_m g[m] x[m + n]``, i.e. ``R = conj(G) X``; ``G = X conj(Y) / (|X|^2 + lam)``."""
    xf = np.fft.fft2(x)
    yf = np.fft.fft2(y)
    return xf * np.conj(yf) / (np.abs(xf) ** 2 + lam)


def dcf_response(gf: npt.NDArray[np.complexfloating], z: npt.NDArray[np.floating]):
    """``r[n] = sum_m g[m] z[m + n]`` for every circular shift ``n``."""
    return np.real(np.fft.ifft2(np.conj(gf) * np.fft.fft2(z)))
