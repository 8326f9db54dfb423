"""VOT trajectory files, in the VOT toolkit's text layout, for fastcf's VOT protocols.

    <root>/<tracker>/<experiment>/<sequence>/<sequence>_001.txt              one line a frame
    <root>/<tracker>/<experiment>/<sequence>/<sequence>_001_time.value       seconds a frame
    <root>/<tracker>/<experiment>/<sequence>/<sequence>_001_confidence.value score a frame
    <root>/<tracker>/<experiment>/<sequence>/<sequence>_001_held.value       real-time only
    <root>/<tracker>/<experiment>/errors/<sequence>.txt                      a failed run

A trajectory line is ``1`` (initialisation), ``2`` (failure), ``0`` (not run: skipped
after a failure) or a 0-based box ``x,y,w,h``, as the VOT toolkit writes its text results
(``VOT_RESULTS_BINARY=false``), so fastcf can score the toolkit's runs and the other way
round. ``fastcf eval`` uses ``<root> = <results>/<dataset>``; a VOT workspace's results
folder is ``<workspace>/results``.

Note: the trajectory does not record the box the tracker gave on a failure frame (the
toolkit writes ``2`` there too); :func:`read_run` gives NaN for it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fastcf.errors import AnnotationError
from fastcf.evaluation.vot import FAILURE, INITIALIZATION, NOT_RUN, TRACKED, VOTRun

_CODES = {"0": NOT_RUN, "1": INITIALIZATION, "2": FAILURE}


def run_folder(root: str | Path, tracker: str, experiment: str, sequence: str) -> Path:
    return Path(root) / tracker / experiment / sequence


def trajectory_path(
    root: str | Path, tracker: str, experiment: str, sequence: str, repetition: int = 1
) -> Path:
    return run_folder(root, tracker, experiment, sequence) / f"{sequence}_{repetition:03d}.txt"


def error_path(root: str | Path, tracker: str, experiment: str, sequence: str) -> Path:
    return Path(root) / tracker / experiment / "errors" / f"{sequence}.txt"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _value_lines(values: npt.ArrayLike, fmt: str) -> str:
    out = []
    for v in np.asarray(values, dtype=np.float64).reshape(-1):
        out.append("nan" if not math.isfinite(v) else format(v, fmt))
    return "\n".join(out) + "\n"


def write_run(path: str | Path, run: VOTRun, realtime: bool = False) -> None:
    """Write a run's trajectory (last, so that its presence marks it complete) and its
    per-frame values next to it."""
    p = Path(path)
    stem = p.with_suffix("")
    lines = []
    for state, box in zip(run.states, run.boxes, strict=True):
        if state == TRACKED:
            lines.append(",".join(f"{v:.4f}" for v in box))
        else:
            lines.append(str(int(state)))
    _atomic_write(Path(f"{stem}_time.value"), _value_lines(run.times, ".6f"))
    _atomic_write(Path(f"{stem}_confidence.value"), _value_lines(run.scores, ".6g"))
    if realtime:
        _atomic_write(Path(f"{stem}_held.value"), _value_lines(run.held.astype(float), ".0f"))
    _atomic_write(p, "\n".join(lines) + "\n")


def _read_values(path: Path, n: int) -> npt.NDArray[np.float64] | None:
    if not path.is_file():
        return None
    values = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        text = line.strip()
        try:
            values.append(float(text) if text else math.nan)
        except ValueError:
            raise AnnotationError(f"{path}:{lineno}: not a number: {text!r}") from None
    arr = np.full(n, np.nan)
    arr[: min(n, len(values))] = values[:n]
    return arr


def read_run(path: str | Path, ground_truth: npt.ArrayLike) -> VOTRun:
    """Read a VOT text trajectory (fastcf's or the toolkit's) for a sequence whose
    ground truth is ``ground_truth`` (``(N, 4)``, 0-based; used for the boxes of
    initialisation frames). Raises :class:`AnnotationError` naming the file and line."""
    p = Path(path)
    gt = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    rows = p.read_text().splitlines()
    while rows and not rows[-1].strip():
        rows.pop()
    if len(rows) != len(gt):
        raise AnnotationError(f"{p}: {len(rows)} lines for a sequence of {len(gt)} frames")
    run = VOTRun.empty(len(gt))
    for i, line in enumerate(rows):
        text = line.strip()
        if text in _CODES:
            run.states[i] = _CODES[text]
            if run.states[i] == INITIALIZATION:
                run.boxes[i] = gt[i]
            continue
        parts = text.replace("\t", ",").replace(" ", ",").split(",")
        parts = [q for q in parts if q]
        if len(parts) != 4:
            raise AnnotationError(
                f"{p}:{i + 1}: expected 0, 1, 2 or a rectangle x,y,w,h, got {text[:60]!r} "
                "(polygon and mask results are not supported)"
            )
        try:
            run.boxes[i] = [float(v) for v in parts]
        except ValueError:
            raise AnnotationError(f"{p}:{i + 1}: non-numeric value in {text!r}") from None
        run.states[i] = TRACKED
    stem = p.with_suffix("")
    times = _read_values(Path(f"{stem}_time.value"), len(gt))
    if times is not None:
        run.times = np.nan_to_num(times, nan=0.0)
    scores = _read_values(Path(f"{stem}_confidence.value"), len(gt))
    if scores is not None:
        run.scores = scores
    held = _read_values(Path(f"{stem}_held.value"), len(gt))
    if held is not None:
        run.held = np.nan_to_num(held, nan=0.0) > 0
    return run


def write_error(path: str | Path, message: str) -> None:
    _atomic_write(Path(path), message.rstrip() + "\n")
