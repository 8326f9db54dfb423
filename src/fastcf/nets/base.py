"""A feed-forward network whose named layer outputs ("taps") are feature maps.

:class:`TapNetwork` is what every network in :mod:`fastcf.nets` is: an input
normalisation followed by an ordered list of named layers. ``forward`` takes a float
tensor ``(N, 3, H, W)`` of **BGR 0..255** pixel values and returns ``{tap name: map}``
for the taps in ``outputs`` (all layers by default), computing nothing past the deepest
one. ``truncated(names)`` returns a view cut after the deepest requested tap.

Taps are addressed by name or, like MATLAB, by 1-based layer number (ECO's ``layer 3``
of VGG-M is ``norm1``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from fastcf.errors import WeightsError
from fastcf.nets.layers import InputNorm, LayerGeom, geom_of


@dataclass(frozen=True)
class TapInfo:
    """Geometry of one tap: cell size in input pixels, channels, receptive field (pixels)."""

    stride: int
    channels: int
    receptive_field: int


TapKey = str | int


class TapNetwork(nn.Module):
    """Input normalisation + named sequential layers; forward returns named maps."""

    norm: InputNorm
    layers: nn.ModuleDict

    def __init__(
        self,
        norm: InputNorm,
        layers: Sequence[tuple[str, nn.Module]],
        *,
        in_channels: int = 3,
        outputs: Sequence[str] | None = None,
        name: str = "",
    ) -> None:
        super().__init__()
        if not layers:
            raise ValueError("a network needs at least one layer")
        self.norm = norm
        self.layers = nn.ModuleDict()
        for lname, module in layers:
            if lname in self.layers:
                raise ValueError(f"duplicate layer name {lname!r}")
            if not isinstance(getattr(module, "geom", None), LayerGeom):
                raise TypeError(f"layer {lname!r} ({type(module).__name__}) has no LayerGeom")
            self.layers[lname] = module
        self.name = name
        self.in_channels = in_channels
        self.layer_names: tuple[str, ...] = tuple(self.layers.keys())
        self.taps: dict[str, TapInfo] = self._compute_taps()
        self.outputs: tuple[str, ...] = (
            self.layer_names if outputs is None else tuple(self.resolve(o) for o in outputs)
        )
        if not self.outputs:
            raise ValueError("outputs must name at least one tap")
        self._last = max(self.layer_names.index(o) for o in self.outputs)
        self.channels_last = False

    # --- geometry --------------------------------------------------------------------
    def _compute_taps(self) -> dict[str, TapInfo]:
        taps: dict[str, TapInfo] = {}
        jump, rf, ch = 1, 1, self.in_channels
        for lname, module in self.layers.items():
            g = geom_of(module)
            if g.stride[0] != g.stride[1] or g.kernel[0] != g.kernel[1]:
                raise ValueError(f"layer {lname!r}: non-square kernel/stride not supported")
            k_eff = (g.kernel[0] - 1) * g.dilation[0] + 1
            rf += (k_eff - 1) * jump
            jump *= g.stride[0]
            if g.out_channels is not None:
                ch = g.out_channels
            taps[lname] = TapInfo(stride=jump, channels=ch, receptive_field=rf)
        return taps

    def resolve(self, key: TapKey) -> str:
        """Tap name for a name or a 1-based (MATLAB) layer number."""
        if isinstance(key, bool):
            raise KeyError(f"invalid tap {key!r}")
        if isinstance(key, int):
            if not 1 <= key <= len(self.layer_names):
                raise KeyError(
                    f"{self.name or 'network'}: layer number {key} out of range "
                    f"1..{len(self.layer_names)}"
                )
            return self.layer_names[key - 1]
        if key not in self.layers:
            raise KeyError(
                f"{self.name or 'network'}: unknown tap {key!r}; "
                f"taps: {', '.join(self.layer_names)}"
            )
        return key

    def layer_number(self, name: str) -> int:
        """1-based position of a layer (MATLAB numbering)."""
        return self.layer_names.index(self.resolve(name)) + 1

    def output_size(self, h: int, w: int, tap: TapKey) -> tuple[int, int]:
        """Spatial size of ``tap`` for an ``h x w`` input (computed, not run)."""
        stop = self.resolve(tap)
        for lname, module in self.layers.items():
            h, w = geom_of(module).out_size(h, w)
            if lname == stop:
                return h, w
        raise AssertionError("unreachable")

    # --- running ---------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a (N, 3, H, W) BGR tensor, got shape {tuple(x.shape)}")
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.norm(x)
        out: dict[str, torch.Tensor] = {}
        wanted = self.outputs
        for i, (lname, module) in enumerate(self.layers.items()):
            x = module(x)
            if lname in wanted:
                out[lname] = x
            if i == self._last:
                break
        return out if len(out) < 2 else {k: out[k] for k in wanted}

    def truncated(self, taps: Iterable[TapKey]) -> TapNetwork:
        """A network sharing this one's weights, cut after the deepest of ``taps``.

        Its ``forward`` returns exactly ``taps`` (by name, in the order given).
        """
        names = tuple(self.resolve(t) for t in taps)
        if not names:
            raise ValueError("truncated() needs at least one tap")
        last = max(self.layer_names.index(n) for n in names)
        kept = [(n, self.layers[n]) for n in self.layer_names[: last + 1]]
        net = TapNetwork(
            self.norm, kept, in_channels=self.in_channels, outputs=names, name=self.name
        )
        net.train(self.training)
        net.channels_last = self.channels_last
        return net

    def use_channels_last(self, enable: bool = True) -> TapNetwork:
        """Run in channels-last (NHWC) memory layout; outputs keep NCHW shapes.

        Whether it is faster depends on the network (see benchmarks/results/nets_table.md):
        it helps the VGG16 family (the default there), not the small VGG-M students.
        """
        fmt = torch.channels_last if enable else torch.contiguous_format
        self.to(memory_format=fmt)  # type: ignore[call-overload]
        self.channels_last = enable
        return self


# --- weight loading with clear errors --------------------------------------------------
def load_checked(
    net: nn.Module, state: Mapping[str, torch.Tensor], source: str | Path, *, strict: bool = True
) -> None:
    """``net.load_state_dict`` with errors naming the file, the layer and the shapes."""
    own = net.state_dict()
    for key, value in state.items():
        if key not in own:
            if strict:
                raise WeightsError(
                    f"{source}: unexpected entry {key!r} (layer {_layer_of(key)!r}) "
                    "that the network does not have"
                )
            continue
        if tuple(own[key].shape) != tuple(value.shape):
            raise WeightsError(
                f"{source}: layer {_layer_of(key)!r} ({key}): expected shape "
                f"{tuple(own[key].shape)}, found {tuple(value.shape)}"
            )
    missing = [k for k in own if k not in state]
    if missing and strict:
        raise WeightsError(
            f"{source}: missing {len(missing)} entries, first: {missing[0]!r} "
            f"(layer {_layer_of(missing[0])!r}, expected shape {tuple(own[missing[0]].shape)})"
        )
    for key, value in state.items():
        if not torch.is_floating_point(value):
            raise WeightsError(f"{source}: entry {key!r} is not floating point ({value.dtype})")
        if not bool(torch.isfinite(value).all()):
            raise WeightsError(f"{source}: entry {key!r} contains non-finite values")
    net.load_state_dict(dict(state), strict=strict)


def _layer_of(key: str) -> str:
    parts = key.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "layers" else parts[0]
