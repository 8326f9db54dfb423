"""A plain folder of images plus one initial box: a one-sequence dataset.

The images are the files directly in the folder (or, when it has none, in its ``img/``
sub-folder), ordered by the number at the end of their names. The box is the first
frame's target in fastcf's 0-based ``x, y, w, h`` convention; the other frames have no
ground truth (NaN rows).
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from pathlib import Path

import numpy as np

from fastcf.api import check_box
from fastcf.datasets import annotations as ann
from fastcf.datasets.base import Dataset, Sequence, dataset_name
from fastcf.errors import DatasetError
from fastcf.io.frames import ImageFiles


def first_box_ground_truth(box: Seq[float], n: int, where: str) -> np.ndarray:
    """``(max(n, 1), 4)`` ground truth: ``box`` in row 0, NaN elsewhere."""
    gt = np.full((max(n, 1), 4), np.nan)
    gt[0] = check_box(box, where=where)
    return gt


def read_folder(path: str | Path, box: Seq[float], *, name: str | None = None) -> Dataset:
    d = Path(path)
    if not d.is_dir():
        raise DatasetError(f"{d}: image folder does not exist")
    images = ann.list_images(d)
    if not images and (d / "img").is_dir():
        images = ann.list_images(d / "img")
    ann.require_images(images, d)
    seq_name = name or d.name
    seq = Sequence(
        name=seq_name,
        frames=ImageFiles(images, description=f"{seq_name} ({d})"),
        ground_truth=first_box_ground_truth(box, len(images), f"initial box for {d}"),
        offset=0.0,
        meta={"first_frame_only": True},
    )
    return Dataset(name=dataset_name(d), root=d, sequences=[seq], layout="folder")
