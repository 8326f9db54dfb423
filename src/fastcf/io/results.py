"""Result files in the layout other toolkits read.

    <root>/<dataset>/<tracker>/<seq>.txt               x,y,w,h per frame (dataset convention)
    <root>/<dataset>/<tracker>/times/<seq>_time.txt    tracker seconds per frame (no decoding)
    <root>/<dataset>/<tracker>/scores/<seq>_score.txt  ok,score per frame
    <root>/<dataset>/<tracker>/errors/<seq>.txt        only when the sequence failed
    <root>/<dataset>/<tracker>/meta/<seq>.json         what produced the result (below)
    <root>/<dataset>/<tracker>/configs/<fp>.json       the full config of fingerprint <fp>

``<dataset>`` is the dataset's name (its folder name, or one given with ``--name``).
Box and time files match the got10k toolkit's layout, so either tool can score them; the
times are written with full float precision (``repr``), so that every tool reading them
computes the same speed as the run that measured them. The meta file of a sequence
records the fingerprint of the tracker's settings (:mod:`fastcf.evaluation.identity`),
fastcf's version, the sequence's length and first box, the decode time and the dataset;
``configs/<fingerprint>.json`` holds the full resolved config, the network weights'
sha256 and fastcf's version behind that fingerprint.
Files are written to a temporary name and renamed, the box file last, so an interrupted
run never leaves a truncated result that a resumed run would take as complete.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fastcf.errors import AnnotationError


@dataclass(frozen=True)
class ResultPaths:
    boxes: Path
    times: Path
    scores: Path
    error: Path
    meta: Path

    @property
    def tracker_dir(self) -> Path:
        return self.boxes.parent


def result_paths(root: str | Path, dataset: str, tracker: str, sequence: str) -> ResultPaths:
    base = Path(root) / dataset / tracker
    return ResultPaths(
        boxes=base / f"{sequence}.txt",
        times=base / "times" / f"{sequence}_time.txt",
        scores=base / "scores" / f"{sequence}_score.txt",
        error=base / "errors" / f"{sequence}.txt",
        meta=base / "meta" / f"{sequence}.json",
    )


def config_path(tracker_dir: str | Path, fingerprint: str) -> Path:
    """``<tracker_dir>/configs/<fingerprint>.json``."""
    return Path(tracker_dir) / "configs" / f"{fingerprint}.json"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_result(
    paths: ResultPaths,
    boxes: npt.ArrayLike,
    times: npt.ArrayLike,
    oks: npt.ArrayLike | None = None,
    scores: npt.ArrayLike | None = None,
    meta: dict[str, Any] | None = None,
) -> None:
    """Write one sequence's boxes (already in the dataset convention), times, scores and
    meta (the box file last: its presence marks the sequence complete)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    if len(t) != len(b):
        raise ValueError(f"{len(b)} boxes but {len(t)} times")
    _atomic_write(paths.times, "".join(f"{float(v)!r}\n" for v in t))
    if scores is not None:
        s = np.asarray(scores, dtype=np.float64).reshape(-1)
        o = np.ones(len(s), bool) if oks is None else np.asarray(oks, bool).reshape(-1)
        lines = (f"{int(k)},{v:.6f}\n" for k, v in zip(o, s, strict=True))
        _atomic_write(paths.scores, "".join(lines))
    if meta is not None:
        _atomic_write(paths.meta, json.dumps(meta, indent=1, sort_keys=True) + "\n")
    elif paths.meta.exists():
        paths.meta.unlink()
    if paths.error.exists():
        paths.error.unlink()
    # boxes last: their presence marks the sequence as complete
    _atomic_write(paths.boxes, "".join(",".join(f"{v:.3f}" for v in row) + "\n" for row in b))


def write_error(paths: ResultPaths, message: str) -> None:
    """Record a failed sequence; a stale result of it (boxes, meta) is removed."""
    for stale in (paths.boxes, paths.meta):
        if stale.exists():
            stale.unlink()
    _atomic_write(paths.error, message.rstrip() + "\n")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON atomically (used for ``configs/<fingerprint>.json``)."""
    _atomic_write(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def read_json(path: str | Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; None when the file is absent or not a JSON object."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read_meta(paths: ResultPaths) -> dict[str, Any] | None:
    """The meta record of a sequence's result (None: absent or unreadable)."""
    return read_json(paths.meta)


_ERROR_HEADER = ("tracker:", "sequence:", "frame:")


def error_message(path: str | Path) -> str:
    """The error a failed sequence's ``errors/<seq>.txt`` records, as one line.

    Files written by fastcf give ``frame N: <exception>``; a foreign file gives its first
    line that is not a ``tracker:`` / ``sequence:`` / ``frame:`` header.
    """
    p = Path(path)
    try:
        lines = [line.strip() for line in p.read_text(errors="replace").splitlines()]
    except OSError as exc:
        return f"unreadable error file {p}: {exc}"
    lines = [line for line in lines if line]
    if not lines:
        return f"failed (empty error file {p})"
    frame = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("frame:")), "")
    error = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("error:")), "")
    if error:
        return f"frame {frame}: {error}" if frame and frame != "unknown" else error
    for line in lines:
        if not line.lower().startswith(_ERROR_HEADER):
            return line
    return lines[0]


def read_boxes(path: str | Path) -> npt.NDArray[np.float64]:
    """Read an ``x,y,w,h`` file (comma, tab or space separated); NaN allowed."""
    p = Path(path)
    rows: list[list[float]] = []
    for lineno, line in enumerate(p.read_text().splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        parts = text.replace(",", " ").replace("\t", " ").split()
        if len(parts) != 4:
            raise AnnotationError(f"{p}:{lineno}: expected 4 values x,y,w,h, got {len(parts)}")
        try:
            rows.append([float(v) for v in parts])
        except ValueError:
            raise AnnotationError(f"{p}:{lineno}: non-numeric value in {text!r}") from None
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def read_times(path: str | Path) -> npt.NDArray[np.float64]:
    p = Path(path)
    if not p.exists():
        return np.zeros(0)
    return np.array([float(v) for v in p.read_text().split()], dtype=np.float64)


def read_scores(path: str | Path) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    p = Path(path)
    if not p.exists():
        return np.zeros(0, bool), np.zeros(0)
    data = np.array(
        [[float(v) for v in line.split(",")] for line in p.read_text().splitlines() if line],
        dtype=np.float64,
    ).reshape(-1, 2)
    return data[:, 0].astype(bool), data[:, 1]


def is_complete(paths: ResultPaths, num_frames: int) -> bool:
    """True when a previous run wrote a full result for this sequence (resume)."""
    if not paths.boxes.exists():
        return False
    try:
        return len(read_boxes(paths.boxes)) == num_frames
    except (AnnotationError, OSError):
        return False
