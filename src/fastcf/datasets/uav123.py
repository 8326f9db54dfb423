"""UAV123 / UAV20L reader.

Layout: ``<root>/anno/<version>/<seq>.txt`` (``x, y, w, h``, 1-based MATLAB
coordinates, ``NaN,NaN,NaN,NaN`` rows where the target is not visible) and
``<root>/data_seq/<version>/<folder>/000001.jpg``; ``<version>`` is ``UAV123`` or
``UAV20L``. Some long UAV123 videos are split into sub-sequences (``bird1_1``,
``bird1_2``...) that share the folder ``bird1`` and cover the image-number ranges of the
UAV123 toolkit configuration (``configSeqs.m``), listed in :data:`SUBSEQUENCES`.
Optional ``<root>/anno/<version>/att/<seq>.txt`` files (12 0/1 flags in the paper's
order, :data:`ATTRIBUTES`, or attribute codes) give attributes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from fastcf.datasets import annotations as ann
from fastcf.datasets.base import Dataset, Sequence, dataset_name, read_each
from fastcf.errors import AnnotationError, DatasetError
from fastcf.io.frames import ImageFiles

OFFSET = 1.0  # MATLAB toolkit derived from the OTB toolkit: 1-based coordinates

ATTRIBUTES = ("SV", "ARC", "LR", "FM", "FOC", "POC", "OV", "BC", "IV", "VC", "CM", "SOB")

# folder -> inclusive image-number ranges of its sub-sequences _1, _2, ...
# (UAV123 toolkit configSeqs.m; note the gaps in bird1 and uav1)
_SPLITS: dict[str, tuple[tuple[int, int], ...]] = {
    "bird1": ((1, 253), (775, 1477), (1573, 2437)),
    "car1": ((1, 751), (751, 1627), (1627, 2629)),
    "car6": ((1, 487), (487, 1807), (1807, 2953), (2953, 3925), (3925, 4861)),
    "car8": ((1, 1357), (1357, 2575)),
    "car16": ((1, 415), (415, 1993)),
    "group1": ((1, 1333), (1333, 2515), (2515, 3925), (3925, 4873)),
    "group2": ((1, 907), (907, 1771), (1771, 2683)),
    "group3": ((1, 1567), (1567, 2827), (2827, 4369), (4369, 5527)),
    "person2": ((1, 1189), (1189, 2623)),
    "person4": ((1, 1501), (1501, 2743)),
    "person5": ((1, 877), (877, 2101)),
    "person7": ((1, 1249), (1249, 2065)),
    "person8": ((1, 1075), (1075, 1525)),
    "person12": ((1, 601), (601, 1621)),
    "person14": ((1, 847), (847, 1813), (1813, 2923)),
    "person17": ((1, 1501), (1501, 2347)),
    "person19": ((1, 1243), (1243, 2791), (2791, 4357)),
    "truck4": ((1, 577), (577, 1261)),
    "uav1": ((1, 1555), (1555, 2377), (2473, 3469)),
}
SUBSEQUENCES: dict[str, tuple[str, int, int]] = {
    f"{folder}_{k}": (folder, first, last)
    for folder, ranges in _SPLITS.items()
    for k, (first, last) in enumerate(ranges, start=1)
}
_SUFFIX = re.compile(r"^(.*)_(\d+)$")


def _locate(name: str, data_dir: Path, n_rows: int, anno_file: Path) -> tuple[Path, int, int]:
    """Folder and inclusive image-number range of one annotated sequence."""
    if (data_dir / name).is_dir():
        return data_dir / name, 1, n_rows
    if name in SUBSEQUENCES:
        folder, first, last = SUBSEQUENCES[name]
        if last - first + 1 != n_rows:
            raise AnnotationError(
                f"{anno_file}: {n_rows} rows, but sub-sequence {name} covers frames "
                f"{first}-{last} of {folder} ({last - first + 1} frames)"
            )
        return data_dir / folder, first, last
    m = _SUFFIX.match(name)
    if m and (data_dir / m.group(1)).is_dir():
        raise DatasetError(
            f"{anno_file}: {name} looks like a sub-sequence of {m.group(1)} but its frame "
            "range is not in the UAV123 configuration table"
        )
    raise DatasetError(f"{data_dir / name}: image folder for {anno_file.name} does not exist")


def read_uav123(
    root: str | Path, *, version: str = "UAV123", sequences: Iterable[str] | None = None
) -> Dataset:
    base = ann.require_dir(Path(root), "UAV123 dataset folder")
    anno_dir = ann.require_dir(base / "anno" / version, f"annotation folder anno/{version}")
    data_dir = ann.require_dir(base / "data_seq" / version, f"image folder data_seq/{version}")
    files = {p.stem: p for p in sorted(anno_dir.glob("*.txt")) if p.is_file()}
    if not files:
        raise DatasetError(f"{anno_dir}: no annotation files")
    names = ann.select_names(sorted(files), sequences, base)

    def read_one(name: str) -> Sequence:
        anno_file = files[name]
        boxes, unknown = ann.read_boxes(anno_file, nonpositive="error", allow_nan=True)
        folder, first, last = _locate(name, data_dir, len(boxes), anno_file)
        all_images = ann.list_images(folder)
        ann.require_images(all_images, folder)
        images = ann.images_in_range(all_images, first, last, folder)
        if np.isnan(boxes[0]).any():
            raise AnnotationError(f"{anno_file}, line 1: the first box is unknown (NaN)")
        boxes[:, :2] -= OFFSET
        att_file = anno_dir / "att" / f"{name}.txt"
        attributes = ann.parse_attribute_file(att_file, ATTRIBUTES) if att_file.is_file() else ()
        return Sequence(
            name=name,
            frames=ImageFiles(images, description=f"{name} ({folder})"),
            ground_truth=boxes,
            offset=OFFSET,
            attributes=attributes,
            absent=unknown,
            meta={"frame_range": (first, last), "annotation_file": str(anno_file)},
        )

    seqs, broken = read_each((n, functools.partial(read_one, n)) for n in names)
    present = {a for s in seqs for a in s.attributes}
    # UAV123 and UAV20L share one root (and some sequence names): keep their results apart
    name = dataset_name(base) if version == "UAV123" else f"{dataset_name(base)}-{version}"
    return Dataset(
        name=name,
        root=base,
        sequences=seqs,
        attribute_names=tuple(a for a in ATTRIBUTES if a in present),
        layout=version,
        broken=broken,
    )
