"""Shared parsing helpers for dataset readers.

Everything here raises :class:`AnnotationError` / :class:`DatasetError` /
:class:`FrameError` whose message names the file, the 1-based line number and the
offending value, so that a broken benchmark copy can be fixed without a debugger.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from fastcf.errors import AnnotationError, DatasetError, FrameError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

# separators seen in the wild: OTB mixes ',', '\t' and ' ' (even inside one file)
_SPLIT = re.compile(r"[,;\s]+")
_TRAILING_NUMBER = re.compile(r"(\d+)$")

NonPositive = Literal["nan", "error"]


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DatasetError(f"{path}: annotation file does not exist")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{path}: not a text file ({exc})") from None


def _lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based line numbers; blank lines inside are errors.

    Trailing blank lines (and a final newline) are ignored. A blank line between data
    lines would silently shift every following annotation by one frame, so it is an
    error.
    """
    raw = _read_text(path).splitlines()
    while raw and not raw[-1].strip():
        raw.pop()
    out: list[tuple[int, str]] = []
    for i, line in enumerate(raw, start=1):
        s = line.strip()
        if not s:
            raise AnnotationError(f"{path}, line {i}: empty line between annotation lines")
        out.append((i, s))
    return out


def _parse_value(token: str, path: Path, lineno: int) -> float:
    try:
        value = float(token)
    except ValueError:
        raise AnnotationError(f"{path}, line {lineno}: value {token!r} is not a number") from None
    if math.isinf(value):
        raise AnnotationError(f"{path}, line {lineno}: value {token!r} is infinite")
    return value


def split_values(line: str) -> list[str]:
    return [t for t in _SPLIT.split(line.strip()) if t]


def read_rows(path: str | Path, columns: Iterable[int]) -> list[tuple[int, list[float]]]:
    """Parse a numeric table: each line ``(lineno, values)``; value counts must be in
    ``columns``. Separators may be commas, tabs, spaces or semicolons, mixed freely."""
    p = Path(path)
    allowed = tuple(columns)
    rows: list[tuple[int, list[float]]] = []
    for lineno, line in _lines(p):
        tokens = split_values(line)
        if len(tokens) not in allowed:
            expected = (
                " or ".join(str(c) for c in allowed)
                if len(allowed) <= 3
                else f"{allowed[0]}, {allowed[1]}, ... or {allowed[-1]}"
            )
            raise AnnotationError(
                f"{p}, line {lineno}: expected {expected} values, found {len(tokens)} "
                f"({line[:80]!r})"
            )
        rows.append((lineno, [_parse_value(t, p, lineno) for t in tokens]))
    return rows


def polygon_bounds(values: Sequence[float]) -> list[float]:
    """Axis-aligned bounds ``[x, y, w, h]`` of a polygon ``x1, y1, x2, y2, ...``."""
    xs = values[0::2]
    ys = values[1::2]
    x0, y0 = min(xs), min(ys)
    return [x0, y0, max(xs) - x0, max(ys) - y0]


