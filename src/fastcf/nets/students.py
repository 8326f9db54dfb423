"""Student networks: small VGG-M and slim VGG16 trunks, and their weight package format.

Names end in the compression ratio in **parameter count** (convolution weights + biases)
relative to the teacher trunk of the same family (VGG-M-2048 conv1-5: 6,528,640
parameters; VGG16 conv1_1-conv5_3: 14,714,688):

=================  ===========================  ========  =======
name               widths                        params    ratio
=================  ===========================  ========  =======
vggm-16x           24/64/128/128/128              411,040    15.9x
vggm-32x           16/48/88/88/88                 199,288    32.8x
vggm-64x           12/32/64/64/64 (CF-VGGM)       103,760    62.9x
vggm-96x           8/26/52/52/52                   67,406    96.9x
vgg16-slim-8x      24,24/48,48/96x3/176x3/176x3  1,791,768     8.2x
vgg16-slim-16x     16/32/64/128/128 (per block)    920,784    16.0x
vgg16-slim-32x     12/24/48/88/88                  448,476    32.8x
vgg16-slim-64x     8/16/32/64/64                   230,568    63.8x
vgg16-slim-256x    4/8/16/32/32                     57,828   254.5x
=================  ===========================  ========  =======

Widths are multiples of 4 where possible (SIMD-friendly). The VGG-M students keep the
MatConvNet layer list of VGG-M (``conv1 relu1 norm1 pool1 conv2 relu2 norm2 pool2 conv3
relu3 conv4 relu4 conv5 relu5``) so MATLAB layer numbers carry over (ECO: 3 and 14;
DeepSTRCF: 10). The slim VGG16 students have the teacher's layer names, strides and
receptive fields, so every teacher tap has a student tap of the same geometry.

Students take BGR 0..255 input and subtract the Caffe mean colour (no scaling).

Package format: ``<stem>.pt`` (a torch state dict) + ``<stem>.json`` (architecture,
widths, taps, sha256 of the ``.pt``, free-form training metadata).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fastcf.errors import ConfigError, WeightsError
from fastcf.nets.base import TapNetwork, load_checked
from fastcf.nets.layers import LRN, Conv, InputNorm, Pool, ReLU
from fastcf.nets.vgg16 import CAFFE_MEAN_BGR, build_vgg16

FORMAT = "fastcf-student"
FORMAT_VERSION = 1

VGGM_2048_WIDTHS = (96, 256, 512, 512, 512)
VGGM_LRN = (5, 2.0, 1e-4, 0.75)  # MatConvNet param [N kappa alpha beta] of VGG-M

VGGM_STUDENTS: dict[str, tuple[int, int, int, int, int]] = {
    "vggm-16x": (24, 64, 128, 128, 128),
    "vggm-32x": (16, 48, 88, 88, 88),
    "vggm-64x": (12, 32, 64, 64, 64),
    "vggm-96x": (8, 26, 52, 52, 52),
}


def _slim(c1: int, c2: int, c3: int, c4: int) -> tuple[tuple[int, ...], ...]:
    return ((c1, c1), (c2, c2), (c3, c3, c3), (c4, c4, c4), (c4, c4, c4))


VGG16_STUDENTS: dict[str, tuple[tuple[int, ...], ...]] = {
    "vgg16-slim-8x": _slim(24, 48, 96, 176),
    "vgg16-slim-16x": _slim(16, 32, 64, 128),
    "vgg16-slim-32x": _slim(12, 24, 48, 88),
    "vgg16-slim-64x": _slim(8, 16, 32, 64),
    "vgg16-slim-256x": _slim(4, 8, 16, 32),
}


def student_names() -> list[str]:
    return list(VGGM_STUDENTS) + list(VGG16_STUDENTS)


def build_vggm(
    widths: Sequence[int] = VGGM_2048_WIDTHS,
    *,
    norm: InputNorm | None = None,
    name: str = "vggm",
    lrn: tuple[int, float, float, float] = VGGM_LRN,
) -> TapNetwork:
    """VGG-M conv trunk (MatConvNet ``imagenet-vgg-m-2048`` geometry) with given widths."""
    if len(widths) != 5 or any(int(c) < 1 for c in widths):
        raise ValueError(f"VGG-M needs 5 positive widths, got {tuple(widths)}")
    c1, c2, c3, c4, c5 = (int(c) for c in widths)
    layers: list[tuple[str, nn.Module]] = [
        ("conv1", Conv(3, c1, 7, 2, 0)),
        ("relu1", ReLU()),
        ("norm1", LRN(*lrn)),
        ("pool1", Pool("max", 3, 2, (0, 1, 0, 1))),
        ("conv2", Conv(c1, c2, 5, 2, 1)),
        ("relu2", ReLU()),
        ("norm2", LRN(*lrn)),
        ("pool2", Pool("max", 3, 2, (0, 1, 0, 1))),
        ("conv3", Conv(c2, c3, 3, 1, 1)),
        ("relu3", ReLU()),
        ("conv4", Conv(c3, c4, 3, 1, 1)),
        ("relu4", ReLU()),
        ("conv5", Conv(c4, c5, 3, 1, 1)),
        ("relu5", ReLU()),
    ]
    return TapNetwork(norm or InputNorm(CAFFE_MEAN_BGR), layers, name=name)


def build_student(name: str, *, seed: int = 0) -> TapNetwork:
    """A freshly initialised student (He-normal convolutions, zero biases, seeded)."""
    if name in VGGM_STUDENTS:
        net = build_vggm(VGGM_STUDENTS[name], name=name)
    elif name in VGG16_STUDENTS:
        net = build_vgg16(VGG16_STUDENTS[name], name=name)
    else:
        raise ConfigError(f"unknown student {name!r}; available: {', '.join(student_names())}")
    init_weights(net, seed)
    return net


def init_weights(net: nn.Module, seed: int = 0) -> None:
    """Deterministic He-normal init of every convolution (does not touch the global RNG)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                std = float(np.sqrt(2.0 / fan_in))
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
                if m.bias is not None:
                    m.bias.zero_()


