"""Temple Color 128 (TC-128) reader.

Layout: ``<root>/<Name>/<Name>_gt.txt`` (``x, y, w, h``, 1-based MATLAB coordinates),
``<root>/<Name>/<Name>_frames.txt`` (``start,end``: the inclusive image-number range the
annotation covers) and images ``<root>/<Name>/img/0001.jpg``. An optional
``<Name>_att.txt`` (attribute codes, or 11 0/1 flags in OTB order) gives attributes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from fastcf.datasets import annotations as ann
from fastcf.datasets.base import Dataset, Sequence, dataset_name, read_each
from fastcf.datasets.otb import ATTRIBUTES
from fastcf.errors import AnnotationError, DatasetError
from fastcf.io.frames import ImageFiles

OFFSET = 1.0  # MATLAB toolkit (derived from the OTB toolkit): 1-based coordinates


def _frame_range(path: Path) -> tuple[int, int]:
    rows = ann.read_rows(path, (2,))
    if len(rows) != 1:
        raise AnnotationError(f"{path}: expected one line 'start,end', found {len(rows)} lines")
    lineno, (start, end) = rows[0]
    if start != int(start) or end != int(end) or start < 0 or end < start:
        raise AnnotationError(
            f"{path}, line {lineno}: invalid frame range {start:g},{end:g} "
            "(expected integers start <= end)"
        )
    return int(start), int(end)


def read_sequence(folder: str | Path) -> Sequence:
    d = Path(folder)
    name = d.name
    gt_file = d / f"{name}_gt.txt"
    range_file = d / f"{name}_frames.txt"
    if not range_file.is_file():
        raise DatasetError(f"{range_file}: frame-range file does not exist")
    start, end = _frame_range(range_file)
    boxes, _ = ann.read_boxes(gt_file, nonpositive="error", allow_nan=False)
    if len(boxes) != end - start + 1:
        raise AnnotationError(
            f"{gt_file}: {len(boxes)} annotation rows but {range_file.name} gives frames "
            f"{start}-{end} ({end - start + 1} frames)"
        )
    img_dir = ann.require_dir(d / "img", "image folder 'img'")
    images = ann.images_in_range(ann.list_images(img_dir), start, end, img_dir)
    boxes[:, :2] -= OFFSET
    att_file = d / f"{name}_att.txt"
    attributes = ann.parse_attribute_file(att_file, ATTRIBUTES) if att_file.is_file() else ()
    return Sequence(
        name=name,
        frames=ImageFiles(images, description=f"{name} ({img_dir})"),
        ground_truth=boxes,
        offset=OFFSET,
        attributes=attributes,
        meta={"frame_range": (start, end), "annotation_file": str(gt_file)},
    )


def read_tc128(root: str | Path, *, sequences: Iterable[str] | None = None) -> Dataset:
    base = ann.require_dir(Path(root), "TC-128 dataset folder")
    if (base / f"{base.name}_gt.txt").is_file():
        folders = {base.name: base}
    else:
        folders = {
            p.name: p
            for p in sorted(base.iterdir())
            if p.is_dir() and (p / f"{p.name}_gt.txt").is_file()
        }
    if not folders:
        raise DatasetError(f"{base}: no TC-128 sequences (<Name>/<Name>_gt.txt)")
    names = ann.select_names(sorted(folders), sequences, base)
    seqs, broken = read_each((n, functools.partial(read_sequence, folders[n])) for n in names)
    present = {a for s in seqs for a in s.attributes}
    return Dataset(
        name=dataset_name(base),
        root=base,
        sequences=seqs,
        attribute_names=tuple(a for a in ATTRIBUTES if a in present),
        layout="TC-128",
        broken=broken,
    )
