"""Windows."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def hann(n: int) -> npt.NDArray[np.float64]:
    """Symmetric Hann window of length ``n`` (MATLAB's ``hann(n)``)."""
    if n < 1:
        raise ValueError(f"hann: length must be >= 1, got {n}")
    if n == 1:
        return np.ones(1)
    k = np.arange(n, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2 * np.pi * k / (n - 1))


def cosine_window(h: int, w: int) -> npt.NDArray[np.float32]:
    """ECO's cosine window: ``hann(h + 2) hann(w + 2)'`` without its zero border."""
    win = np.outer(hann(h + 2)[1:-1], hann(w + 2)[1:-1])
    return win.astype(np.float32)
