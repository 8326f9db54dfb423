"""Networks for distillation: resolving teacher/student names, tap matching, init.

Builds on :mod:`fastcf.nets` (every network maps a float ``(N, 3, H, W)`` BGR 0..255 tensor
to ``{tap: map}`` and declares ``taps: {name: TapInfo(stride, channels, receptive_field)}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fastcf.errors import ConfigError


def resolve_teacher(spec: str, cache: str | Path | None = None) -> tuple[nn.Module, str]:
    """A teacher name of :data:`fastcf.nets.teacher.TEACHERS` (``vgg16``, ``vgg16-hed``,
    ``mobilenetv2``: fetched/converted by :mod:`fastcf.nets.teacher`), a MatConvNet
    ``.mat``, a HED ``.h5`` or a converted VGG16 ``.pt``. Returns ``(network, label)``."""
    from fastcf import nets
    from fastcf.nets.teacher import TEACHERS

    if spec in TEACHERS:
        return nets.load_teacher(cache, name=spec), spec
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ConfigError(f"teacher {spec!r}: not one of {', '.join(TEACHERS)} and no such file")
    if path.suffix == ".mat":
        return nets.load_matconvnet(path), f"matconvnet:{path.name}"
    if path.suffix == ".h5":
        return nets.vgg16_from_hed(path), f"hed-h5:{path.name}"
    if path.suffix == ".pt":
        from fastcf.nets.vgg16 import vgg16_from_state_dict

        return vgg16_from_state_dict(path), f"vgg16-pt:{path.name}"
    raise ConfigError(f"teacher {spec!r}: expected vgg16-hed, .mat, .h5 or .pt")


def resolve_student(spec: str, seed: int = 0) -> nn.Module:
    """A student name (``vggm-64x`` ...), a saved student (``.json``/``.pt`` package) or
    ``cf-vggm:PATH.mat`` (VGG-M student initialised from a MatConvNet file)."""
    from fastcf import nets

    if spec.startswith("cf-vggm:"):
        path = Path(spec.partition(":")[2]).expanduser()
        return nets.vggm_from_matconvnet(nets.load_matconvnet(path))
    path = Path(spec).expanduser()
    if path.suffix in (".json", ".pt") and path.exists():
        return nets.load_student(path)
    return nets.build_student(spec, seed=seed)


def tap_table(net: nn.Module) -> Mapping[str, Any]:
    taps = getattr(net, "taps", None)
    if not isinstance(taps, Mapping):
        raise ConfigError(f"{type(net).__name__} declares no `taps` (name -> TapInfo) table")
    return taps


def match_taps(student: nn.Module, teacher: nn.Module, student_taps: list[str]) -> list[str]:
    """For each student tap, the teacher tap of nearest stride (ties: the deeper one)."""
    s_taps, t_taps = tap_table(student), tap_table(teacher)
    t_names = list(t_taps)
    out = []
    for name in student_taps:
        if name not in s_taps:
            raise ConfigError(f"student has no tap {name!r}; taps: {', '.join(s_taps)}")
        stride = s_taps[name].stride
        best = min(
            range(len(t_names)),
            key=lambda i: (abs(t_taps[t_names[i]].stride - stride), -i),
        )
        out.append(t_names[best])
    return out


def _convs(net: nn.Module) -> list[nn.Conv2d]:
    return [m for m in net.modules() if isinstance(m, nn.Conv2d)]


def init_from_teacher(student: nn.Module, teacher: nn.Module) -> list[list[int]]:
    """Initialise every student convolution by *channel selection* from the teacher.

    Only when the topologies match: same number of convolutions, each with the same
    kernel, stride, padding and dilation, and no more channels than the teacher's. Layer by
    layer, the input channels are those kept in the previous layer (all colour channels
    for the first) and the output channels kept are the ``C_out`` teacher filters of
    largest L2 norm over the kept inputs (ties: lower index), in their original order.
    Each kept filter is rescaled to the norm of the full teacher filter, to compensate for
    the dropped inputs. Returns the kept channel indices per layer.
    """
    s_convs, t_convs = _convs(student), _convs(teacher)
    if len(s_convs) != len(t_convs):
        raise ConfigError(
            f"init from teacher: student has {len(s_convs)} convolutions, teacher "
            f"{len(t_convs)}; channel selection needs the same topology (use init=random)"
        )
    for i, (s, t) in enumerate(zip(s_convs, t_convs, strict=True)):
        same = (s.kernel_size, s.stride, s.padding, s.dilation, s.groups) == (
            t.kernel_size, t.stride, t.padding, t.dilation, t.groups,
        )  # fmt: skip
        if not same or s.out_channels > t.out_channels or s.groups != 1:
            raise ConfigError(
                f"init from teacher: convolution {i + 1} differs (student k={s.kernel_size} "
                f"s={s.stride} C={s.out_channels}, teacher k={t.kernel_size} s={t.stride} "
                f"C={t.out_channels}); channel selection needs the same topology"
            )
    kept_all: list[list[int]] = []
    keep_in = list(range(t_convs[0].in_channels))
    if s_convs[0].in_channels != len(keep_in):
        raise ConfigError("init from teacher: first layers take different input channels")
    with torch.no_grad():
        for s, t in zip(s_convs, t_convs, strict=True):
            w = t.weight[:, keep_in]
            norms = w.flatten(1).norm(dim=1)
            order = sorted(range(t.out_channels), key=lambda c: (-float(norms[c]), c))
            keep_out = sorted(order[: s.out_channels])
            full = t.weight[keep_out].flatten(1).norm(dim=1)
            part = norms[keep_out].clamp_min(1e-12)
            s.weight.copy_(w[keep_out] * (full / part).view(-1, 1, 1, 1))
            if s.bias is not None:
                if t.bias is not None:
                    s.bias.copy_(t.bias[keep_out])
                else:
                    s.bias.zero_()
            kept_all.append(keep_out)
            keep_in = keep_out
    return kept_all
