"""Helpers (no tests) that write tiny synthetic datasets (8x8 JPEGs) for dataset tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

_CACHE: dict[int, bytes] = {}


def value_of(number: int) -> int:
    """The grey level written into the image numbered ``number``."""
    return (number * 37) % 240 + 8


def jpeg_bytes(value: int) -> bytes:
    if value not in _CACHE:
        img = np.full((8, 8, 3), value, dtype=np.uint8)
        ok, buf = cv2.imencode(".jpg", img)
        assert ok
        _CACHE[value] = buf.tobytes()
    return _CACHE[value]


def write_images(
    folder: Path, numbers: Iterable[int], digits: int = 4, ext: str = ".jpg"
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in numbers:
        p = folder / f"{n:0{digits}d}{ext}"
        if ext == ".jpg":
            p.write_bytes(jpeg_bytes(value_of(n)))
        else:
            assert cv2.imwrite(str(p), np.full((8, 8, 3), value_of(n), dtype=np.uint8))
        out.append(p)
    return out


def frame_value(frame: np.ndarray) -> int:
    return int(round(float(frame.mean())))


def boxes(n: int, start: float = 1.0) -> np.ndarray:
    """Distinct positive boxes: row i = (start+i, start+2i, 3+i, 4+i)."""
    i = np.arange(n, dtype=np.float64)
    return np.stack([start + i, start + 2 * i, 3 + i, 4 + i], axis=1)


def write_rows(path: Path, rows: Sequence[Sequence[float]] | np.ndarray, sep: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [sep.join(f"{v:g}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path
