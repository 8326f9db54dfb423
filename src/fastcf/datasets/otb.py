"""OTB-2013 / OTB-50 / OTB-100 reader.

Layout: ``<root>/<Name>/img/0001.jpg ...`` and ``<root>/<Name>/groundtruth_rect.txt``
(``x, y, w, h`` per frame, 1-based MATLAB coordinates, separated by commas, tabs or
spaces, mixed even within one file). Folders with several targets hold
``groundtruth_rect.1.txt``, ``groundtruth_rect.2.txt`` (Jogging, Skating2) and give one
sequence per non-empty file, named ``Jogging-1``, ``Jogging-2``; a folder whose only
non-empty file is numbered (Human4: ``.1`` is empty, ``.2`` is the target) keeps the
folder name.

The frame ranges of the OTB toolkit (``configSeqs100.m``) are applied by image number:
David 300-770, Football1 1-74, Freeman3 1-460, Freeman4 1-283, Diving 1-215,
BlurCar1 247-988, BlurCar3 3-359, BlurCar4 18-397; Tiger1 omits its first 5 frames
(``initOmit``). Other sequences use their first ``len(groundtruth)`` images.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fastcf.datasets import annotations as ann
from fastcf.datasets.base import Dataset, Sequence, dataset_name, read_each
from fastcf.errors import AnnotationError, DatasetError, FastCFError
from fastcf.io.frames import ImageFiles

OFFSET = 1.0  # OTB boxes are 1-based MATLAB pixel coordinates

# attribute order of the OTB papers (and of the toolkit's 0/1 attribute vectors)
ATTRIBUTES = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR")

# (first, last) image number, inclusive: OTB toolkit configSeqs100.m
FRAME_RANGES: dict[str, tuple[int, int]] = {
    "David": (300, 770),
    "Football1": (1, 74),
    "Freeman3": (1, 460),
    "Freeman4": (1, 283),
    "Diving": (1, 215),
    "BlurCar1": (247, 988),
    "BlurCar3": (3, 359),
    "BlurCar4": (18, 397),
}
# frames (and annotation rows) dropped at the start: OTB toolkit ``initOmit``
INIT_OMIT: dict[str, int] = {"Tiger1": 5}

# Folder names of each benchmark version (Jogging and Skating2 hold two targets).
_OTB2013 = (
    "Basketball Bolt Boy Car4 CarDark CarScale Coke Couple Crossing David David2 David3 "
    "Deer Dog1 Doll Dudek FaceOcc1 FaceOcc2 Fish FleetFace Football Football1 Freeman1 "
    "Freeman3 Freeman4 Girl Ironman Jogging Jumping Lemming Liquor Matrix Mhyang "
    "MotorRolling MountainBike Shaking Singer1 Singer2 Skating1 Skiing Soccer Subway Suv "
    "Sylvester Tiger1 Tiger2 Trellis Walking Walking2 Woman"
).split()
_TB50 = (
    "Basketball Biker Bird1 BlurBody BlurCar2 BlurFace BlurOwl Bolt Box Car1 Car4 CarDark "
    "CarScale ClifBar Couple Crowds David Deer Diving DragonBaby Dudek Football Freeman4 "
    "Girl Human3 Human4 Human6 Human9 Ironman Jump Jumping Liquor Matrix MotorRolling Panda "
    "RedTeam Shaking Singer2 Skating1 Skating2 Skiing Soccer Surfer Sylvester Tiger2 "
    "Trellis Walking Walking2 Woman"
).split()
_TB100_REST = (
    "Bird2 BlurCar1 BlurCar3 BlurCar4 Board Bolt2 Boy Car2 Car24 Coke Coupon Crossing Dancer "
    "Dancer2 David2 David3 Dog Dog1 Doll FaceOcc1 FaceOcc2 Fish FleetFace Football1 Freeman1 "
    "Freeman3 Girl2 Gym Human2 Human5 Human7 Human8 Jogging KiteSurf Lemming Man Mhyang "
    "MountainBike Rubik Singer1 Skater Skater2 Subway Suv Tiger1 Toy Trans Twinnings Vase"
).split()
VERSIONS: dict[str, tuple[str, ...]] = {
    "otb2013": tuple(_OTB2013),
    "tb50": tuple(_TB50),
    "tb100": tuple(sorted(_TB50 + _TB100_REST)),
}
VERSION_ALIASES = {
    "otb2013": "otb2013",
    "cvpr2013": "otb2013",
    "otb51": "otb2013",
    "2013": "otb2013",
    "tb50": "tb50",
    "otb50": "tb50",
    "tb100": "tb100",
    "otb100": "tb100",
    "otb2015": "tb100",
    "2015": "tb100",
}

_GT = re.compile(r"^groundtruth_rect(?:\.?(\d+))?\.txt$")


@dataclass(frozen=True)
class _Target:
    name: str
    folder: Path
    annotation: Path


def is_sequence_dir(path: Path) -> bool:
    """True for a folder with ``img/`` and at least one ``groundtruth_rect*.txt``."""
    return (
        path.is_dir()
        and (path / "img").is_dir()
        and any(_GT.match(p.name) for p in path.iterdir() if p.is_file())
    )


def _targets(folder: Path) -> list[_Target]:
    files: list[tuple[int, Path]] = []
    for p in folder.iterdir():
        m = _GT.match(p.name)
        if m and p.is_file() and p.read_text(encoding="utf-8-sig", errors="replace").strip():
            files.append((int(m.group(1)) if m.group(1) else 0, p))
    files.sort()
    if not files:
        raise AnnotationError(f"{folder}: every groundtruth_rect*.txt file is empty")
    if len(files) == 1:
        return [_Target(folder.name, folder, files[0][1])]
    return [_Target(folder.name if k == 0 else f"{folder.name}-{k}", folder, p) for k, p in files]


def _attributes(root: Path, target: _Target) -> tuple[str, ...]:
    for candidate in (
        root / "anno" / "att" / f"{target.name}.txt",
        target.folder / "attributes.txt",
    ):
        if candidate.is_file():
            return ann.parse_attribute_file(candidate, ATTRIBUTES)
    return ()


def read_sequence(
    target_dir: str | Path,
    *,
    annotation: str | Path | None = None,
    name: str | None = None,
    root: str | Path | None = None,
    special_cases: bool = True,
) -> Sequence:
    """Read one OTB sequence folder (the first target when it holds several)."""
    folder = Path(target_dir)
    ann.require_dir(folder, "OTB sequence folder")
    if annotation is None:
        target = _targets(folder)[0]
    else:
        target = _Target(name or folder.name, folder, Path(annotation))
    if name is not None:
        target = _Target(name, target.folder, target.annotation)
    return _read_target(target, Path(root) if root else folder.parent, special_cases)


def _read_target(target: _Target, root: Path, special_cases: bool) -> Sequence:
    folder = target.folder
    img_dir = ann.require_dir(folder / "img", "image folder 'img'")
    images = ann.list_images(img_dir)
    ann.require_images(images, img_dir)

    # A VOT sequence converted to OTB layout (it keeps ``groundtruth_polygon.txt``) has its
    # rectangles in VOT's own 0-based coordinates: see docs/datasets.md.
    polygon_file = folder / "groundtruth_polygon.txt"
    converted_vot = polygon_file.is_file()
    offset = 0.0 if converted_vot else OFFSET

    boxes, unknown = ann.read_boxes(target.annotation, nonpositive="nan")
    meta: dict[str, object] = {"annotation_file": str(target.annotation)}
    key = folder.name
    if special_cases and key in FRAME_RANGES:
        first, last = FRAME_RANGES[key]
        if len(boxes) != last - first + 1:
            raise AnnotationError(
                f"{target.annotation}: {len(boxes)} rows, but the OTB frame range of "
                f"{key} ({first}-{last}) has {last - first + 1} frames"
            )
        images = ann.images_in_range(images, first, last, img_dir)
        meta["frame_range"] = (first, last)
    else:
        ann.check_counts(len(images), len(boxes), img_dir, target.annotation, exact=False)
        if len(images) > len(boxes):
            meta["unannotated_frames"] = len(images) - len(boxes)
        images = images[: len(boxes)]
    omit = INIT_OMIT.get(key, 0) if special_cases else 0
    if omit:
        images, boxes, unknown = images[omit:], boxes[omit:], unknown[omit:]
        meta["init_omit"] = omit
    if unknown.any():
        meta["unknown_rows"] = int(unknown.sum())
    if np.isnan(boxes[0]).any():
        raise AnnotationError(
            f"{target.annotation}: the first annotated frame has no valid box "
            "(a tracker cannot be initialised)"
        )
    if converted_vot:
        rows = ann.read_rows(polygon_file, (8,))
        meta["polygons"] = np.asarray([v for _, v in rows], dtype=np.float64)
        meta["source"] = "vot"
    boxes[:, :2] -= offset
    return Sequence(
        name=target.name,
        frames=ImageFiles(images, description=f"{target.name} ({img_dir})"),
        ground_truth=boxes,
        offset=offset,
        attributes=_attributes(root, target),
        meta=meta,
    )


def read_otb(
    root: str | Path,
    *,
    version: str | None = None,
    sequences: Iterable[str] | None = None,
    allow_missing: bool = False,
    special_cases: bool = True,
) -> Dataset:
    """Read an OTB folder (or a single OTB sequence folder).

    ``version`` (``otb2013``, ``tb50``, ``tb100``; aliases ``otb50``, ``otb100``,
    ``otb2015``) keeps only that benchmark's sequences and raises if some are missing
    unless ``allow_missing``. ``sequences`` keeps the named sequences (sequence names
    such as ``Jogging-1`` or folder names such as ``Jogging``); only those are read.
    A sequence that cannot be read goes to ``Dataset.broken`` with its reason.
    """
    base = Path(root)
    ann.require_dir(base, "OTB dataset folder")
    if is_sequence_dir(base):
        folders = [base]
        root_for_att = base.parent
    else:
        folders = sorted(p for p in base.iterdir() if is_sequence_dir(p))
        root_for_att = base
    if not folders:
        raise DatasetError(f"{base}: no OTB sequences (folders with img/ and groundtruth_rect.txt)")
    layout = "OTB"
    if version is not None:
        v = VERSION_ALIASES.get(version.lower().replace("-", "").replace("_", ""))
        if v is None:
            raise DatasetError(
                f"unknown OTB version {version!r} (expected one of "
                f"{', '.join(sorted(VERSION_ALIASES))})"
            )
        wanted = set(VERSIONS[v])
        present = {f.name for f in folders}
        missing = sorted(wanted - present)
        if missing and not allow_missing:
            raise DatasetError(
                f"{base}: {len(missing)} sequence folder(s) of {v} missing: "
                f"{', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else "")
            )
        folders = [f for f in folders if f.name in wanted]
        layout = {"otb2013": "OTB-2013", "tb50": "OTB-50", "tb100": "OTB-100"}[v]

    if sequences is not None:
        # read only the folders a wanted name can live in ("Jogging" or "Jogging-1")
        wanted_names = list(sequences)
        stems = {n.rsplit("-", 1)[0] for n in wanted_names} | set(wanted_names)
        folders = [f for f in folders if f.name in stems]
    targets: list[_Target] = []
    broken: dict[str, str] = {}
    for f in folders:
        try:
            targets.extend(_targets(f))
        except (FastCFError, OSError) as exc:
            broken[f.name] = str(exc)
    if sequences is not None:
        by_name = {t.name: t for t in targets}
        chosen: list[_Target] = []
        chosen_broken: dict[str, str] = {}
        unknown = []
        for n in wanted_names:
            if n in by_name:
                chosen.append(by_name[n])
            elif any(t.folder.name == n for t in targets):
                chosen.extend(t for t in targets if t.folder.name == n)
            elif n in broken:
                chosen_broken[n] = broken[n]
            else:
                unknown.append(n)
        if unknown:
            raise DatasetError(f"{base}: OTB sequence(s) not found: {', '.join(unknown)}")
        targets, broken = chosen, chosen_broken
    jobs = [
        (t.name, functools.partial(_read_target, t, root_for_att, special_cases)) for t in targets
    ]
    seqs, broken = read_each(jobs, broken)
    names = {a for s in seqs for a in s.attributes}
    return Dataset(
        name=dataset_name(base),
        root=base,
        sequences=seqs,
        attribute_names=tuple(a for a in ATTRIBUTES if a in names),
        layout=layout,
        broken=broken,
    )
