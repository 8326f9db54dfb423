"""Plain functions that normalise feature maps, and the non-finite guard.

* :func:`eco_normalize` -- ECO's ``feature_normalization`` (``normalize_power``,
  ``normalize_size``, ``normalize_dim``): each sample of a block is scaled so that
  ``sum(|x|^p) = (h*w)^size_norm * C^dim_norm``.
* :func:`minmax_normalize` -- DeepSTRCF's per-sample, per-channel CNN normalisation
  ``(x - min) / (max + delta - min)``.
* :func:`guard_finite` -- the NaN/inf policy shared by all extractors (docs/features.md).
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import numpy.typing as npt

from fastcf.errors import FastCFError

NonFinitePolicy = Literal["warn", "zero", "raise"]
_EPS = float(np.finfo(np.float64).eps)  # MATLAB's ``eps``


def _check4(x: np.ndarray, where: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{where}: expected a (N, C, h, w) array, got shape {x.shape}")


def eco_normalize(
    x: npt.NDArray[np.floating],
    power: float = 2.0,
    size_norm: bool = True,
    dim_norm: bool = True,
) -> npt.NDArray[np.float32]:
    """ECO feature normalisation of one block ``(N, C, h, w)``, per sample.

    ``x * ((h*w)^size_norm * C^dim_norm / (sum |x|^power + eps))^(1/power)``.
    With the ECO defaults (power 2, both flags on) every sample ends with
    ``sum(x^2) = h*w*C``, i.e. a mean squared value of 1 per cell and channel.
    """
    x = np.asarray(x)
    _check4(x, "eco_normalize")
    if not power > 0:
        raise ValueError(f"eco_normalize: power must be > 0, got {power}")
    n, c, h, w = x.shape
    target = float(h * w) ** int(size_norm) * float(c) ** int(dim_norm)
    if power == 2:
        total = np.einsum("nchw,nchw->n", x, x, dtype=np.float64)
    else:
        total = np.sum(np.abs(x, dtype=np.float64) ** power, axis=(1, 2, 3))
    scale = (target / (total + _EPS)) ** (1.0 / power)
    return (x * scale[:, None, None, None].astype(np.float32)).astype(np.float32, copy=False)


def minmax_normalize(x: npt.NDArray[np.floating], delta: float = 1e-7) -> npt.NDArray[np.float32]:
    """Per-sample, per-channel ``(x - min) / (max + delta - min)`` of ``(N, C, h, w)``."""
    x = np.asarray(x, dtype=np.float32)
    _check4(x, "minmax_normalize")
    lo = x.min(axis=(2, 3), keepdims=True)
    hi = x.max(axis=(2, 3), keepdims=True) + np.float32(delta)
    return (x - lo) / (hi - lo)


def guard_finite(
    x: npt.NDArray[np.float32], where: str, policy: NonFinitePolicy = "warn"
) -> npt.NDArray[np.float32]:
    """Apply the non-finite policy to a feature block and return it.

    ``"warn"`` (default): replace NaN/+-inf by 0 and emit a :class:`RuntimeWarning` that
    names the block and the count. ``"zero"``: replace silently. ``"raise"``: raise
    :class:`fastcf.errors.FastCFError`. Finite input is returned unchanged (no copy).
    """
    if policy not in ("warn", "zero", "raise"):
        raise ValueError(f"non-finite policy must be 'warn', 'zero' or 'raise', got {policy!r}")
    finite = np.isfinite(x)
    if finite.all():
        return x
    bad = int(x.size - np.count_nonzero(finite))
    msg = f"{where}: {bad} of {x.size} feature values are NaN or infinite"
    if policy == "raise":
        raise FastCFError(msg)
    if policy == "warn":
        warnings.warn(msg + "; replaced by 0", RuntimeWarning, stacklevel=3)
    return np.where(finite, x, np.float32(0.0)).astype(np.float32, copy=False)
