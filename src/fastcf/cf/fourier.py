"""Centred half-spectrum Fourier helpers (the layout ECO's ``compact_fourier_coeff`` uses).

Layout: ``(..., H, Wh)`` complex, ``H`` odd, full width ``W = 2 * Wh - 1`` (odd). Row ``i``
holds ``ky = i - (H - 1) // 2``; column ``j`` holds ``kx = j``. The series
``s(y, x) = sum_{ky, kx} S[ky, kx] exp(i (ky y + kx x))`` over the *full* spectrum is real
because ``S[-ky, -kx] = conj(S[ky, kx])``; only ``kx >= 0`` is stored. (ECO keeps
``kx <= 0`` instead; the two are mirror images.)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.fft

Complex = npt.NDArray[np.complexfloating]
Real = npt.NDArray[np.floating]


def odd_size(n: int) -> int:
    """``n`` if odd else ``n + 1`` (ECO's ``filter_sz = feature_sz + mod(feature_sz + 1, 2)``)."""
    return int(n) + (1 - int(n) % 2)


def freq_indices(h: int, wh: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Integer frequencies ``ky`` (length ``h``, centred) and ``kx`` (``0 .. wh - 1``)."""
    if h % 2 != 1:
        raise ValueError(f"freq_indices: the number of rows must be odd, got {h}")
    ky = np.arange(h, dtype=np.float64) - (h - 1) // 2
    kx = np.arange(wh, dtype=np.float64)
    return ky, kx


def cfft2(x: npt.NDArray[np.floating]) -> Complex:
    """Centred half-spectrum DFT of real ``(..., h, w)`` maps -> ``(..., H, Wh)``.

    Sizes are made odd like ECO's ``cfft2``: an even dimension gets its Nyquist
    frequency duplicated at ``+n/2`` (``H = h + 1``). ``Wh = w // 2 + 1`` in both cases.
    Single precision in, single precision out. The transform is SciPy's (``scipy.fft``,
    one worker): for the tracker's float32 maps it is 1.5-4x faster than ``numpy.fft``
    (docs/profile.md), with the same result up to rounding (~2e-7 relative).
    """
    h = x.shape[-2]
    xf = scipy.fft.rfft2(x, axes=(-2, -1), workers=1)
    xf = np.fft.fftshift(xf, axes=-2)
    if h % 2 == 0:  # row -h/2 sits at index 0; +h/2 equals it (periodicity)
        xf = np.concatenate([xf, xf[..., :1, :]], axis=-2)
    return xf


def sample_fs(xf: Complex, grid_sz: tuple[int, int] | None = None) -> Real:
    """Sample the real Fourier series on a ``grid_sz`` grid (default: ``(H, W)``).

    Like ECO's ``sample_fs``: the value at grid index ``(r, c)`` is
    ``s(2 pi r / gh, 2 pi c / gw)`` (zero displacement at index 0, not centred).
    """
    h, wh = xf.shape[-2:]
    w = 2 * wh - 1
    gh, gw = (h, w) if grid_sz is None else (int(grid_sz[0]), int(grid_sz[1]))
    if gh < h or gw < w:
        raise ValueError(f"sample_fs: grid {gh}x{gw} is smaller than the series {h}x{w}")
    if (gh, gw) == (h, w):
        std = np.fft.ifftshift(xf, axes=-2)
    else:
        std = np.zeros((*xf.shape[:-2], gh, gw // 2 + 1), dtype=xf.dtype)
        rows = (np.arange(h) - (h - 1) // 2) % gh
        std[..., rows, :wh] = xf
    return scipy.fft.irfft2(std, s=(gh, gw), axes=(-2, -1), workers=1) * (gh * gw)


def full_fourier_coeff(xf: Complex) -> Complex:
    """Half spectrum ``(..., H, Wh)`` -> full centred spectrum ``(..., H, 2 Wh - 1)``."""
    mirror = np.conj(xf[..., ::-1, :0:-1])  # kx = -(Wh-1) .. -1 from kx = Wh-1 .. 1
    return np.concatenate([mirror, xf], axis=-1)


def compact_fourier_coeff(xf_full: Complex) -> Complex:
    """Full centred spectrum ``(..., H, W)`` (odd ``W``) -> half ``(..., H, (W + 1) / 2)``."""
    w = xf_full.shape[-1]
    if w % 2 != 1:
        raise ValueError(f"compact_fourier_coeff: width must be odd, got {w}")
    return xf_full[..., (w - 1) // 2 :]


def half_weights(h: int, wh: int, dtype: type = np.float32) -> Real:
    """Weights that turn a half-spectrum sum into a full-spectrum sum: 1 for ``kx = 0``, else 2."""
    w: Real = np.full((h, wh), 2.0, dtype=dtype)
    w[:, 0] = 1.0
    return w


def real_view(a: Complex, *shape: int) -> Real:
    """``a`` reshaped to ``shape`` and seen as real numbers: each complex entry becomes an
    interleaved ``(re, im)`` pair, so the last axis doubles. No copy when ``a`` is
    C-contiguous. ``Re(sum conj(a) b)`` and real-times-complex products become real BLAS
    products on these views (real GEMM / GEMV instead of complex ones)."""
    return np.ascontiguousarray(a).reshape(shape).view(a.real.dtype)


def inner_product(a: Complex, b: Complex) -> float:
    """Real full-spectrum inner product ``Re <a, b>`` of two half spectra (sum over all axes)."""
    full = 2.0 * np.vdot(a, b).real
    center = np.vdot(a[..., 0], b[..., 0]).real
    return float(full - center)


def shift_sample(xf: Complex, shift: tuple[float, float]) -> Complex:
    """Translate the signal by ``shift = (dy, dx)`` radians: ``X * exp(i (ky dy + kx dx))``.

    With ``shift = 2 pi * (pos - sample_pos) / support_size`` this re-centres a sample on
    the target, as ECO's ``shift_sample``.
    """
    ky, kx = freq_indices(*xf.shape[-2:])
    ey = np.exp(1j * shift[0] * ky).astype(xf.dtype)
    ex = np.exp(1j * shift[1] * kx).astype(xf.dtype)
    return xf * ey[:, None] * ex[None, :]


def symmetrize_filter(hf: Complex) -> Complex:
    """Enforce Hermitian symmetry of the ``kx = 0`` column (``h(-ky, 0) = conj h(ky, 0)``)."""
    out = hf.copy()
    h = hf.shape[-2]
    c = (h - 1) // 2
    if c > 0:
        out[..., c + 1 :, 0] = np.conj(hf[..., c - 1 :: -1, 0])
    out[..., c, 0] = out[..., c, 0].real
    return out


def block_slices(filter_sz: tuple[int, int], output_sz: tuple[int, int]) -> tuple[slice, slice]:
    """Where a block's half spectrum (``filter_sz`` full odd size) sits in the output grid."""
    fh, fw = filter_sz
    oh, ow = output_sz
    if fh > oh or fw > ow or (oh - fh) % 2 or (ow - fw) % 2:
        raise ValueError(f"block_slices: block {filter_sz} does not fit output {output_sz}")
    pad = (oh - fh) // 2
    return slice(pad, pad + fh), slice(0, (fw + 1) // 2)


def resize_dft(xf: Complex, n: int) -> Complex:
    """Resize a 1-D DFT (standard order, last axis) to length ``n`` (ECO's ``resizeDFT``)."""
    length = xf.shape[-1]
    minsz = min(length, n)
    scaling = n / length
    out = np.zeros((*xf.shape[:-1], n), dtype=np.result_type(xf.dtype, np.complex64))
    mids = int(np.ceil(minsz / 2))
    mide = int(np.floor((minsz - 1) / 2)) - 1
    out[..., :mids] = scaling * xf[..., :mids]
    if mide >= 0:
        out[..., n - mide - 1 :] = scaling * xf[..., length - mide - 1 :]
    return out
