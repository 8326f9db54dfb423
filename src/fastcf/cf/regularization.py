"""Spatial regularisation of correlation filters (SRDCF/C-COT/ECO's ``get_reg_filter``).

The penalty ``||w . f||^2`` with a quadratic window ``w`` becomes, in the Fourier domain,
a convolution of the filter's coefficients with the (sparsified) DFT of ``w``.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
from scipy import signal


def reg_window(
    support_sz: tuple[int, int],
    target_sz: tuple[float, float],
    reg_window_min: float = 1e-4,
    reg_window_edge: float = 10e-3,
    reg_window_power: float = 2.0,
) -> npt.NDArray[np.float64]:
    """The spatial window: ``reg_window_min`` at the centre, ``reg_window_edge`` at the
    target border (``|y| = h / 2`` or ``|x| = w / 2``), growing with ``reg_window_power``."""
    h, w = int(support_sz[0]), int(support_sz[1])
    scale = 0.5 * np.asarray(target_sz, dtype=np.float64)
    if np.any(scale <= 0):
        raise ValueError(f"reg_window: target size must be positive, got {target_sz}")
    wr = np.arange(h, dtype=np.float64) - (h - 1) / 2
    wc = np.arange(w, dtype=np.float64) - (w - 1) / 2
    ww = (np.abs(wr[:, None] / scale[0]) ** reg_window_power) + (
        np.abs(wc[None, :] / scale[1]) ** reg_window_power
    )
    return (reg_window_edge - reg_window_min) * ww + reg_window_min


def reg_filter(
    support_sz: tuple[int, int],
    target_sz: tuple[float, float],
    reg_window_min: float = 1e-4,
    reg_window_edge: float = 10e-3,
    reg_window_power: float = 2.0,
    reg_sparsity_threshold: float = 0.05,
) -> npt.NDArray[np.float32]:
    """Small real filter (centred, odd size) acting on Fourier coefficients, as ECO builds it:
    DFT of the window / its area, coefficients below ``threshold * max`` zeroed, the DC term
    corrected so that the sparse window's minimum is ``reg_window_min``, then cropped to the
    non-zero rows/columns."""
    win = reg_window(support_sz, target_sz, reg_window_min, reg_window_edge, reg_window_power)
    h, w = win.shape
    dft = np.fft.fft2(win) / (h * w)
    dft[np.abs(dft) < reg_sparsity_threshold * np.abs(dft).max()] = 0
    sparse = np.real(np.fft.ifft2(dft))
    dft[0, 0] = dft[0, 0] - h * w * sparse.min() + reg_window_min
    dft = np.fft.fftshift(dft)
    rows = ~np.all(dft == 0, axis=1)
    cols = ~np.all(dft == 0, axis=0)
    return np.real(dft[np.ix_(rows, cols)]).astype(np.float32)


def reg_kernel(filt: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """``filt * filt`` (full 2-D convolution): the kernel of ``W^H W`` on coefficients."""
    return signal.convolve2d(filt.astype(np.float64), filt.astype(np.float64), mode="full")


def apply_reg_filter(
    hf: npt.NDArray[np.complexfloating], filt: npt.NDArray[np.floating]
) -> npt.NDArray[np.complexfloating]:
    """``W^H W h`` for half-spectrum filters ``hf`` ``(..., H, Wh)`` and the reg filter ``filt``.

    Equals ECO's ``convn(convn(.., f), f, 'valid')`` in ``lhs_operation``: the half spectrum
    is extended with the mirrored ``kx < 0`` columns the two passes reach (zero beyond the
    stored frequencies) and correlated twice with ``f`` (symmetric, so correlation and
    convolution agree). Returns an array of ``hf``'s shape and dtype.

    The two correlations run in OpenCV (``cv2.filter2D`` on the real/imaginary pairs as a
    two-channel image, the channels of ``hf`` stacked along the rows with ``2 * ry`` zero
    rows between them, so no tap reaches a neighbouring channel): 3-4x faster than shifted
    NumPy sums on ECO's small filters. Complex64 input is computed in float32 (the
    precision of the rest of the filter update), complex128 in float64; other dtypes take
    the NumPy path (:func:`_apply_reg_filter_numpy`, the reference in the tests).
    """
    hf = np.asarray(hf)
    real = {np.dtype(np.complex64): np.float32, np.dtype(np.complex128): np.float64}.get(hf.dtype)
    if real is None:
        return _apply_reg_filter_numpy(hf, filt)
    f = np.asarray(filt, dtype=real)
    fh, fw = f.shape
    ry, rx = (fh - 1) // 2, (fw - 1) // 2
    h, wh = hf.shape[-2:]
    pad = min(2 * rx, wh - 1)  # mirrored kx < 0 columns the two passes reach
    lead = hf.shape[:-2]
    hp, wp = h + 4 * ry, pad + wh + 4 * rx
    x = np.zeros((*lead, hp, wp), dtype=hf.dtype)
    x[..., 2 * ry : 2 * ry + h, 2 * rx + pad : 2 * rx + pad + wh] = hf
    if pad > 0:
        x[..., 2 * ry : 2 * ry + h, 2 * rx : 2 * rx + pad] = np.conj(hf[..., ::-1, pad:0:-1])
    pairs = x.reshape(-1, wp).view(real).reshape(-1, wp, 2)
    once = cv2.filter2D(pairs, -1, f, borderType=cv2.BORDER_CONSTANT)
    twice = cv2.filter2D(once, -1, f, borderType=cv2.BORDER_CONSTANT)
    out = np.ascontiguousarray(twice).view(hf.dtype).reshape(*lead, hp, wp)
    return out[..., 2 * ry : 2 * ry + h, 2 * rx + pad : 2 * rx + pad + wh]


def _apply_reg_filter_numpy(
    hf: npt.NDArray[np.complexfloating], filt: npt.NDArray[np.floating]
) -> npt.NDArray[np.complexfloating]:
    """:func:`apply_reg_filter` as a sum of shifted copies over the filter's non-zero taps
    (NumPy only; any complex dtype)."""
    f = np.asarray(filt, dtype=np.float64)
    fh, fw = f.shape
    ry, rx = (fh - 1) // 2, (fw - 1) // 2
    h, wh = hf.shape[-2:]
    pad = min(2 * rx, wh - 1)
    if pad > 0:
        ext = np.concatenate([np.conj(hf[..., ::-1, pad:0:-1]), hf], axis=-1)  # kx = -pad..
    else:
        ext = hf
    we = ext.shape[-1]
    x = np.zeros((*hf.shape[:-2], h + 4 * ry, we + 4 * rx), dtype=hf.dtype)
    x[..., 2 * ry : 2 * ry + h, 2 * rx : 2 * rx + we] = ext
    taps = [(int(dy), int(dx), float(f[dy, dx])) for dy, dx in zip(*np.nonzero(f), strict=True)]
    y = np.zeros((*hf.shape[:-2], h + 2 * ry, we + 2 * rx), dtype=hf.dtype)
    for dy, dx, v in taps:
        y += v * x[..., dy : dy + h + 2 * ry, dx : dx + we + 2 * rx]
    out = np.zeros_like(hf)
    for dy, dx, v in taps:
        out += v * y[..., dy : dy + h, pad + dx : pad + dx + wh]
    return out