def finalize_boxes(
    rows: Sequence[tuple[int, Sequence[float]]],
    path: Path,
    *,
    nonpositive: NonPositive,
    allow_nan: bool = True,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Stack ``x, y, w, h`` rows into ``(N, 4)`` float64, returning ``(boxes, unknown)``.

    A row with any NaN becomes all-NaN (unknown) when ``allow_nan``, else an error.
    A row with ``w <= 0`` or ``h <= 0`` becomes NaN when ``nonpositive == "nan"`` (the
    dataset uses such rows for "no box"), else it is an error naming the line.
    """
    boxes = np.full((len(rows), 4), np.nan, dtype=np.float64)
    unknown = np.zeros(len(rows), dtype=bool)
    for i, (lineno, values) in enumerate(rows):
        v = [float(x) for x in values]
        if any(math.isnan(x) for x in v):
            if not allow_nan:
                raise AnnotationError(f"{path}, line {lineno}: NaN values are not allowed here")
            unknown[i] = True
            continue
        if v[2] <= 0 or v[3] <= 0:
            if nonpositive == "nan":
                unknown[i] = True
                continue
            raise AnnotationError(
                f"{path}, line {lineno}: box width/height must be positive, got "
                f"w={v[2]:g}, h={v[3]:g}"
            )
        boxes[i] = v
    return boxes, unknown


def read_boxes(
    path: str | Path,
    *,
    nonpositive: NonPositive = "error",
    allow_nan: bool = True,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Read an ``x, y, w, h`` file (the dataset's own convention, not yet shifted)."""
    p = Path(path)
    rows = read_rows(p, (4,))
    if not rows:
        raise AnnotationError(f"{p}: annotation file is empty")
    return finalize_boxes(rows, p, nonpositive=nonpositive, allow_nan=allow_nan)


def read_int_column(path: str | Path, *, allowed: Iterable[int] | None = None) -> npt.NDArray:
    """Integers, one per line (GOT-10k ``*.label``) or comma-separated on one or more
    lines (LaSOT ``full_occlusion.txt``). ``allowed`` restricts the values."""
    p = Path(path)
    ok = None if allowed is None else set(allowed)
    values: list[int] = []
    for lineno, line in _lines(p):
        for token in split_values(line):
            try:
                v = int(float(token))
                if float(token) != v:
                    raise ValueError
            except ValueError:
                raise AnnotationError(
                    f"{p}, line {lineno}: value {token!r} is not an integer"
                ) from None
            if ok is not None and v not in ok:
                raise AnnotationError(f"{p}, line {lineno}: value {v} not in {sorted(ok)}")
            values.append(v)
    return np.asarray(values, dtype=np.int64)


def read_flags(path: str | Path, n: int) -> npt.NDArray[np.bool_]:
    """0/1 flags for ``n`` frames; the file must hold exactly ``n`` values."""
    p = Path(path)
    v = read_int_column(p, allowed=(0, 1))
    if len(v) != n:
        raise AnnotationError(f"{p}: has {len(v)} flags, expected one per frame ({n})")
    return v.astype(bool)


def read_name_list(path: str | Path) -> list[str]:
    """Names, one per line (``list.txt``, ``testing_set.txt``); blank lines skipped."""
    p = Path(path)
    names = [line.strip() for line in _read_text(p).splitlines() if line.strip()]
    if not names:
        raise DatasetError(f"{p}: list file is empty")
    return names


def frame_number(path: Path) -> int | None:
    m = _TRAILING_NUMBER.search(path.stem)
    return int(m.group(1)) if m else None


def list_images(folder: str | Path) -> list[Path]:
    """Image files in ``folder``, sorted by the number at the end of their name
    (``2.jpg`` before ``10.jpg``), then by name."""
    d = Path(folder)
    if not d.is_dir():
        raise DatasetError(f"{d}: image folder does not exist")
    files = [p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]

    def key(p: Path) -> tuple[int, int, str]:
        n = frame_number(p)
        return (0 if n is not None else 1, n if n is not None else 0, p.name)

    return sorted(files, key=key)


def images_in_range(images: Sequence[Path], start: int, end: int, folder: Path) -> list[Path]:
    """The images numbered ``start..end`` (inclusive), all of which must exist."""
    by_number: dict[int, Path] = {}
    for p in images:
        n = frame_number(p)
        if n is not None:
            by_number.setdefault(n, p)
    missing = [k for k in range(start, end + 1) if k not in by_number]
    if missing:
        raise FrameError(
            f"{folder}: frames {start}-{end} are needed but {len(missing)} are missing "
            f"(first missing frame number: {missing[0]})"
        )
    return [by_number[k] for k in range(start, end + 1)]


def check_counts(
    n_frames: int, n_annotations: int, image_dir: Path, annotation_file: Path, *, exact: bool
) -> None:
    """Frames must cover every annotation row (and match exactly when ``exact``)."""
    if n_frames < n_annotations:
        raise FrameError(
            f"{image_dir}: only {n_frames} images for {n_annotations} annotation rows in "
            f"{annotation_file} ({n_annotations - n_frames} frames missing)"
        )
    if exact and n_frames != n_annotations:
        raise AnnotationError(
            f"{annotation_file}: {n_annotations} annotation rows but {n_frames} images in "
            f"{image_dir} ({n_frames - n_annotations} frames without annotation)"
        )


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{path}: {what} does not exist")
    return path


def require_images(images: Sequence[Path], folder: Path) -> None:
    if not images:
        raise DatasetError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)})")


def parse_attribute_file(path: str | Path, flag_names: Sequence[str]) -> tuple[str, ...]:
    """Attributes of one sequence.

    Two formats: attribute codes separated by commas/whitespace (``IV, SV, OCC``), or
    exactly ``len(flag_names)`` 0/1 flags in the order of ``flag_names`` (the order of
    the benchmark's paper).
    """
    p = Path(path)
    tokens = [t for _, line in _lines(p) for t in split_values(line)]
    if tokens and all(t in ("0", "1") for t in tokens):
        if len(tokens) != len(flag_names):
            raise AnnotationError(
                f"{p}: {len(tokens)} attribute flags, expected {len(flag_names)} "
                f"({', '.join(flag_names)})"
            )
        return tuple(name for name, t in zip(flag_names, tokens, strict=True) if t == "1")
    known = {n.upper(): n for n in flag_names}
    found: set[str] = set()
    for t in tokens:
        if t.upper() not in known:
            raise AnnotationError(
                f"{p}: unknown attribute {t!r} (expected one of {', '.join(flag_names)})"
            )
        found.add(known[t.upper()])
    return tuple(n for n in flag_names if n in found)  # the benchmark's order


def select_names(available: Sequence[str], wanted: Iterable[str] | None, where: Path) -> list[str]:
    """Restrict ``available`` to ``wanted`` (order of ``wanted``); unknown names error."""
    if wanted is None:
        return list(available)
    have = set(available)
    names = list(wanted)
    missing = [n for n in names if n not in have]
    if missing:
        raise DatasetError(
            f"{where}: sequence(s) not found: {', '.join(missing[:10])}"
            + (f" (+{len(missing) - 10} more)" if len(missing) > 10 else "")
        )
    return names
