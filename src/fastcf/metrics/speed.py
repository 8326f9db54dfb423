"""Tracking speed from per-frame times (seconds, tracker only, decoding excluded).

Frame 0 is the initialisation (``init``), not a tracking step, so it is left out; times
that are not finite or not > 0 (unknown) are dropped. Speed is the median over the
remaining frames of ``1 / time`` (robust to the odd slow frame, unlike got10k's mean), and
latency is the 95th percentile of the times, in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class SpeedStats:
    median_fps: float  # nan when no time is known
    mean_fps: float
    p95_latency_ms: float
    num_frames: int


def tracking_times(times: npt.ArrayLike, skip_first: bool = True) -> npt.NDArray[np.float64]:
    """The per-frame times that count: frame 0 dropped, unknown (<= 0, NaN) dropped."""
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    if skip_first:
        t = t[1:]
    return t[np.isfinite(t) & (t > 0)]


def speed_stats(times_per_sequence: Iterable[npt.ArrayLike], skip_first: bool = True) -> SpeedStats:
    """Speed over the frames of all sequences pooled (each sequence's frame 0 dropped)."""
    parts = [tracking_times(t, skip_first) for t in times_per_sequence]
    t = np.concatenate(parts) if parts else np.zeros(0)
    if t.size == 0:
        nan = float("nan")
        return SpeedStats(nan, nan, nan, 0)
    fps = 1.0 / t
    return SpeedStats(
        median_fps=float(np.median(fps)),
        mean_fps=float(np.mean(fps)),
        p95_latency_ms=float(np.percentile(t, 95) * 1000.0),
        num_frames=int(t.size),
    )
