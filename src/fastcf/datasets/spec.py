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
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

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


READERS: dict[str, Callable[[str], Dataset]] = {
    "otb": read_otb,
    "otb2013": lambda p: read_otb(p, version="otb2013"),
    "otb50": lambda p: read_otb(p, version="tb50"),
    "otb100": lambda p: read_otb(p, version="tb100"),
    "tc128": read_tc128,
    "uav123": lambda p: read_uav123(p, version="UAV123"),
    "uav20l": lambda p: read_uav123(p, version="UAV20L"),
    "vot": read_vot,
    "got10k": read_got10k,
    "lasot": read_lasot,
}
BOX_READERS: dict[str, Callable[[str, str], Dataset]] = {"folder": _folder, "video": _video}
PREFIXES = tuple(sorted([*READERS, *BOX_READERS]))


def open_dataset(spec: str | Path) -> Dataset:
    """Open the dataset that ``spec`` names (see the module docstring)."""
    text = str(spec).strip()
    if not text:
        raise DatasetError("empty dataset spec")
    m = _PREFIX.match(text)
    if m:
        prefix, rest = m.group(1).lower(), m.group(2)
        if not rest:
            raise DatasetError(f"dataset spec {text!r} has no path after {prefix + ':'!r}")
        if prefix in READERS:
            return READERS[prefix](rest)
        if prefix in BOX_READERS:
            return BOX_READERS[prefix](rest, text)
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
            return read_otb(path)
    raise DatasetError(
        f"{path}: not an OTB sequence folder or a folder of OTB sequences; name the layout "
        f"with a prefix ({', '.join(p + ':' for p in PREFIXES)})"
    )
