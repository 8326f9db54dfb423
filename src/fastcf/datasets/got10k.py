"""GOT-10k reader.

Layout: ``<root>/<split>/list.txt`` (sequence names; without it every sub-folder with a
``groundtruth.txt``), ``<root>/<split>/<seq>/00000001.jpg ...``, ``groundtruth.txt``
(``x, y, w, h`` comma-separated, 0-based as the Python toolkit uses them),
``absence.label`` (1 = target absent), ``cover.label`` (0-8: visible fraction in
eighths), ``cut_by_image.label`` and ``meta_info.ini``. The test split gives only the
first box: the other rows are NaN and ``meta["first_frame_only"]`` is True.

Absent frames (``absence.label``) and rows with non-positive width/height (GOT-10k's
placeholder boxes of absent frames) are NaN in ``ground_truth``; the boxes as written are
kept in ``meta["raw_ground_truth"]`` (0-based, NaN only for non-positive sizes).
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
SPLITS = ("train", "val", "test")


def read_meta_info(path: Path) -> dict[str, str]:
    """``meta_info.ini``: a ``[METAINFO]`` header then ``key: value`` lines."""
    info: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        s = line.strip()
        if not s or s.startswith(("[", "#", ";")):
            continue
        key, sep, value = s.partition(":")
        if not sep:
            raise AnnotationError(f"{path}, line {lineno}: expected 'key: value', got {s!r}")
        info[key.strip()] = value.strip()
    return info


def read_sequence(folder: str | Path, name: str | None = None) -> Sequence:
    d = ann.require_dir(Path(folder), "GOT-10k sequence folder")
    gt = d / "groundtruth.txt"
    images = ann.list_images(d)
    ann.require_images(images, d)
    raw, _ = ann.read_boxes(gt, nonpositive="nan", allow_nan=True)
    n = len(images)
    meta: dict[str, object] = {"annotation_file": str(gt)}
    if len(raw) == 1 and n > 1:
        # test split: first frame only
        padded = np.full((n, 4), np.nan)
        padded[0] = raw[0]
        raw = padded
        meta["first_frame_only"] = True
    else:
        ann.check_counts(n, len(raw), d, gt, exact=True)
    if np.isnan(raw[0]).any():
        raise AnnotationError(f"{gt}, line 1: the first box is missing or has no size")
    raw[:, :2] -= OFFSET

    absent: np.ndarray | None = None
    if (d / "absence.label").is_file():
        absent = ann.read_flags(d / "absence.label", n)
    for label in ("cover", "cut_by_image"):
        f = d / f"{label}.label"
        if f.is_file():
            values = ann.read_int_column(f, allowed=range(9) if label == "cover" else (0, 1))
            if len(values) != n:
                raise AnnotationError(f"{f}: {len(values)} values, expected one per frame ({n})")
            meta[label] = values
    if (d / "meta_info.ini").is_file():
        meta["info"] = read_meta_info(d / "meta_info.ini")
    boxes = raw.copy()
    if absent is not None:
        if absent[0]:
            raise AnnotationError(f"{d / 'absence.label'}, line 1: target absent in frame 1")
        boxes[absent] = np.nan
    meta["raw_ground_truth"] = raw
    return Sequence(
        name=name or d.name,
        frames=ImageFiles(images, description=f"{name or d.name} ({d})"),
        ground_truth=boxes,
        offset=OFFSET,
        absent=absent,
        meta=meta,
    )


def _split_dir(base: Path, split: str | None) -> Path:
    if split is not None:
        if split not in SPLITS:
            raise DatasetError(f"unknown GOT-10k split {split!r} (expected {', '.join(SPLITS)})")
        return ann.require_dir(base / split, f"GOT-10k split folder {split!r}")
    if (base / "list.txt").is_file() or any(
        (p / "groundtruth.txt").is_file() for p in base.iterdir() if p.is_dir()
    ):
        return base  # already a split folder
    for s in ("val", "test", "train"):
        if (base / s).is_dir():
            return base / s
    raise DatasetError(f"{base}: not a GOT-10k folder (no list.txt, no train/val/test)")


def read_got10k(
    root: str | Path, *, split: str | None = None, sequences: Iterable[str] | None = None
) -> Dataset:
    """Read one GOT-10k split. ``root`` is the split folder itself or the dataset root;
    from the root, ``split`` defaults to ``val`` (the split with full annotations)."""
    base = ann.require_dir(Path(root), "GOT-10k dataset folder")
    if (base / "groundtruth.txt").is_file():
        return Dataset(
            name=dataset_name(base), root=base, sequences=[read_sequence(base)], layout="GOT-10k"
        )
    d = _split_dir(base, split)
    list_file = d / "list.txt"
    if list_file.is_file():
        names = ann.read_name_list(list_file)
        for n in names:
            if not (d / n).is_dir():
                raise DatasetError(f"{list_file}: sequence folder {n!r} does not exist")
    else:
        names = sorted(p.name for p in d.iterdir() if (p / "groundtruth.txt").is_file())
    if not names:
        raise DatasetError(f"{d}: no GOT-10k sequences")
    names = ann.select_names(names, sequences, d)
    label = d.name if d.name in SPLITS else None
    seqs, broken = read_each((n, functools.partial(read_sequence, d / n, n)) for n in names)
    return Dataset(
        # a split folder is named with its dataset folder: "GOT-10k-val", not "val"
        name=f"{dataset_name(d.parent)}-{label}" if label else dataset_name(d),
        root=d,
        sequences=seqs,
        layout=f"GOT-10k-{label}" if label else "GOT-10k",
        broken=broken,
    )
