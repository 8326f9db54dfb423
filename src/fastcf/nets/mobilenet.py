"""MobileNetV2 feature trunk (Sandler et al., CVPR 2018) as a :class:`TapNetwork`, and the
importer of torchvision's ImageNet weights (``mobilenet_v2-b0353104.pth``).

Layers are named after torchvision's ``features`` indices with an underscore:
``features_0`` (3x3/2 conv + BN + ReLU6), ``features_1`` .. ``features_17`` (inverted
residual blocks) and ``features_18`` (1x1 conv to 1280 channels). The batch norms are
folded into the convolutions when the weights are imported (inference only), so every
layer is convolutions + biases + ReLU6. Input: torchvision's normalisation (RGB / 255
minus the ImageNet mean, divided by its std) inside the network; callers pass BGR 0..255.

Useful taps (stride, channels): ``features_3`` (4, 24), ``features_6`` (8, 32),
``features_13`` (16, 96).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from fastcf.errors import WeightsError
from fastcf.nets.base import TapNetwork, load_checked
from fastcf.nets.layers import InputNorm, LayerGeom
from fastcf.nets.vgg16 import TORCHVISION_MEAN_RGB, TORCHVISION_STD_RGB, _torch_load

# (expansion t, output channels c, repeats n, first stride s) of MobileNetV2 (Table 2)
SETTINGS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
BN_EPS = 1e-5


class ConvReLU6(nn.Module):
    """A (BN-folded) convolution with symmetric padding ``k // 2`` and optional ReLU6."""

    def __init__(
        self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, relu6: bool = True
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=True)
        self.relu6 = relu6
        p = k // 2
        self.geom = LayerGeom(
            (k, k), (stride, stride), (p, p, p, p), (1, 1), cout, cin // groups * k * k
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return F.relu6(x) if self.relu6 else x


class InvertedResidual(nn.Module):
    """1x1 expansion (ReLU6), 3x3 depthwise with ``stride`` (ReLU6), 1x1 linear projection;
    the input is added when the stride is 1 and the channels match."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        parts: list[nn.Module] = []
        if expand != 1:
            parts.append(ConvReLU6(cin, hidden, 1))
        parts.append(ConvReLU6(hidden, hidden, 3, stride, groups=hidden))
        parts.append(ConvReLU6(hidden, cout, 1, relu6=False))
        self.conv = nn.Sequential(*parts)
        self.residual = stride == 1 and cin == cout
        # multiply-accumulates per output element (for fastcf.nets.stats.count_macs)
        macs = hidden * 9 + hidden * cout + (cin * hidden * stride * stride if expand != 1 else 0)
        self.geom = LayerGeom(
            (3, 3), (stride, stride), (1, 1, 1, 1), (1, 1), cout, max(1, round(macs / cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self.residual else y


def build_mobilenet_v2(name: str = "mobilenetv2") -> TapNetwork:
    """MobileNetV2 (width 1.0) ``features`` trunk, random weights; see the module doc."""
    layers: list[tuple[str, nn.Module]] = [("features_0", ConvReLU6(3, 32, 3, 2))]
    cin = 32
    for t, c, n, s in SETTINGS:
        for i in range(n):
            layers.append(
                (f"features_{len(layers)}", InvertedResidual(cin, c, s if i == 0 else 1, t))
            )
            cin = c
    layers.append((f"features_{len(layers)}", ConvReLU6(cin, 1280, 1)))
    norm = InputNorm(TORCHVISION_MEAN_RGB, rgb=True, scale=1.0 / 255.0, std=TORCHVISION_STD_RGB)
    return TapNetwork(norm, layers, name=name)


def _fold(
    conv_w: torch.Tensor, bn: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    scale = bn["weight"] / torch.sqrt(bn["running_var"] + BN_EPS)
    weight = conv_w * scale.view(-1, 1, 1, 1)
    bias = bn["bias"] - bn["running_mean"] * scale
    return weight.float().contiguous(), bias.float().contiguous()


def torchvision_mobilenet_state_dict(
    state: Mapping[str, torch.Tensor], source: str | Path = "<state_dict>"
) -> dict[str, torch.Tensor]:
    """Fold torchvision's ``features.*`` (conv + BatchNorm) into our layers' conv + bias."""
    net = build_mobilenet_v2()
    own = net.state_dict()
    out: dict[str, torch.Tensor] = {}

    def take(prefix: str) -> torch.Tensor:
        if prefix not in state:
            raise WeightsError(f"{source}: missing {prefix!r} (is this torchvision's MobileNetV2?)")
        return state[prefix]

    def bn(prefix: str) -> dict[str, torch.Tensor]:
        return {k: take(f"{prefix}.{k}") for k in ("weight", "bias", "running_mean", "running_var")}

    for lname, module in net.layers.items():
        idx = lname.split("_")[1]
        if isinstance(module, ConvReLU6):  # features.0 and features.18: [conv, bn, relu6]
            pairs = [(f"layers.{lname}.conv", f"features.{idx}.0", f"features.{idx}.1")]
        else:
            assert isinstance(module, InvertedResidual)
            n = len(module.conv)
            # torchvision: conv.0 = [conv, bn, relu6] (expansion), conv.1 = depthwise, then
            # conv.(n-1) = the projection conv and conv.n = its batch norm
            pairs = [
                (
                    f"layers.{lname}.conv.{j}.conv",
                    f"features.{idx}.conv.{j}.0",
                    f"features.{idx}.conv.{j}.1",
                )
                for j in range(n - 1)
            ]
            pairs.append(
                (
                    f"layers.{lname}.conv.{n - 1}.conv",
                    f"features.{idx}.conv.{n - 1}",
                    f"features.{idx}.conv.{n}",
                )
            )
        for ours, conv, norm in pairs:
            w, b = _fold(take(f"{conv}.weight"), bn(norm))
            want = tuple(own[f"{ours}.weight"].shape)
            if tuple(w.shape) != want:
                raise WeightsError(
                    f"{source}: {conv}.weight: expected shape {want}, found {tuple(w.shape)}"
                )
            out[f"{ours}.weight"], out[f"{ours}.bias"] = w, b
    return out


def mobilenet_from_state_dict(path: str | Path, name: str = "mobilenetv2") -> TapNetwork:
    """MobileNetV2 from a folded state dict written by :mod:`fastcf.nets.teacher`."""
    path = Path(path)
    state = _torch_load(path)
    net = build_mobilenet_v2(name=name)
    full = dict(net.state_dict())
    full.update(state)
    load_checked(net, full, path)
    return net.eval()
