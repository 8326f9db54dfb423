"""The thread policy: a tracker computes on ``threads`` threads (default 1), and only
inside its own calls.

:class:`ThreadScope` limits, for the duration of a ``with`` block,

* the BLAS / OpenMP pools that are loaded in the process (OpenBLAS, MKL, BLIS, libgomp,
  ...), through ``threadpoolctl``;
* PyTorch's intra-op threads (``torch.set_num_threads``), when torch is loaded;
* OpenCV's threads (``cv2.setNumThreads``),

and restores every one of them to what it was on entry, so that the caller's own code
keeps its settings. fastcf's trackers enter a scope around each ``init`` and ``update``
(:class:`fastcf.trackers.base.BaseTracker`), with ``config.threads`` threads: the paper's
single-core setting by default, and no oversubscription of a busy machine.

Entering and leaving a scope costs about 15 microseconds when the pools must change and
less when they already have the wanted size (an ad-hoc timing on the development machine).

This module imports nothing heavy at import time.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from fastcf.errors import ConfigError


def check_threads(threads: object, where: str = "threads") -> int:
    """``threads`` as an int >= 1, else a :class:`ConfigError` naming ``where``."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"{where} must be an integer >= 1, got {threads!r}")
    return threads


def _controller() -> Any:
    """A threadpoolctl controller over the native pools loaded right now."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class ThreadScope:
    """Re-entrant ``with`` scope that runs its body on ``threads`` threads (see module doc).

    Build it after the libraries the body uses are loaded (a tracker builds its scope at
    ``init``): the native pools are enumerated once, when the scope is made. Nested
    entries of the same scope only count depth.
    """

    def __init__(self, threads: int = 1) -> None:
        self.threads = check_threads(threads)
        self._pools = _controller()
        self._depth = 0
        self._undo: list[Any] = []

    def __enter__(self) -> ThreadScope:
        self._depth += 1
        if self._depth > 1:
            return self
        n = self.threads
        undo: list[Any] = []
        blas_limited = False
        for lib in self._pools.lib_controllers:
            if lib.num_threads != n:
                blas_limited = True
                break
        if blas_limited:
            limiter = self._pools.limit(limits=n)
            undo.append(limiter.restore_original_limits)
        torch = sys.modules.get("torch")
        if torch is not None:
            old_torch = torch.get_num_threads()
            if old_torch != n:
                torch.set_num_threads(n)
                undo.append(lambda: torch.set_num_threads(old_torch))
        cv2 = sys.modules.get("cv2")
        if cv2 is not None:
            old_cv = cv2.getNumThreads()
            if old_cv != n:
                cv2.setNumThreads(n)
                undo.append(lambda: cv2.setNumThreads(old_cv))
        self._undo = undo
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        undo, self._undo = self._undo, []
        for step in reversed(undo):
            step()


def current_threads() -> dict[str, Any]:
    """What this process uses now: torch intra-op, OpenCV, and each loaded BLAS/OpenMP pool."""
    info: dict[str, Any] = {}
    torch = sys.modules.get("torch")
    info["torch"] = None if torch is None else int(torch.get_num_threads())
    cv2 = sys.modules.get("cv2")
    info["opencv"] = None if cv2 is None else int(cv2.getNumThreads())
    info["blas_pools"] = [
        {"api": lib.internal_api, "prefix": lib.prefix, "threads": lib.num_threads}
        for lib in _controller().lib_controllers
    ]
    return info
