"""Linear feature compression (ECO's factorised convolution projection matrix)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fastcf.cf.fourier import real_view


def pca_projection(x: npt.NDArray[np.floating], dim: int) -> npt.NDArray[np.float32]:
    """``(D, dim)`` PCA basis of the channels of ``x`` ``(D, h, w)`` (or ``(N, D, h, w)``).

    As ECO's ``proj_init_method = 'pca'``: mean over pixels removed, left singular vectors
    of ``X^T X`` (the ``dim`` leading ones). Signs are fixed so that the largest entry of
    each column is positive (deterministic).

    The basis comes from the symmetric eigendecomposition of the ``(D, D)`` second-moment
    matrix (the same vectors as its SVD, eigenvalues sorted descending): LAPACK's SVD
    driver in NumPy 2.4's OpenBLAS fails to converge on some rank-deficient matrices
    (512 VGG16 ``conv4_3`` channels over 15x15 cells), the symmetric solver does not.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 4:
        arr = np.moveaxis(arr, 1, 0).reshape(arr.shape[1], -1)
    elif arr.ndim == 3:
        arr = arr.reshape(arr.shape[0], -1)
    else:
        raise ValueError(f"pca_projection: expected (D, h, w) or (N, D, h, w), got {x.shape}")
    d = arr.shape[0]
    if not 1 <= dim <= d:
        raise ValueError(f"pca_projection: dim must be in 1..{d}, got {dim}")
    arr = arr - arr.mean(axis=1, keepdims=True)
    gram = arr @ arr.T
    gram = 0.5 * (gram + gram.T)  # exactly symmetric for the symmetric solver
    values, vectors = np.linalg.eigh(gram)
    del values  # eigh returns them ascending
    p = vectors[:, ::-1][:, :dim]
    signs = np.sign(p[np.abs(p).argmax(axis=0), np.arange(dim)])
    signs[signs == 0] = 1
    return (p * signs).astype(np.float32)


def project(x: npt.NDArray, p: npt.NDArray) -> npt.NDArray:
    """Apply a ``(D, C)`` projection to the channel axis (``-3``) of ``(..., D, h, w)``."""
    *lead, d, h, w = x.shape
    c = p.shape[1]
    if np.iscomplexobj(x):
        # real matrix times complex data as one real product on the interleaved (re, im)
        # view: a real GEMM instead of a complex one (the latter, with a cast matrix, was
        # 100x slower under multi-threaded BLAS on a busy machine)
        real = real_view(x, *lead, d, h * w)
        out = np.matmul(p.T.astype(real.dtype), real)
        return np.ascontiguousarray(out).view(x.dtype).reshape(*lead, c, h, w)
    out = np.matmul(p.T.astype(x.dtype), x.reshape(*lead, d, h * w))
    return out.reshape(*lead, c, h, w)
