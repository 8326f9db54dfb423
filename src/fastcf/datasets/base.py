"""Sequence and Dataset: what every dataset reader returns.

Ground truth is held as an ``(N, 4)`` float64 array of 0-based ``x, y, w, h`` boxes
(``fastcf.api`` convention); rows that are unknown or where the target is absent are
NaN. ``offset`` is what the dataset's own convention adds to ``x, y`` (1.0 for OTB's
1-based MATLAB coordinates), so results can be written back in the dataset's convention.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fastcf.api import Box, Frame
from fastcf.errors import DatasetError
from fastcf.io.frames import FrameSource


@dataclass
class Sequence:
    name: str
    frames: FrameSource
    ground_truth: npt.NDArray[np.float64]  # (N, 4), 0-based xywh, NaN where unknown/absent
    offset: float = 0.0  # dataset convention = 0-based + offset (x, y only)
    attributes: tuple[str, ...] = ()
    absent: npt.NDArray[np.bool_] | None = None  # (N,) target absent (GOT-10k, LaSOT)
    meta: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def init_box(self) -> Box:
        x, y, w, h = (float(v) for v in self.ground_truth[0])
        return (x, y, w, h)

    def iter_frames(self) -> Iterator[Frame]:
        return iter(self.frames)

    def to_dataset_convention(self, boxes: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Convert 0-based boxes to this dataset's own convention (for result files)."""
        out = np.array(boxes, dtype=np.float64, copy=True).reshape(-1, 4)
        out[:, :2] += self.offset
        return out


@dataclass
class Dataset:
    name: str
    root: Path
    sequences: list[Sequence]
    attribute_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.sequences:
            raise DatasetError(f"{self.root}: no sequences found for dataset {self.name!r}")

    def __len__(self) -> int:
        return len(self.sequences)

    def __iter__(self) -> Iterator[Sequence]:
        return iter(self.sequences)

    def __getitem__(self, name: str) -> Sequence:
        for s in self.sequences:
            if s.name == name:
                return s
        raise DatasetError(f"dataset {self.name!r} has no sequence {name!r}")

    def names(self) -> list[str]:
        return [s.name for s in self.sequences]
