"""LaSOT reader.

Layout: ``<root>/<class>/<class>-N/img/00000001.jpg ...`` (or, as in the test-set
download, ``<root>/<class>-N/``), ``groundtruth.txt`` (``x, y, w, h`` comma-separated,
1-based MATLAB coordinates: LaSOT's toolkit is derived from the OTB toolkit),
``full_occlusion.txt`` and ``out_of_view.txt`` (comma-separated 0/1 per frame) and
``nlp.txt`` (a sentence describing the target). ``absent`` is full occlusion OR out of
view; those frames are NaN in ``ground_truth`` (the boxes as written are kept in
``meta["raw_ground_truth"]``). Rows with non-positive width/height (``0,0,0,0``, LaSOT's
"no box") are NaN too.

``subset="auto"`` (default) reads only the sequences named in ``<root>/testing_set.txt``
when that file exists, ``"test"`` requires it, ``"all"`` ignores it.
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

OFFSET = 1.0


def _is_sequence(d: Path) -> bool:
    return d.is_dir() and (d / "groundtruth.txt").is_file()


def read_sequence(folder: str | Path) -> Sequence:
    d = ann.require_dir(Path(folder), "LaSOT sequence folder")
    gt = d / "groundtruth.txt"
    img_dir = ann.require_dir(d / "img", "image folder 'img'")
    images = ann.list_images(img_dir)
    ann.require_images(images, img_dir)
    raw, _ = ann.read_boxes(gt, nonpositive="nan", allow_nan=True)
    ann.check_counts(len(images), len(raw), img_dir, gt, exact=True)
    n = len(raw)
    absent = np.zeros(n, dtype=bool)
    meta: dict[str, object] = {"annotation_file": str(gt)}
    for flag in ("full_occlusion", "out_of_view"):
        f = d / f"{flag}.txt"
        if f.is_file():
            v = ann.read_flags(f, n)
            meta[flag] = v
            absent |= v
    if (d / "nlp.txt").is_file():
        meta["nlp"] = (d / "nlp.txt").read_text(encoding="utf-8-sig", errors="replace").strip()
    if np.isnan(raw[0]).any() or absent[0]:
        raise AnnotationError(f"{gt}, line 1: the target has no box in the first frame")
    raw[:, :2] -= OFFSET
    boxes = raw.copy()
    boxes[absent] = np.nan
    meta["raw_ground_truth"] = raw
    return Sequence(
        name=d.name,
        frames=ImageFiles(images, description=f"{d.name} ({img_dir})"),
        ground_truth=boxes,
        offset=OFFSET,
        absent=absent,
        meta=meta,
    )


def read_lasot(
    root: str | Path, *, subset: str = "auto", sequences: Iterable[str] | None = None
) -> Dataset:
    base = ann.require_dir(Path(root), "LaSOT dataset folder")
    if _is_sequence(base):
        return Dataset(
            name=dataset_name(base), root=base, sequences=[read_sequence(base)], layout="LaSOT"
        )
    found: dict[str, Path] = {}
    for p in sorted(base.iterdir()):
        if _is_sequence(p):
            found[p.name] = p
        elif p.is_dir():
            for q in sorted(p.iterdir()):
                if _is_sequence(q):
                    found[q.name] = q
    if not found:
        raise DatasetError(f"{base}: no LaSOT sequences (<class>/<class>-N/groundtruth.txt)")
    split_file = base / "testing_set.txt"
    if subset not in ("auto", "test", "all"):
        raise DatasetError(f"unknown LaSOT subset {subset!r} (expected auto, test or all)")
    names = sorted(found)
    layout = "LaSOT"
    if subset == "test" and not split_file.is_file():
        raise DatasetError(f"{split_file}: subset='test' needs this file")
    if subset != "all" and split_file.is_file():
        names = ann.read_name_list(split_file)
        missing = [n for n in names if n not in found]
        if missing:
            raise DatasetError(
                f"{split_file}: {len(missing)} listed sequence(s) not found under {base}: "
                f"{', '.join(missing[:10])}"
            )
        layout = "LaSOT-test"
    names = ann.select_names(names, sequences, base)
    seqs, broken = read_each((n, functools.partial(read_sequence, found[n])) for n in names)
    return Dataset(name=dataset_name(base), root=base, sequences=seqs, layout=layout, broken=broken)
