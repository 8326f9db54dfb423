"""Analytic size and cost of a :class:`~fastcf.nets.base.TapNetwork`."""

from __future__ import annotations

from fastcf.nets.base import TapKey, TapNetwork
from fastcf.nets.layers import geom_of


def count_params(net: TapNetwork, upto: TapKey | None = None) -> int:
    """Learned parameters (conv weights + biases) up to and including ``upto``."""
    stop = net.resolve(upto) if upto is not None else net.layer_names[-1]
    total = 0
    for lname, module in net.layers.items():
        total += sum(p.numel() for p in module.parameters())
        if lname == stop:
            break
    return total


def count_macs(net: TapNetwork, size: tuple[int, int], upto: TapKey | None = None) -> int:
    """Multiply-accumulates of the convolutions for one ``(H, W)`` input, counted analytically.

    ``H_out * W_out * C_out * macs_per_output`` per layer (``C_in / groups * kh * kw`` for a
    convolution; a composite layer such as an inverted residual block declares its own);
    ReLU, LRN, pooling and the input normalisation are not counted (< 1% for these nets).
    """
    h, w = size
    stop = net.resolve(upto) if upto is not None else net.layer_names[-1]
    total = 0
    for lname, module in net.layers.items():
        g = geom_of(module)
        h, w = g.out_size(h, w)
        if h < 1 or w < 1:
            raise ValueError(f"input {size} is too small for layer {lname!r}")
        if g.macs_per_output and g.out_channels:
            total += h * w * g.out_channels * g.macs_per_output
        if lname == stop:
            break
    return total
