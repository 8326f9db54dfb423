"""Gaussian label functions in the Fourier domain (ECO's Poisson-formula construction)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fastcf.cf.fourier import freq_indices


def gaussian_label_fourier(
    filter_sz: tuple[int, int], output_sz: tuple[int, int], sigma: tuple[float, float]
) -> npt.NDArray[np.float32]:
    """Fourier-series coefficients (half spectrum ``(H, Wh)``) of a periodic Gaussian.

    ``sigma`` is in output-grid cells; the spatial series sampled on the ``output_sz``
    grid (``sample_fs``) is ~``exp(-d^2 / (2 sigma^2))`` with peak ~1 at zero shift.
    ``yf(k) = sqrt(2 pi) sigma / N exp(-2 (pi sigma k / N)^2)`` per axis.
    """
    h, w = filter_sz
    oh, ow = output_sz
    ky, kx = freq_indices(h, (w + 1) // 2)
    sy, sx = sigma
    yy = np.sqrt(2 * np.pi) * sy / oh * np.exp(-2 * (np.pi * sy * ky / oh) ** 2)
    yx = np.sqrt(2 * np.pi) * sx / ow * np.exp(-2 * (np.pi * sx * kx / ow) ** 2)
    return np.outer(yy, yx).astype(np.float32)
