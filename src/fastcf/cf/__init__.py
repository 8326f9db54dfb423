"""Correlation-filter maths: plain functions on NumPy arrays, testable on their own.

Fourier coefficients use one layout everywhere (``fourier.py``): ``(..., H, Wh)`` complex
arrays holding the *half* spectrum of a real signal of odd size ``H x W`` with
``W = 2 * Wh - 1``; rows are centred (row ``i`` is frequency ``ky = i - (H - 1) // 2``)
and column ``j`` is frequency ``kx = j >= 0``. Column 0 (``kx = 0``) is stored once, every
other column stands for itself and its complex-conjugate mirror ``-kx``.
"""

from fastcf.cf.cg import CGState, pcg
from fastcf.cf.fourier import (
    block_slices,
    cfft2,
    compact_fourier_coeff,
    freq_indices,
    full_fourier_coeff,
    half_weights,
    inner_product,
    resize_dft,
    sample_fs,
    shift_sample,
    symmetrize_filter,
)
from fastcf.cf.interp import cubic_spline_fourier, interp_fourier
from fastcf.cf.labels import gaussian_label_fourier
from fastcf.cf.optimize import optimize_scores
from fastcf.cf.regularization import apply_reg_filter, reg_filter
from fastcf.cf.windows import cosine_window, hann

__all__ = [
    "CGState",
    "apply_reg_filter",
    "block_slices",
    "cfft2",
    "compact_fourier_coeff",
    "cosine_window",
    "cubic_spline_fourier",
    "freq_indices",
    "full_fourier_coeff",
    "gaussian_label_fourier",
    "half_weights",
    "hann",
    "inner_product",
    "interp_fourier",
    "optimize_scores",
    "pcg",
    "reg_filter",
    "resize_dft",
    "sample_fs",
    "shift_sample",
    "symmetrize_filter",
]