def _family(net: TapNetwork) -> tuple[str, list[Any]]:
    convs = [m for m in net.layers.values() if isinstance(m, Conv)]
    widths = [m.conv.out_channels for m in convs]
    if "conv1_1" in net.layers:
        blocks: list[list[int]] = [[] for _ in range(5)]
        for lname, m in net.layers.items():
            if isinstance(m, Conv):
                blocks[int(lname[4]) - 1].append(m.conv.out_channels)
        return "vgg16", blocks
    if "norm1" in net.layers and len(widths) == 5:
        return "vggm", widths
    raise WeightsError(f"cannot save network {net.name!r}: not a vggm or vgg16 student")


def build_from_meta(meta: Mapping[str, Any], source: str | Path = "<meta>") -> TapNetwork:
    family, widths, name = meta.get("family"), meta.get("widths"), str(meta.get("arch", ""))
    norm_meta = meta.get("norm") or {}
    norm = InputNorm(
        tuple(norm_meta.get("mean", CAFFE_MEAN_BGR)),
        rgb=bool(norm_meta.get("rgb", False)),
        scale=float(norm_meta.get("scale", 1.0)),
        std=tuple(norm_meta["std"]) if norm_meta.get("std") else None,
    )
    try:
        if family == "vggm":
            return build_vggm([int(c) for c in widths], norm=norm, name=name)  # type: ignore[union-attr]
        if family == "vgg16":
            return build_vgg16([[int(c) for c in b] for b in widths], norm=norm, name=name)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{source}: invalid widths {widths!r} ({exc})") from None
    raise WeightsError(f"{source}: unknown student family {family!r}")


def save_student(net: TapNetwork, path: str | Path, **extra: Any) -> tuple[Path, Path]:
    """Write ``<stem>.pt`` + ``<stem>.json``; returns both paths. ``extra`` goes in the json."""
    path = Path(path)
    pt = path.with_suffix(".pt")
    js = path.with_suffix(".json")
    family, widths = _family(net)
    pt.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    if net.norm.is_image:
        raise WeightsError("students must use a mean colour, not a mean image")
    torch.save(state, pt)
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "arch": net.name,
        "family": family,
        "widths": widths,
        "norm": {
            "mean": [float(v) for v in net.norm.mean.ravel()],
            "rgb": net.norm.rgb,
            "scale": net.norm.scale,
            "std": None if net.norm.unit_std else [float(v) for v in net.norm.std.ravel()],
        },
        "taps": {k: [t.stride, t.channels, t.receptive_field] for k, t in net.taps.items()},
        "params": int(sum(p.numel() for p in net.parameters())),
        "sha256": _sha256(pt),
        "extra": extra,
    }
    js.write_text(json.dumps(meta, indent=1) + "\n")
    return pt, js


def load_student(path: str | Path) -> TapNetwork:
    """Load a student written by :func:`save_student` (``.pt`` or ``.json`` path)."""
    path = Path(path)
    pt, js = path.with_suffix(".pt"), path.with_suffix(".json")
    for p in (pt, js):
        if not p.is_file():
            raise WeightsError(f"{p}: student file not found (need both .pt and .json)")
    try:
        meta = json.loads(js.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{js}: invalid JSON ({exc})") from None
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{js}: not a fastcf student (format {meta.get('format')!r})")
    if int(meta.get("version", 0)) > FORMAT_VERSION:
        raise WeightsError(f"{js}: format version {meta.get('version')} is newer than supported")
    digest = _sha256(pt)
    if meta.get("sha256") and meta["sha256"] != digest:
        raise WeightsError(
            f"{pt}: sha256 {digest[:12]}... does not match {js.name} "
            f"({str(meta['sha256'])[:12]}...); the file is truncated or belongs to another student"
        )
    net = build_from_meta(meta, js)
    try:
        state = torch.load(pt, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(
            f"{pt}: cannot read torch weights ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(state, dict):
        raise WeightsError(f"{pt}: expected a state dict")
    load_checked(net, state, pt)
    return net.eval()


def vggm_from_matconvnet(net: TapNetwork, name: str = "vggm-64x") -> TapNetwork:
    """A VGG-M student initialised from an imported MatConvNet VGG-M (e.g. CF_VGGM.mat).

    The RGB flip is folded into conv1 (its input channels are reversed) and the mean
    image is replaced by its average colour (BGR), so the student runs on BGR directly.
    Outputs differ from the MatConvNet network only by the mean image vs mean colour.
    """
    widths: list[int] = []
    for n in ("conv1", "conv2", "conv3", "conv4", "conv5"):
        layer = net.layers[n] if n in net.layers else None
        if not isinstance(layer, Conv):
            raise WeightsError(f"<{net.name}>: layer {n!r} is not a convolution; not a VGG-M")
        widths.append(int(layer.conv.out_channels))
    colour = net.norm.mean.mean(dim=(1, 2))  # in the network's channel order
    mean_bgr = colour.flip(0) if net.norm.rgb else colour
    student = build_vggm(widths, norm=InputNorm(tuple(mean_bgr.tolist())), name=name)
    state = {k: v.clone() for k, v in net.state_dict().items() if not k.startswith("norm.")}
    if net.norm.rgb:
        state["layers.conv1.conv.weight"] = state["layers.conv1.conv.weight"].flip(1)
    full = student.state_dict()
    full.update(state)
    load_checked(student, full, f"<{net.name}>")
    return student.eval()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
