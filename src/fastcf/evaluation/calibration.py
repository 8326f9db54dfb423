"""How fast is this core today: a fixed reference workload timed beside every speed run.

Absolute tracker speeds drift between machines and days (a shared virtual machine can
run the same code several times slower). fastcf therefore never compares speeds across
runs without also recording how fast the core was: :func:`reference_speed` times two
fixed single-threaded workloads that stand for what a CF tracker spends its time on,

* ``python_ms``: a pure-Python loop of 10**6 integer additions (interpreter overhead);
* ``numpy_ms``: a fixed NumPy workload on one 256 x 256 float32 image: a 2-D FFT, its
  inverse, gradients, an ``arctan2`` / ``hypot`` pass and a 9-bin orientation histogram
  (``np.bincount``), as in fHOG,

each the fastest of ``repeats`` runs, in milliseconds. Two runs of the same tracker
can be compared only where these figures agree; where they differ, the ratio of the
reference times is the expected ratio of the tracker times (docs/evaluation.md).
The workload is fixed forever: changing it breaks every comparison with older files.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def _python_loop() -> None:
    total = 0
    for i in range(1_000_000):
        total += i


def _numpy_workload(image: np.ndarray) -> None:
    spectrum = np.fft.fft2(image)
    back = np.fft.ifft2(spectrum).real
    gy, gx = np.gradient(back)
    angle = np.arctan2(gy, gx)
    magnitude = np.hypot(gy, gx)
    bins = ((angle + np.pi) * (9 / (2 * np.pi))).astype(np.int64) % 9
    np.bincount(bins.ravel(), weights=magnitude.ravel(), minlength=9)


def _fastest(fn: Callable[[], None], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return 1000.0 * best


def reference_speed(repeats: int = 5) -> dict[str, float]:
    """``{"python_ms": ..., "numpy_ms": ...}``: the fastest of ``repeats`` runs of each
    reference workload on this thread (see the module doc). Takes about
    ``repeats * (python_ms + numpy_ms)`` milliseconds (~0.3-1 s with the default).

    Raises:
        ValueError: ``repeats`` < 1.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rng = np.random.default_rng(0)
    image = rng.random((256, 256), dtype=np.float32)
    return {
        "python_ms": _fastest(_python_loop, repeats),
        "numpy_ms": _fastest(lambda: _numpy_workload(image), repeats),
    }
