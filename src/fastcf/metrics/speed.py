"""The speed vocabulary of fastcf: one definition, used by ``track``, ``eval``, ``report``
and ``bench``.

Input: per sequence, the tracker's seconds per frame, ``times[0]`` being the ``init``
call on frame 0 and ``times[i]`` the ``update`` on frame ``i`` (``time.perf_counter``
around the tracker call only: **decoding excluded**). Optionally the seconds spent
decoding each frame, which never enter the tracker figures.

Per sequence (:class:`SequenceSpeed`):

* **throughput FPS** = frames / total tracking time, the init frame and its init time
  included (what the OTB toolkit and the papers report as "FPS");
* **latency** median / p95 / max in ms over the update frames (frame 0 excluded);
* **init ms**: the ``init`` call;
* **decode ms**: mean decode time per frame, reported separately (NaN when unknown).

Over sequences (:class:`SpeedSummary`):

* **throughput FPS** = the mean of the per-sequence throughputs: the headline figure;
* **pooled FPS** = all frames / all tracking time (long sequences weigh more);
* **latency** median / p95 / max over the update frames of all sequences pooled;
* **init ms**: the median of the per-sequence init times;
* **decode ms**: all decode time / all decoded frames.

A sequence whose times are missing, of another length than its frames, negative or not
finite has no speed (:meth:`SequenceSpeed.unknown`) and is left out of the summary.
Percentiles are numpy's linear interpolation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

NAN = float("nan")

#: What every speed figure means (written into JSON outputs and docs).
DEFINITIONS: dict[str, str] = {
    "throughput_fps": "frames / total tracking time per sequence (init frame and init time "
    "included, decoding excluded), then the mean over sequences: the headline figure",
    "throughput_fps_pooled": "all frames / all tracking time of all sequences",
    "latency_ms": "median, p95 and max of the per-frame update time (frame 0 excluded), "
    "pooled over sequences",
    "init_ms": "the init call on frame 0 (median over sequences in summaries)",
    "decode_ms": "image decoding per frame, measured separately, never in tracker time",
}


@dataclass(frozen=True)
class SequenceSpeed:
    """Speed of one tracker on one sequence (see the module doc); NaN fields when unknown."""

    frames: int  # frames timed, init frame included (0: unknown)
    tracking_seconds: float  # init + every update
    throughput_fps: float  # frames / tracking_seconds
    init_ms: float
    latency_median_ms: float  # update frames only
    latency_p95_ms: float
    latency_max_ms: float
    decode_ms: float = NAN  # mean per decoded frame

    @property
    def known(self) -> bool:
        return self.frames > 0

    @staticmethod
    def unknown(decode_ms: float = NAN) -> SequenceSpeed:
        return SequenceSpeed(0, NAN, NAN, NAN, NAN, NAN, NAN, decode_ms)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the standard names (non-finite values as ``None``)."""
        return {
            "frames": self.frames,
            "tracking_seconds": _num(self.tracking_seconds),
            "throughput_fps": _num(self.throughput_fps),
            "init_ms": _num(self.init_ms),
            "latency_ms": {
                "median": _num(self.latency_median_ms),
                "p95": _num(self.latency_p95_ms),
                "max": _num(self.latency_max_ms),
            },
            "decode_ms": _num(self.decode_ms),
        }


@dataclass(frozen=True)
class SpeedSummary:
    """Speed of one tracker over several sequences (see the module doc)."""

    sequences: int  # sequences with a known speed
    frames: int
    throughput_fps: float  # mean of the per-sequence throughputs (headline)
    throughput_fps_pooled: float  # all frames / all tracking time
    init_ms_median: float
    latency_median_ms: float  # pooled update frames
    latency_p95_ms: float
    latency_max_ms: float
    decode_ms: float = NAN

    def to_dict(self) -> dict[str, Any]:
        return {
            "sequences": self.sequences,
            "frames": self.frames,
            "throughput_fps": _num(self.throughput_fps),
            "throughput_fps_pooled": _num(self.throughput_fps_pooled),
            "init_ms_median": _num(self.init_ms_median),
            "latency_ms": {
                "median": _num(self.latency_median_ms),
                "p95": _num(self.latency_p95_ms),
                "max": _num(self.latency_max_ms),
            },
            "decode_ms": _num(self.decode_ms),
        }


