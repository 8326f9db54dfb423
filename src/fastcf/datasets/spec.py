"""``open_dataset(spec)``: one string names any supported dataset.

- ``otb:/path``: an OTB folder, or one OTB sequence folder
- ``otb2013:/path``, ``otb50:/path``, ``otb100:/path``: OTB restricted to one version
- ``tc128:/path``: Temple Color 128
- ``uav123:/path``, ``uav20l:/path``: UAV123 / UAV20L (the root holding anno/, data_seq/)
- ``vot:/path``: a VOT short-term folder, or one VOT sequence
- ``got10k:/path`` (split ``val``), ``got10k:/path/test``: GOT-10k root or split folder
- ``lasot:/path``: LaSOT (only the testing_set.txt sequences when that file exists)
- ``folder:/path@x,y,w,h``: a folder of images and the first box (0-based)
- ``video:/path.mp4@x,y,w,h``: a video file and the first box (0-based)
- ``/path``: an OTB sequence folder or a folder of OTB sequences

The dataset is named after its folder (the video's stem for ``video:``), or ``name``;
that name is the results folder of ``fastcf eval``. With ``sequences``, only those
sequences are read, so that a broken sequence elsewhere in the folder does not matter;
without it, a sequence that cannot be read is listed in ``Dataset.broken`` and the
others are returned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fastcf.api import Box, check_box
from fastcf.datasets.base import Dataset
from fastcf.datasets.folder import read_folder
from fastcf.datasets.got10k import read_got10k
from fastcf.datasets.lasot import read_lasot
from fastcf.datasets.otb import is_sequence_dir, read_otb
from fastcf.datasets.tc128 import read_tc128
from fastcf.datasets.uav123 import read_uav123
from fastcf.datasets.video import read_video
from fastcf.datasets.vot import read_vot
from fastcf.errors import DatasetError

_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9_-]+):(.*)$", re.DOTALL)


def parse_box(text: str, spec: str) -> Box:
    parts = [p.strip() for p in text.split(",")]
    return check_box(parts, where=f"box {text!r} in dataset spec {spec!r}")


def _split_box(rest: str, spec: str) -> tuple[str, Box]:
    path, sep, box = rest.rpartition("@")
    if not sep or not path:
        raise DatasetError(f"dataset spec {spec!r} needs a first box: PATH@x,y,w,h (0-based)")
    return path, parse_box(box, spec)


def _folder(rest: str, spec: str) -> Dataset:
    path, box = _split_box(rest, spec)
    return read_folder(path, box)


def _video(rest: str, spec: str) -> Dataset:
    path, box = _split_box(rest, spec)
    return read_video(path, box)


Reader = Callable[..., Dataset]  # (path, *, sequences=None) -> Dataset

READERS: dict[str, Reader] = {
    "otb": read_otb,
    "otb2013": lambda p, **kw: read_otb(p, version="otb2013", **kw),
    "otb50": lambda p, **kw: read_otb(p, version="tb50", **kw),
    "otb100": lambda p, **kw: read_otb(p, version="tb100", **kw),
    "tc128": read_tc128,
    "uav123": lambda p, **kw: read_uav123(p, version="UAV123", **kw),
    "uav20l": lambda p, **kw: read_uav123(p, version="UAV20L", **kw),
    "vot": read_vot,
    "got10k": read_got10k,
    "lasot": read_lasot,
}
BOX_READERS: dict[str, Callable[[str, str], Dataset]] = {"folder": _folder, "video": _video}
PREFIXES = tuple(sorted([*READERS, *BOX_READERS]))


def check_name(name: str) -> str:
    """A dataset name usable as a results folder name (no path separators, not empty)."""
    text = name.strip()
    if not text or text in (".", "..") or any(c in text for c in "/\\:"):
        raise DatasetError(f"dataset name {name!r} must be a plain folder name (no '/', '\\', ':')")
    return text


def open_dataset(
    spec: str | Path, *, sequences: Iterable[str] | None = None, name: str | None = None
) -> Dataset:
    """Open the dataset that ``spec`` names (see the module docstring).

    ``sequences``: read only these (unknown names are a :class:`DatasetError`); ``name``:
    the dataset's name instead of its folder's.
    """
    wanted = None if sequences is None else list(sequences)
    dataset = _open(spec, wanted)
    if name is not None:
        dataset.name = check_name(name)
    dataset.spec = str(spec).strip()
    return dataset


def _open(spec: str | Path, sequences: list[str] | None) -> Dataset:
    text = str(spec).strip()
    if not text:
        raise DatasetError("empty dataset spec")
    kw: dict[str, Any] = {} if sequences is None else {"sequences": sequences}
    m = _PREFIX.match(text)
    if m:
        prefix, rest = m.group(1).lower(), m.group(2)
        if not rest:
            raise DatasetError(f"dataset spec {text!r} has no path after {prefix + ':'!r}")
        if prefix in READERS:
            return READERS[prefix](rest, **kw)
        if prefix in BOX_READERS:
            ds = BOX_READERS[prefix](rest, text)
            return ds if sequences is None else ds.subset(sequences)
        if not Path(text).exists():
            raise DatasetError(
                f"unknown dataset spec prefix {prefix!r} in {text!r} "
                f"(expected one of {', '.join(p + ':' for p in PREFIXES)} or a path)"
            )
    path = Path(text)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder (dataset spec {text!r})")
    if path.is_dir():
        if is_sequence_dir(path) or any(is_sequence_dir(p) for p in path.iterdir()):
            return read_otb(path, **kw)
    raise DatasetError(
        f"{path}: not an OTB sequence folder or a folder of OTB sequences; name the layout "
        f"with a prefix ({', '.join(p + ':' for p in PREFIXES)})"
    )
