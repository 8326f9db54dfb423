"""Progress display for evaluation runs: sequences done/total, frames, pooled throughput."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """A tqdm bar over tasks (tracker x sequence) with frames and FPS in the postfix.

    ``quiet=True`` shows nothing (tests, scripts). ``pooled_fps`` is the pooled throughput
    of the tasks so far: frames tracked divided by the time spent inside
    ``init``/``update`` (decoding excluded; :mod:`fastcf.metrics.speed`).
    """

    def __init__(self, total: int, quiet: bool = False, desc: str = "eval") -> None:
        self.total = total
        self.quiet = quiet
        self.tasks_done = 0
        self.frames = 0
        self.track_seconds = 0.0
        self.failed = 0
        self._bar: Any = None
        self._last_refresh = 0.0
        # on a terminal refresh 5 times a second; in a log file every 10 s
        self._interval = 0.2 if sys.stderr.isatty() else 10.0
        if not quiet:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                desc=desc,
                unit="seq",
                file=sys.stderr,
                leave=True,
                mininterval=self._interval,
            )

    @property
    def fps(self) -> float:
        return self.frames / self.track_seconds if self.track_seconds > 0 else 0.0

    def add_frames(self, frames: int, seconds: float) -> None:
        """Frames tracked (and tracker seconds spent) since the last call."""
        self.frames += frames
        self.track_seconds += seconds
        self._refresh(force=False)

    def task_done(self, failed: bool = False) -> None:
        self.tasks_done += 1
        self.failed += int(failed)
        if self._bar is not None:
            self._bar.update(1)
        self._refresh()

    def _refresh(self, force: bool = True) -> None:
        if self._bar is None:
            return
        now = time.monotonic()
        if not force and now - self._last_refresh < self._interval:
            return
        self._last_refresh = now
        postfix = {"frames": self.frames, "pooled_fps": f"{self.fps:.1f}"}
        if self.failed:
            postfix["failed"] = self.failed
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