def _num(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def valid_times(times: npt.ArrayLike | None, frames: int | None = None) -> bool:
    """True when ``times`` can be scored: one finite value >= 0 per frame, total > 0."""
    if times is None:
        return False
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    if t.size == 0 or (frames is not None and t.size != frames):
        return False
    return bool(np.all(np.isfinite(t)) and np.all(t >= 0) and t.sum() > 0)


def _decode_ms(decode_times: npt.ArrayLike | None) -> float:
    if decode_times is None:
        return NAN
    d = np.asarray(decode_times, dtype=np.float64).reshape(-1)
    if d.size == 0 or not np.all(np.isfinite(d)):
        return NAN
    return float(d.mean() * 1000.0)


def _latency(update_seconds: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    if update_seconds.size == 0:
        return NAN, NAN, NAN
    ms = update_seconds * 1000.0
    p50, p95 = np.percentile(ms, [50, 95])
    return float(p50), float(p95), float(ms.max())


def sequence_speed(
    times: npt.ArrayLike | None,
    decode_times: npt.ArrayLike | None = None,
    frames: int | None = None,
) -> SequenceSpeed:
    """Speed of one sequence from its per-frame tracker seconds (``times[0]`` = init).

    ``frames``: the expected number of frames (times of another length: unknown speed).
    """
    decode = _decode_ms(decode_times)
    if not valid_times(times, frames):
        return SequenceSpeed.unknown(decode)
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    total = float(t.sum())
    med, p95, mx = _latency(t[1:])
    return SequenceSpeed(
        frames=int(t.size),
        tracking_seconds=total,
        throughput_fps=t.size / total,
        init_ms=float(t[0] * 1000.0),
        latency_median_ms=med,
        latency_p95_ms=p95,
        latency_max_ms=mx,
        decode_ms=decode,
    )


def summarize_speed(
    times_per_sequence: Iterable[npt.ArrayLike | None],
    decode_per_sequence: Iterable[npt.ArrayLike | None] | None = None,
) -> SpeedSummary:
    """Speed over sequences (see the module doc); sequences with invalid times are left out.

    ``decode_per_sequence`` (optional, same order) gives each sequence's decode seconds
    per frame.
    """
    all_times = list(times_per_sequence)
    decodes: Sequence[npt.ArrayLike | None] = (
        list(decode_per_sequence) if decode_per_sequence is not None else [None] * len(all_times)
    )
    if len(decodes) != len(all_times):
        raise ValueError(f"{len(decodes)} decode-time arrays for {len(all_times)} sequences")
    kept = [np.asarray(t, dtype=np.float64).reshape(-1) for t in all_times if valid_times(t)]
    dec = [
        np.asarray(d, dtype=np.float64).reshape(-1)
        for d in decodes
        if d is not None and np.size(d) and np.all(np.isfinite(d))
    ]
    decode = float(np.concatenate(dec).mean() * 1000.0) if dec else NAN
    if not kept:
        return SpeedSummary(0, 0, NAN, NAN, NAN, NAN, NAN, NAN, decode)
    frames = sum(t.size for t in kept)
    total = sum(float(t.sum()) for t in kept)
    med, p95, mx = _latency(np.concatenate([t[1:] for t in kept]))
    return SpeedSummary(
        sequences=len(kept),
        frames=frames,
        throughput_fps=float(np.mean([t.size / float(t.sum()) for t in kept])),
        throughput_fps_pooled=frames / total,
        init_ms_median=float(np.median([t[0] * 1000.0 for t in kept])),
        latency_median_ms=med,
        latency_p95_ms=p95,
        latency_max_ms=mx,
        decode_ms=decode,
    )


def format_line(s: SpeedSummary | SequenceSpeed) -> str:
    """One human line with the standard names, e.g. for ``fastcf track`` and ``eval``."""
    if isinstance(s, SequenceSpeed):
        head = f"throughput {s.throughput_fps:.1f} FPS ({s.frames} frames)"
        init = f"init {s.init_ms:.1f} ms"
    else:
        head = (
            f"throughput {s.throughput_fps:.1f} FPS (mean of {s.sequences} sequences; "
            f"pooled {s.throughput_fps_pooled:.1f})"
        )
        init = f"init {s.init_ms_median:.1f} ms (median)"
    line = (
        f"{head}, latency median {s.latency_median_ms:.1f} / p95 {s.latency_p95_ms:.1f} / "
        f"max {s.latency_max_ms:.1f} ms, {init}"
    )
    if math.isfinite(s.decode_ms):
        line += f", decode {s.decode_ms:.2f} ms/frame (excluded)"
    return line
