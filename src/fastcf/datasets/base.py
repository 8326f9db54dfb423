"""Sequence and Dataset: what every dataset reader returns.

Ground truth is held as an ``(N, 4)`` float64 array of 0-based ``x, y, w, h`` boxes
(``fastcf.api`` convention); rows that are unknown or where the target is absent are
NaN. ``offset`` is what the dataset's own convention adds to ``x, y`` (1.0 for OTB's
1-based MATLAB coordinates), so results can be written back in the dataset's convention.

A :class:`Dataset` is named after its folder (``name``: the results of ``fastcf eval`` go
to ``<results>/<name>/``); ``layout`` says which reader / benchmark it is (``OTB``,
``OTB-100``, ``GOT-10k-val``, ``folder``, ...). A sequence that cannot be read (bad
annotation, missing images) does not stop the others: the readers list it in
``Dataset.broken`` with the reason, and looking it up raises that reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fastcf.api import Box, Frame
from fastcf.errors import DatasetError, FastCFError
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
    name: str  # the dataset's own name (its folder name, or one given): results folder
    root: Path
    sequences: list[Sequence]
    attribute_names: tuple[str, ...] = ()
    layout: str = ""  # reader / benchmark: "OTB", "OTB-100", "GOT-10k-val", "folder", ...
    broken: dict[str, str] = field(default_factory=dict)  # sequence -> why it is unreadable
    spec: str = ""  # the spec it was opened from (set by open_dataset; recorded in results)

    def __post_init__(self) -> None:
        if not self.sequences and not self.broken:
            raise DatasetError(f"{self.root}: no sequences found for dataset {self.name!r}")
        if not self.layout:
            self.layout = self.name

    def __len__(self) -> int:
        return len(self.sequences)

    def __iter__(self) -> Iterator[Sequence]:
        return iter(self.sequences)

    def __getitem__(self, name: str) -> Sequence:
        for s in self.sequences:
            if s.name == name:
                return s
        if name in self.broken:
            raise DatasetError(
                f"sequence {name!r} of dataset {self.name!r} cannot be read: {self.broken[name]}"
            )
        raise DatasetError(f"dataset {self.name!r} has no sequence {name!r}")

    def names(self) -> list[str]:
        """Names of the readable sequences, in dataset order."""
        return [s.name for s in self.sequences]

    def subset(self, names: Iterable[str]) -> Dataset:
        """The named sequences (readable or broken), in the order given.

        Raises :class:`DatasetError` naming a sequence the dataset does not have.
        """
        seqs: list[Sequence] = []
        broken: dict[str, str] = {}
        by_name = {s.name: s for s in self.sequences}
        for n in names:
            if n in by_name:
                seqs.append(by_name[n])
            elif n in self.broken:
                broken[n] = self.broken[n]
            else:
                raise DatasetError(f"dataset {self.name!r} has no sequence {n!r}")
        return Dataset(
            self.name, self.root, seqs, self.attribute_names, self.layout, broken, self.spec
        )


def dataset_name(path: str | Path) -> str:
    """The name a dataset at ``path`` gets: its folder (or file stem) name."""
    p = Path(os.path.abspath(path))  # "." and ".." resolved, symlinks kept
    return p.stem if p.is_file() else (p.name or str(p))


def read_each(
    jobs: Iterable[tuple[str, Callable[[], Sequence | list[Sequence]]]],
    broken: dict[str, str] | None = None,
) -> tuple[list[Sequence], dict[str, str]]:
    """Run one reader job per sequence; a job that raises a fastcf error (or an ``OSError``)
    puts its name and message into ``broken`` and the others go on.

    When no sequence can be read at all, nothing could run: the error is raised (the
    original exception when a single sequence was asked for, else a :class:`DatasetError`
    listing every reason). ``broken`` may hold failures found before (they count too).
    """
    seqs: list[Sequence] = []
    failed = dict(broken or {})
    errors: list[BaseException] = []
    for name, job in jobs:
        try:
            out = job()
        except (FastCFError, OSError) as exc:
            failed[name] = str(exc) or type(exc).__name__
            errors.append(exc)
            continue
        seqs.extend(out if isinstance(out, list) else [out])
    if not seqs and failed:
        if len(failed) == 1 and len(errors) == 1:
            raise errors[0]
        reasons = "; ".join(f"{n}: {r}" for n, r in failed.items())
        raise DatasetError(f"no sequence could be read ({reasons})")
    return seqs, failed
