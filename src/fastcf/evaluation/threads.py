"""Keep one process on one CPU thread: torch, OpenCV and the BLAS/OpenMP pools.

Thread-pool sizes of OpenBLAS/MKL/OpenMP are read from the environment when those
libraries load, i.e. when numpy/torch/cv2 are first imported. A fresh worker process
therefore has to get the variables *before* it imports anything heavy; with the
``spawn`` start method the child inherits the parent's ``os.environ`` at start time,
so :func:`single_thread_env` sets them in the parent around process creation.
Inside a process whose libraries are already loaded, :func:`limit_threads` applies
the run-time controls (``torch.set_num_threads``, ``cv2.setNumThreads`` and
threadpoolctl when installed) and restores them afterwards.

This module imports nothing heavy at import time.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Environment variables that size the native thread pools.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def single_thread_vars(threads: int = 1) -> dict[str, str]:
    """The environment that makes a fresh process use ``threads`` native threads."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return {name: str(threads) for name in THREAD_ENV_VARS}


@contextmanager
def single_thread_env(threads: int = 1) -> Iterator[dict[str, str]]:
    """Set the thread variables in ``os.environ`` (for child processes) and restore them."""
    values = single_thread_vars(threads)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield values
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def apply_thread_limits(threads: int = 1, import_torch: bool = False) -> None:
    """Limit the run-time thread pools of this process (no restore; for worker processes).

    Sets the environment variables too, so that libraries loaded later start with one
    thread. torch is only touched when already imported, unless ``import_torch``.
    """
    os.environ.update(single_thread_vars(threads))
    if import_torch or "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
    if "cv2" in sys.modules or importlib.util.find_spec("cv2") is not None:
        import cv2

        cv2.setNumThreads(threads)
    if importlib.util.find_spec("threadpoolctl") is not None:
        import threadpoolctl

        threadpoolctl.threadpool_limits(threads)


@contextmanager
def limit_threads(threads: int = 1) -> Iterator[None]:
    """Limit torch/OpenCV/BLAS threads of the current process inside the block, then restore
    (a :class:`fastcf.threads.ThreadScope` over the libraries loaded now).

    Use in a process whose libraries are already loaded (e.g. the caller's process when
    the runner works in-process); fresh processes should use :func:`single_thread_env`.
    """
    import cv2  # noqa: F401  (loaded first, so that its pools are in the scope)

    from fastcf.threads import ThreadScope

    with ThreadScope(threads):
        yield


def effective_threads(import_torch: bool = True) -> dict[str, Any]:
    """What the current process will actually use: torch, OpenCV, env vars, BLAS pools."""
    info: dict[str, Any] = {}
    if import_torch or "torch" in sys.modules:
        try:
            import torch

            info["torch"] = int(torch.get_num_threads())
            info["torch_interop"] = int(torch.get_num_interop_threads())
        except ImportError:
            info["torch"] = None
    import cv2

    info["opencv"] = int(cv2.getNumThreads())
    info["env"] = {name: os.environ.get(name) for name in THREAD_ENV_VARS}
    if importlib.util.find_spec("threadpoolctl") is not None:
        import threadpoolctl

        info["blas_pools"] = [
            {"api": p.get("internal_api"), "threads": p.get("num_threads")}
            for p in threadpoolctl.threadpool_info()
        ]
    return info


def check_single_thread(info: dict[str, Any], threads: int = 1) -> list[str]:
    """Problems found in :func:`effective_threads` output (empty when all pools are limited)."""
    problems = []
    for key in ("torch", "opencv"):
        value = info.get(key)
        if value is not None and value > threads:
            problems.append(f"{key} uses {value} threads (expected {threads})")
    for name, value in info.get("env", {}).items():
        if value != str(threads):
            problems.append(f"{name}={value!r} (expected {threads})")
    for pool in info.get("blas_pools", []):
        if pool["threads"] is not None and pool["threads"] > threads:
            problems.append(f"{pool['api']} pool uses {pool['threads']} threads")
    return problems
