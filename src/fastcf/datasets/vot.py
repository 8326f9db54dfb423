"""VOT short-term reader (VOT2013-VOT2019 style bounding-box annotations).

Layout: ``<root>/list.txt`` (sequence names; without it every sub-folder holding a
``groundtruth.txt`` is a sequence), ``<root>/<seq>/groundtruth.txt`` and the images in
``<seq>/color/``, directly in ``<seq>/``, or in ``<seq>/img/``. Each annotation line is
a 4-value rectangle ``x, y, w, h`` or a polygon ``x1, y1, ..., xk, yk`` (8 values for
VOT's rotated boxes); polygons are reduced to their axis-aligned bounds and kept in
``meta["polygons"]``. ``NaN`` rows (VOT long-term) are unknown. A sequence folder without
``groundtruth.txt`` may hold ``groundtruth_polygon.txt`` instead (VOT data converted to
OTB layout, e.g. ``ball1`` in the shared data). Per-frame tag files ``<tag>.tag`` /
``<tag>.label`` (0/1 per line, e.g. ``occlusion.tag``) go to ``meta["tags"]`` and the
tags set in at least one frame become the sequence attributes.

VOT coordinates are used as 0-based (``offset = 0``), as the VOT toolkit writes them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from fastcf.datasets import annotations as ann
from fastcf.datasets.base import Dataset, Sequence, dataset_name, read_each
from fastcf.errors import AnnotationError, DatasetError
from fastcf.io.frames import ImageFiles

OFFSET = 0.0
_GT_NAMES = ("groundtruth.txt", "groundtruth_polygon.txt")
_POLYGON_COLUMNS = tuple(range(6, 41, 2))


def _annotation_file(folder: Path) -> Path | None:
    for n in _GT_NAMES:
        if (folder / n).is_file():
            return folder / n
    return None


def _image_dir(folder: Path) -> Path:
    for d in (folder / "color", folder, folder / "img"):
        if d.is_dir() and ann.list_images(d):
            return d
    raise DatasetError(f"{folder}: no images in color/, in the folder itself, or in img/")


def _read_annotation(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if line.strip().startswith("m"):
            raise AnnotationError(
                f"{path}, line {lineno}: segmentation-mask annotations (VOT2020+) are not "
                "supported; use the bounding-box version of the dataset"
            )
    rows = ann.read_rows(path, (4, *_POLYGON_COLUMNS))
    if not rows:
        raise AnnotationError(f"{path}: annotation file is empty")
    rects: list[tuple[int, list[float]]] = []
    polygons: list[list[float]] = []
    n_poly = 0
    for lineno, values in rows:
        if len(values) == 4:
            rects.append((lineno, values))
            polygons.append([])
        else:
            n_poly += 1
            nan = any(np.isnan(values))
            rects.append((lineno, [np.nan] * 4 if nan else ann.polygon_bounds(values)))
            polygons.append(values)
    boxes, unknown = ann.finalize_boxes(rects, path, nonpositive="error", allow_nan=True)
    poly_arr = None
    if n_poly:
        width = max(len(p) for p in polygons)
        poly_arr = np.full((len(polygons), width), np.nan)
        for i, p in enumerate(polygons):
            if p:
                poly_arr[i, : len(p)] = p
            else:  # a rectangle row: its four corners
                x, y, w, h = rects[i][1]
                corners = [x, y, x + w, y, x + w, y + h, x, y + h]
                poly_arr[i, : min(8, width)] = corners[:width]
    return boxes, unknown, poly_arr


def _tags(folder: Path, n: int) -> dict[str, np.ndarray]:
    tags: dict[str, np.ndarray] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix in (".tag", ".label"):
            v = ann.read_int_column(p, allowed=(0, 1)) if p.stat().st_size else np.zeros(0)
            if len(v) > n:
                raise AnnotationError(f"{p}: {len(v)} values for a sequence of {n} frames")
            flags = np.zeros(n, dtype=bool)
            flags[: len(v)] = v.astype(bool)  # VOT omits trailing zeros
            tags[p.stem] = flags
    return tags


def read_sequence(folder: str | Path, name: str | None = None) -> Sequence:
    d = ann.require_dir(Path(folder), "VOT sequence folder")
    gt = _annotation_file(d)
    if gt is None:
        raise DatasetError(f"{d}: no groundtruth.txt")
    img_dir = _image_dir(d)
    images = ann.list_images(img_dir)
    boxes, unknown, polygons = _read_annotation(gt)
    ann.check_counts(len(images), len(boxes), img_dir, gt, exact=True)
    if unknown[0]:
        raise AnnotationError(f"{gt}, line 1: the first box is unknown (NaN)")
    tags = _tags(d, len(boxes))
    meta: dict[str, object] = {"annotation_file": str(gt), "tags": tags}
    if polygons is not None:
        meta["polygons"] = polygons
    return Sequence(
        name=name or d.name,
        frames=ImageFiles(images, description=f"{name or d.name} ({img_dir})"),
        ground_truth=boxes,
        offset=OFFSET,
        attributes=tuple(k for k, v in tags.items() if v.any()),
        absent=unknown if unknown.any() else None,
        meta=meta,
    )


def read_vot(root: str | Path, *, sequences: Iterable[str] | None = None) -> Dataset:
    base = ann.require_dir(Path(root), "VOT dataset folder")
    if _annotation_file(base) is not None:
        seq = read_sequence(base)
        return Dataset(
            name=dataset_name(base),
            root=base,
            sequences=[seq],
            attribute_names=seq.attributes,
            layout="VOT",
        )
    list_file = base / "list.txt"
    if list_file.is_file():
        names = ann.read_name_list(list_file)
        for n in names:
            if not (base / n).is_dir():
                raise DatasetError(f"{list_file}: sequence folder {n!r} does not exist")
    else:
        names = sorted(
            p.name for p in base.iterdir() if p.is_dir() and _annotation_file(p) is not None
        )
    if not names:
        raise DatasetError(f"{base}: no VOT sequences (no list.txt, no <seq>/groundtruth.txt)")
    names = ann.select_names(names, sequences, base)
    seqs, broken = read_each((n, functools.partial(read_sequence, base / n, n)) for n in names)
    tags = sorted({a for s in seqs for a in s.attributes})
    return Dataset(
        name=dataset_name(base),
        root=base,
        sequences=seqs,
        attribute_names=tuple(tags),
        layout="VOT",
        broken=broken,
    )
