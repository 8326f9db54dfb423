"""Shared input checking and the thread policy of fastcf's own trackers."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastcf.api import Box, Frame, TrackResult, check_box, check_frame, frame_size
from fastcf.errors import FastCFError, FrameError
from fastcf.threads import ThreadScope, check_threads


@dataclass(frozen=True)
class TrackerSettings:
    """Fields every fastcf tracker config has.

    ``threads``: the threads a tracker computes on inside its ``init`` / ``update`` calls
    (BLAS/OpenMP pools, torch intra-op, OpenCV; :mod:`fastcf.threads`). Default 1, the
    single-core setting of the papers; the caller's own thread settings are restored after
    every call.
    """

    threads: int = field(default=1, kw_only=True)

    def __post_init__(self) -> None:
        check_threads(self.threads, f"{type(self).__name__}.threads")
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:  # cooperative: e.g. AdaptationSettings checks its fields
            parent()


class BaseTracker(ABC):
    """Validates frames and boxes, checks the frame size stays constant, runs ``init`` and
    ``update`` inside the config's thread scope (``config.threads``, default 1), and guards
    the output: a non-finite box from a subclass becomes ``ok=False`` at the last good box.

    Subclasses implement ``_init(frame, box)`` and ``_update(frame) -> TrackResult``.
    """

    name: str = "base"

    def __init__(self, config: Any) -> None:
        self.config = config
        self._size: tuple[int, int] | None = None
        self._frame_index = -1
        self._last_box: Box | None = None
        self._threads: ThreadScope | None = None

    @property
    def threads(self) -> int:
        """Threads this tracker computes on (``config.threads``; 1 when not set)."""
        return int(getattr(self.config, "threads", 1))

    @property
    def frame_index(self) -> int:
        """Index of the last frame seen (0 is the init frame)."""
        return self._frame_index

    def init(self, frame: Frame, box: Sequence[float]) -> None:
        frame = check_frame(frame, where="init frame")
        size = frame_size(frame)
        checked = check_box(box, size, where="init box")
        self._size = size
        self._frame_index = 0
        self._last_box = checked
        # built here, after the extractors (and their libraries) are loaded
        self._threads = ThreadScope(self.threads)
        with self._threads:
            self._init(frame, checked)

    def update(self, frame: Frame) -> TrackResult:
        if self._size is None or self._last_box is None:
            raise FastCFError(f"{self.name}: update() called before init()")
        index = self._frame_index + 1
        frame = check_frame(frame, where=f"frame {index}")
        size = frame_size(frame)
        if size != self._size:
            raise FrameError(
                f"frame {index}: size changed from {self._size[0]}x{self._size[1]} "
                f"to {size[0]}x{size[1]} mid-sequence; call init() again for a new video"
            )
        self._frame_index = index
        assert self._threads is not None
        with self._threads:
            result = self._update(frame)
        x, y, w, h = result.box
        if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
            return TrackResult(False, self._last_box, 0.0)
        score = result.score if math.isfinite(result.score) else 0.0
        self._last_box = (float(x), float(y), float(w), float(h))
        return TrackResult(bool(result.ok), self._last_box, float(score))

    @abstractmethod
    def _init(self, frame: Frame, box: Box) -> None: ...

    @abstractmethod
    def _update(self, frame: Frame) -> TrackResult: ...
