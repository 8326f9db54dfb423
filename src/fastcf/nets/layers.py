"""Layers with MatConvNet / Caffe semantics, each carrying its own geometry.

Every layer here exposes ``geom`` (:class:`LayerGeom`): kernel, stride, padding
``(top, bottom, left, right)``, dilation and output channels. :class:`TapNetwork` uses it
to declare stride / receptive field / channels of each tap, and the statistics module to
count multiply-accumulates analytically.

Semantics follow MatConvNet's ``vl_nnconv``/``vl_nnpool``/``vl_nnnormalize``:

* padding is asymmetric ``[top bottom left right]``; the output size is
  ``floor((H + top + bottom - k) / stride) + 1``;
* max pooling ignores padded cells (pads with ``-inf``); average pooling divides by the
  number of cells of the window that lie inside the input (padding excluded);
* LRN with parameters ``[N kappa alpha beta]`` computes
  ``y_c = x_c / (kappa + alpha * sum_{q in G(c)} x_q^2) ** beta`` with
  ``G(c) = [c - floor((N-1)/2), c + ceil((N-1)/2)]`` clipped to the channels; note that
  ``alpha`` is *not* divided by ``N`` (Caffe/PyTorch divide it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

Pad4 = tuple[int, int, int, int]  # top, bottom, left, right


@dataclass(frozen=True)
class LayerGeom:
    """Spatial geometry of one layer (square kernels/strides are the common case)."""

    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    pad: Pad4 = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    out_channels: int | None = None  # None: same as the input
    macs_per_output: int = 0  # multiply-accumulates per output element (convolutions)

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        kh = (self.kernel[0] - 1) * self.dilation[0] + 1
        kw = (self.kernel[1] - 1) * self.dilation[1] + 1
        ho = (h + self.pad[0] + self.pad[1] - kh) // self.stride[0] + 1
        wo = (w + self.pad[2] + self.pad[3] - kw) // self.stride[1] + 1
        return ho, wo


def as_pad4(pad: int | tuple[int, ...] | list[int]) -> Pad4:
    """MatConvNet accepts a scalar, ``[y x]`` or ``[top bottom left right]``."""
    if isinstance(pad, int):
        return (pad, pad, pad, pad)
    p = [int(v) for v in pad]
    if len(p) == 1:
        return (p[0], p[0], p[0], p[0])
    if len(p) == 2:
        return (p[0], p[0], p[1], p[1])
    if len(p) == 4:
        return (p[0], p[1], p[2], p[3])
    raise ValueError(f"padding must have 1, 2 or 4 values, got {p}")


def as_pair(v: int | tuple[int, ...] | list[int]) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    p = [int(x) for x in v]
    if len(p) == 1:
        return (p[0], p[0])
    if len(p) == 2:
        return (p[0], p[1])
    raise ValueError(f"expected 1 or 2 values, got {p}")


class Conv(nn.Module):
    """Convolution (cross-correlation) with asymmetric zero padding, optional fused ReLU.

    The fused ReLU is used by the VGG16 family, whose taps are post-ReLU conv outputs.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        pad: int | tuple[int, ...] = 0,
        dilation: int | tuple[int, int] = 1,
        relu: bool = False,
        groups: int = 1,
    ) -> None:
        super().__init__()
        k = as_pair(kernel)
        s = as_pair(stride)
        d = as_pair(dilation)
        p = as_pad4(pad)
        symmetric = p[0] == p[1] and p[2] == p[3]
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            k,
            stride=s,
            padding=(p[0], p[2]) if symmetric else 0,
            dilation=d,
            groups=groups,
        )
        self._pre_pad = None if symmetric else (p[2], p[3], p[0], p[1])
        self.relu = relu
        self.geom = LayerGeom(k, s, p, d, out_channels, in_channels // groups * k[0] * k[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._pre_pad is not None:
            x = F.pad(x, self._pre_pad)
        x = self.conv(x)
        return F.relu(x) if self.relu else x

    def extra_repr(self) -> str:
        return f"pad={self.geom.pad}, relu={self.relu}"


class ReLU(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.geom = LayerGeom()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x)


class Identity(nn.Module):
    """MatConvNet ``dropout`` at test time."""

    def __init__(self) -> None:
        super().__init__()
        self.geom = LayerGeom()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class LRN(nn.Module):
    """MatConvNet cross-channel normalisation, ``param = [N kappa alpha beta]``."""

    def __init__(self, size: int, kappa: float, alpha: float, beta: float) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"LRN window size must be >= 1, got {size}")
        self.size = int(size)
        self.kappa = float(kappa)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.geom = LayerGeom()
        self._bands: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}

    def band(self, channels: int, like: torch.Tensor) -> torch.Tensor:
        """``(C, C, 1, 1)`` 0/1 matrix: ``band[c, q] = 1`` iff ``q`` is in ``G(c)``."""
        key = (channels, like.dtype, like.device)
        b = self._bands.get(key)
        if b is None:
            lo, hi = (self.size - 1) // 2, self.size // 2
            c = torch.arange(channels)
            d = c.view(1, -1) - c.view(-1, 1)  # q - c
            with torch.inference_mode(False), torch.no_grad():  # usable later for training
                b = (d >= -lo) & (d <= hi)
                b = b.to(like.dtype).to(like.device).view(channels, channels, 1, 1)
            self._bands[key] = b
        return b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.size
        if torch.onnx.is_in_onnx_export() and n % 2 == 1:
            # ONNX's LRN op: same window as MatConvNet for odd N; it divides alpha by N.
            return F.local_response_norm(x, n, alpha=self.alpha * n, beta=self.beta, k=self.kappa)
        # The windowed sum of squares is a 1x1 convolution with a banded 0/1 matrix: much
        # faster on CPU than PyTorch's avg_pool3d-based local_response_norm.
        s = F.conv2d(x * x, self.band(int(x.shape[1]), x))
        t = s.mul_(self.alpha).add_(self.kappa)
        if self.beta == 0.75:
            r = torch.rsqrt(t)
            return x * r * torch.sqrt(r)  # t^-1/2 * t^-1/4
        return x * t.pow(-self.beta)

    def extra_repr(self) -> str:
        return f"N={self.size}, kappa={self.kappa}, alpha={self.alpha}, beta={self.beta}"


