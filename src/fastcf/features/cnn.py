"""The CNN feature slot: any network that returns named layer maps becomes an extractor.

A :class:`FeatureNetwork` is a ``torch.nn.Module`` (or any callable) that

* maps a float tensor ``(N, 3, H, W)`` of **BGR 0..255** values to a
  ``dict[str, Tensor]`` of named layer maps ``(N, C, h, w)`` (it owns its input
  normalisation: mean subtraction, channel order, scaling), and
* declares ``taps: Mapping[str, TapInfo]``: per layer name its output stride in input
  pixels, its channel count and its receptive field.

``fastcf.nets.base.TapNetwork`` satisfies it. :class:`CNNFeatures` runs such a network
under ``torch.inference_mode`` on one thread and returns one block per requested layer,
optionally average-pooled by an integer factor (fECO pools ``norm1`` by 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from fastcf.features.base import BlockSpec, as_patch_batch
from fastcf.features.gray import average_cells
from fastcf.features.normalize import NonFinitePolicy, guard_finite


@dataclass(frozen=True)
class TapInfo:
    """Geometry of one network output: stride (input pixels per cell), channels,
    receptive field (input pixels)."""

    stride: int
    channels: int
    receptive_field: int


class TapGeometry(Protocol):
    """Anything with TapInfo's three read-only fields (e.g. ``fastcf.nets.base.TapInfo``)."""

    @property
    def stride(self) -> int: ...

    @property
    def channels(self) -> int: ...

    @property
    def receptive_field(self) -> int: ...


@runtime_checkable
class FeatureNetwork(Protocol):
    """What :class:`CNNFeatures` needs from a network (see the module docstring)."""

    @property
    def taps(self) -> Mapping[str, TapGeometry]: ...

    def __call__(self, x: Any) -> Mapping[str, Any]: ...


def _fit(x: npt.NDArray[np.float32], h: int, w: int) -> npt.NDArray[np.float32]:
    """Centre-crop or edge-pad the last two axes of ``x`` to ``h x w``."""
    _, _, xh, xw = x.shape
    if xh > h or xw > w:
        top, left = max(xh - h, 0) // 2, max(xw - w, 0) // 2
        x = x[:, :, top : top + min(h, xh), left : left + min(w, xw)]
    _, _, xh, xw = x.shape
    if xh < h or xw < w:
        ph, pw = h - xh, w - xw
        x = np.pad(x, ((0, 0), (0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)), "edge")
    return np.ascontiguousarray(x)


class CNNFeatures:
    """Feature extractor around a :class:`FeatureNetwork`.

    ``layers``: tap names (in block order). ``downsample``: ``{layer: factor}`` average
    pooling over ``factor x factor`` boxes (floor sizes). Block ``k`` has stride
    ``taps[layer].stride * factor`` and comes back as ``(N, C, H // stride, W // stride)``:
    a network whose map is larger (no padding at the border, receptive-field overhang)
    is centre-cropped to that size, a smaller one is edge-padded (documented in
    docs/features.md). ``threads``: torch intra-op threads while extracting (restored
    afterwards); ``None`` leaves torch's setting alone. ``nonfinite``: the NaN/inf policy
    of :func:`fastcf.features.normalize.guard_finite`.
    """

    def __init__(
        self,
        network: FeatureNetwork,
        layers: Sequence[str] = ("relu3",),
        downsample: Mapping[str, int] | None = None,
        *,
        threads: int | None = 1,
        nonfinite: NonFinitePolicy = "warn",
    ) -> None:
        import torch

        taps = getattr(network, "taps", None)
        if not isinstance(taps, Mapping) or not callable(network):
            raise TypeError(
                f"CNNFeatures: {type(network).__name__} is not a FeatureNetwork (it needs a "
                "'taps' mapping and must be callable on a (N, 3, H, W) tensor)"
            )
        layers = tuple(layers)
        if not layers:
            raise ValueError("CNNFeatures: give at least one layer")
        if len(set(layers)) != len(layers):
            raise ValueError(f"CNNFeatures: duplicate layers in {layers}")
        for layer in layers:
            if layer not in taps:
                raise KeyError(
                    f"CNNFeatures: network {type(network).__name__} has no tap {layer!r}; "
                    f"taps: {', '.join(taps)}"
                )
        downsample = dict(downsample or {})
        for layer, factor in downsample.items():
            if layer not in layers:
                raise KeyError(f"CNNFeatures: downsample names {layer!r}, not in layers {layers}")
            if int(factor) != factor or factor < 1:
                raise ValueError(f"CNNFeatures: downsample[{layer!r}] must be an int >= 1")
        if threads is not None and threads < 1:
            raise ValueError(f"CNNFeatures: threads must be >= 1 or None, got {threads}")
        # Cut the network after the deepest requested tap when it knows how to.
        truncated = getattr(network, "truncated", None)
        self.network: Any = truncated(layers) if callable(truncated) else network
        if isinstance(self.network, torch.nn.Module):
            self.network.eval()
        self.layers = layers
        self.downsample = {layer: int(downsample.get(layer, 1)) for layer in layers}
        self.threads = threads
        self.nonfinite: NonFinitePolicy = nonfinite
        self.blocks: tuple[BlockSpec, ...] = tuple(
            BlockSpec(
                layer,
                int(taps[layer].stride) * self.downsample[layer],
                int(taps[layer].channels),
            )
            for layer in layers
        )
        self.receptive_fields = {layer: int(taps[layer].receptive_field) for layer in layers}

    def extract(self, patches: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.float32]]:
        import torch

        batch = as_patch_batch(patches, where="cnn patches")
        if batch.ndim == 3:
            batch = np.repeat(batch[..., None], 3, axis=3)
        n, h, w, _ = batch.shape
        x = torch.from_numpy(batch.transpose(0, 3, 1, 2).astype(np.float32))
        old = torch.get_num_threads()
        try:
            if self.threads is not None and self.threads != old:
                torch.set_num_threads(self.threads)
            with torch.inference_mode():
                maps = self.network(x)
        finally:
            if self.threads is not None and torch.get_num_threads() != old:
                torch.set_num_threads(old)
        out: list[npt.NDArray[np.float32]] = []
        for spec in self.blocks:
            if spec.name not in maps:
                raise KeyError(
                    f"CNNFeatures: the network returned {sorted(maps)} but not {spec.name!r}"
                )
            fmap = maps[spec.name].detach().cpu().numpy().astype(np.float32, copy=False)
            if fmap.ndim != 4 or fmap.shape[0] != n or fmap.shape[1] != spec.channels:
                raise ValueError(
                    f"CNNFeatures: layer {spec.name!r} returned shape {fmap.shape}, expected "
                    f"({n}, {spec.channels}, h, w)"
                )
            factor = self.downsample[spec.name]
            if factor > 1:
                fmap = average_cells(fmap, factor)
            fmap = guard_finite(fmap, f"cnn layer {spec.name!r}", self.nonfinite)
            out.append(_fit(fmap, max(h // spec.stride, 1), max(w // spec.stride, 1)))
        return out