class Pool(nn.Module):
    """Max or average pooling with MatConvNet's asymmetric padding."""

    def __init__(
        self,
        method: str,
        kernel: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        pad: int | tuple[int, ...] = 0,
    ) -> None:
        super().__init__()
        if method not in ("max", "avg"):
            raise ValueError(f"pooling method must be 'max' or 'avg', got {method!r}")
        self.method = method
        self.kernel = as_pair(kernel)
        self.stride = as_pair(stride)
        self.pad = as_pad4(pad)
        t, b, left, r = self.pad
        sy, sx = self.stride
        # Padding only at the bottom/right by stride-1 is exactly PyTorch's ceil_mode (the
        # extra window is clipped to the input, equivalent to -inf padding for max pooling
        # and to MatConvNet's "divide by cells inside" for average pooling).
        self._ceil = t == 0 and left == 0 and (b, r) == (sy - 1, sx - 1) and (b > 0 or r > 0)
        self.geom = LayerGeom(self.kernel, self.stride, self.pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b, left, r = self.pad
        if self.method == "max":
            if torch.onnx.is_in_onnx_export():
                if self._ceil or self.pad == (0, 0, 0, 0):
                    return F.max_pool2d(x, self.kernel, self.stride, ceil_mode=self._ceil)
                x = F.pad(x, (left, r, t, b), value=-math.inf)
                return F.max_pool2d(x, self.kernel, self.stride)
            return self._separable_max(x)
        if self.pad == (0, 0, 0, 0):
            return F.avg_pool2d(x, self.kernel, self.stride)
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
        xs = F.avg_pool2d(F.pad(x, (left, r, t, b)), self.kernel, self.stride)
        cnt = F.avg_pool2d(F.pad(ones, (left, r, t, b)), self.kernel, self.stride)
        return xs / cnt

    def _separable_max(self, x: torch.Tensor) -> torch.Tensor:
        """Max over columns then rows with strided slices; windows reaching into the padding
        are clipped instead of padding with ``-inf``. Exact, and several times faster than
        ``F.max_pool2d`` on CPU (which is very slow for NCHW tensors)."""
        t, b, left, r = self.pad
        (kh, kw), (sy, sx) = self.kernel, self.stride
        h, w = int(x.shape[2]), int(x.shape[3])
        ho, wo = (h + t + b - kh) // sy + 1, (w + left + r - kw) // sx + 1
        if ho < 1 or wo < 1:
            raise ValueError(f"pooling {self.kernel} does not fit a {h}x{w} (padded) input")
        if torch.is_grad_enabled() and x.requires_grad and self.pad != (0, 0, 0, 0):
            # autograd cannot go through the in-place clipped windows: pad with -inf instead
            x = F.pad(x, (left, r, t, b), value=-math.inf)
            t = left = 0
        m = _max_1d(x, 3, kw, sx, left, wo)
        return _max_1d(m, 2, kh, sy, t, ho)

    def extra_repr(self) -> str:
        return f"{self.method}, kernel={self.kernel}, stride={self.stride}, pad={self.pad}"


def geom_of(module: nn.Module) -> LayerGeom:
    """The :class:`LayerGeom` of a fastcf layer (TypeError for foreign modules)."""
    g = getattr(module, "geom", None)
    if not isinstance(g, LayerGeom):
        raise TypeError(f"{type(module).__name__} has no LayerGeom")
    return g


def _strided(x: torch.Tensor, dim: int, start: int, count: int, step: int) -> torch.Tensor:
    stop = start + (count - 1) * step + 1
    return x[:, :, start:stop:step] if dim == 2 else x[:, :, :, start:stop:step]


def _max_1d(x: torch.Tensor, dim: int, k: int, s: int, pad_lo: int, n_out: int) -> torch.Tensor:
    """1-D max pooling along ``dim`` (2 or 3); output ``o`` covers inputs
    ``o*s - pad_lo + [0, k)`` clipped to the input (every window must overlap it)."""
    size = int(x.shape[dim])
    out: torch.Tensor | None = None
    owned = False  # out is a fresh tensor (not a view of x) that may be written in place
    for j in range(k):
        o0 = max(0, -((j - pad_lo) // s))  # first o with o*s + j - pad_lo >= 0
        o1 = min(n_out, (size - 1 - j + pad_lo) // s + 1)
        if o1 <= o0:
            continue
        sl = _strided(x, dim, o0 * s + j - pad_lo, o1 - o0, s)
        if o0 == 0 and o1 == n_out:
            if out is None:
                out = sl
            else:
                out = torch.maximum(out, sl)
                owned = True
            continue
        if out is None or not owned:
            full = list(x.shape)
            full[dim] = n_out
            base = torch.full(full, -math.inf, dtype=x.dtype, device=x.device)
            out = base if out is None else torch.maximum(base, out)
            owned = True
        region = out.narrow(dim, o0, o1 - o0)
        torch.maximum(region, sl, out=region)
    if out is None:
        raise ValueError(f"pooling window {k} does not overlap the input of size {size}")
    return out if owned else out.contiguous()


class InputNorm(nn.Module):
    """Turns BGR 0..255 pixels into what a network was trained on.

    ``y = (x[order] * scale - mean) / std`` where ``mean`` is a colour ``(3,)`` or a mean
    image ``(3, h, w)`` in the network's channel order. A mean image is resized to the input
    size (bicubic with antialiasing, like MATLAB's ``imresize`` that ECO applies) and cached
    per input size.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        mean: torch.Tensor | tuple[float, float, float],
        *,
        rgb: bool = False,
        scale: float = 1.0,
        std: tuple[float, float, float] | None = None,
    ) -> None:
        super().__init__()
        m = torch.as_tensor(mean, dtype=torch.float32)
        if m.ndim == 1:
            if m.shape[0] != 3:
                raise ValueError(f"mean colour must have 3 values, got {tuple(m.shape)}")
            m = m.view(3, 1, 1)
        elif m.ndim != 3 or m.shape[0] != 3:
            raise ValueError(f"mean image must be (3, h, w), got {tuple(m.shape)}")
        self.register_buffer("mean", m.contiguous())
        s = torch.ones(3) if std is None else torch.as_tensor(std, dtype=torch.float32)
        self.register_buffer("std", s.view(3, 1, 1).contiguous())
        self.rgb = bool(rgb)
        self.scale = float(scale)
        self.unit_std = std is None or all(float(v) == 1.0 for v in std)
        self._resized: dict[tuple[int, int], torch.Tensor] = {}

    @property
    def is_image(self) -> bool:
        return bool(self.mean.shape[1] > 1 or self.mean.shape[2] > 1)

    def mean_for(self, h: int, w: int) -> torch.Tensor:
        if not self.is_image or tuple(self.mean.shape[1:]) == (h, w):
            return self.mean
        key = (h, w)
        cached = self._resized.get(key)
        if cached is None:
            with torch.inference_mode(False), torch.no_grad():  # a normal tensor, reusable
                cached = F.interpolate(
                    self.mean.unsqueeze(0),
                    size=key,
                    mode="bicubic",
                    align_corners=False,
                    antialias=True,
                )[0]
            self._resized[key] = cached
        return cached

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rgb:
            x = x.flip(1)
        if self.scale != 1.0:
            x = x * self.scale
        x = x - self.mean_for(int(x.shape[2]), int(x.shape[3]))
        if not self.unit_std:
            x = x / self.std
        return x

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def]
        self._resized = {}  # dtype/device changed: drop the cache
        return super()._apply(fn, recurse)

    def extra_repr(self) -> str:
        kind = f"image {tuple(self.mean.shape)}" if self.is_image else "colour"
        return f"order={'rgb' if self.rgb else 'bgr'}, mean={kind}, scale={self.scale}"
