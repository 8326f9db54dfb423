"""Importer for MatConvNet ``simplenn`` networks (``.mat`` files, read with SciPy).

Handles the layer types a feature trunk needs: ``conv`` (also fully connected layers
stored as convolutions, grouped filters, dilation), ``relu``, ``lrn``/``normalize``
(``param = [N kappa alpha beta]``), ``pool`` (``max``/``avg``, asymmetric
``[top bottom left right]`` padding) and ``dropout`` (identity at test time). Both the
current format (``weights = {filters, biases}``, ``net.meta.normalization``) and the
older beta format (``filters``/``biases`` fields, ``net.normalization``, as in
``imagenet-vgg-m-2048.mat``) are read. The network is cut before the first layer of any
other type (``softmax``, ...) -- trackers only use the conv trunk.

MatConvNet networks take **RGB** input minus ``normalization.averageImage`` (a mean
image, or a ``1x1x3`` colour). The imported network takes BGR 0..255 like every fastcf
network and does the flip and the subtraction itself; a mean image is resized to the
input size as ECO's ``load_cnn.m`` does (``mean="image"``), or averaged to one colour
(``mean="colour"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fastcf.errors import WeightsError
from fastcf.nets.base import TapNetwork
from fastcf.nets.layers import LRN, Conv, Identity, InputNorm, Pool, ReLU, as_pad4, as_pair

SUPPORTED = ("conv", "relu", "lrn", "normalize", "pool", "dropout")


def load_matconvnet(
    path: str | Path,
    *,
    max_layer: int | str | None = None,
    mean: str = "image",
) -> TapNetwork:
    """Import a MatConvNet ``simplenn`` ``.mat`` file as a :class:`TapNetwork`.

    ``max_layer`` (1-based number or name) keeps only the layers up to it. Tap names are
    the layer names; :meth:`TapNetwork.resolve` also accepts MATLAB layer numbers.
    """
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weight file not found")
    if mean not in ("image", "colour", "color"):
        raise ValueError(f"mean must be 'image' or 'colour', got {mean!r}")
    try:
        mat = scipy.io.loadmat(str(path), squeeze_me=False, struct_as_record=False)
    except Exception as exc:  # scipy raises ValueError/OSError/TypeError on bad files
        raise WeightsError(
            f"{path}: cannot read MATLAB file ({type(exc).__name__}: {exc})"
        ) from None
    net = mat.get("net")
    if net is not None:
        net = _unwrap(net)
        if _field(net, "vars") is not None and _field(net, "params") is not None:
            raise WeightsError(
                f"{path}: a MatConvNet DagNN network; only simplenn files are supported "
                "(convert with dagnn.DagNN.loadobj / vl_simplenn_tidy in MATLAB)"
            )
        layers_field = _field(net, "layers")
        meta_src = net
    elif "layers" in mat:  # older files saved the struct fields at top level
        layers_field = mat["layers"]
        meta_src = mat
    else:
        raise WeightsError(f"{path}: no 'net' or 'layers' variable; not a simplenn network")
    if layers_field is None:
        raise WeightsError(f"{path}: the network has no 'layers' field")
    raw_layers = [_unwrap(x) for x in np.asarray(layers_field).ravel()]
    if not raw_layers:
        raise WeightsError(f"{path}: the network has no layers")

    avg = _average_image(meta_src, path)
    if mean != "image" or avg.shape[0] * avg.shape[1] == 1:
        mean_t = torch.from_numpy(avg.reshape(-1, 3).mean(axis=0).astype(np.float32))
    else:
        mean_t = torch.from_numpy(np.ascontiguousarray(avg.transpose(2, 0, 1), dtype=np.float32))
    norm = InputNorm(mean_t, rgb=True)

    names = [_name(layer, i) for i, layer in enumerate(raw_layers)]
    stop = len(raw_layers)
    if max_layer is not None:
        if isinstance(max_layer, int) and not isinstance(max_layer, bool):
            if not 1 <= max_layer <= len(raw_layers):
                raise WeightsError(
                    f"{path}: max_layer {max_layer} out of range 1..{len(raw_layers)}"
                )
            stop = max_layer
        elif max_layer in names:
            stop = names.index(str(max_layer)) + 1
        else:
            raise WeightsError(f"{path}: no layer named {max_layer!r}; layers: {', '.join(names)}")

    modules: list[tuple[str, nn.Module]] = []
    channels = 3
    for i in range(stop):
        layer, lname = raw_layers[i], names[i]
        ltype = _str(_field(layer, "type"))
        if ltype not in SUPPORTED:
            if max_layer is not None:
                raise WeightsError(
                    f"{path}: layer {i + 1} {lname!r} has unsupported type {ltype!r} "
                    f"(supported: {', '.join(SUPPORTED)})"
                )
            break  # keep the trunk before e.g. softmax
        module, channels = _build(layer, ltype, lname, i + 1, channels, path)
        modules.append((lname, module))
    if not modules:
        raise WeightsError(f"{path}: the first layer has an unsupported type")
    return TapNetwork(norm, modules, name=path.stem).eval()


# --- one layer -------------------------------------------------------------------------
def _build(
    layer: Any, ltype: str, lname: str, number: int, channels: int, path: Path
) -> tuple[nn.Module, int]:
    where = f"{path}: layer {number} {lname!r}"
    if ltype == "conv":
        w, b = _conv_weights(layer, where)
        size = _field(layer, "size")
        if size is not None and np.asarray(size).size == 4:
            want = tuple(int(v) for v in np.asarray(size).ravel())
            if w.ndim < 4:
                w = w.reshape(w.shape + (1,) * (4 - w.ndim))
            if tuple(w.shape) != want:
                raise WeightsError(f"{where}: expected filter shape {want} (size), found {w.shape}")
        elif w.ndim < 4:  # MATLAB drops trailing singleton dimensions
            w = w.reshape(w.shape + (1,) * (4 - w.ndim))
        if w.ndim != 4:
            raise WeightsError(f"{where}: expected a 4-D HxWxCinxCout filter, found {w.shape}")
        kh, kw, cin, cout = (int(v) for v in w.shape)
        if cin == 0 or channels % cin != 0:
            raise WeightsError(
                f"{where}: filters expect {cin} input channels, but the previous layer "
                f"gives {channels} (expected shape ({kh}, {kw}, {channels}, {cout}))"
            )
        groups = channels // cin
        if cout % groups != 0:
            raise WeightsError(f"{where}: {cout} filters cannot form {groups} groups")
        b = b.ravel() if b is not None else np.zeros(cout, np.float32)
        if b.size != cout:
            raise WeightsError(f"{where}: expected {cout} biases, found {b.size}")
        pad = as_pad4(_ints(layer, "pad", [0]))
        stride = as_pair(_ints(layer, "stride", [1]))
        dil = as_pair(_ints(layer, "dilate", [1]))
        conv = Conv(channels, cout, (kh, kw), stride, pad, dil, groups=groups)
        with torch.no_grad():
            conv.conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1))))
            assert conv.conv.bias is not None
            conv.conv.bias.copy_(torch.from_numpy(b.astype(np.float32)))
        return conv, cout
    if ltype == "relu":
        leak = _field(layer, "leak")
        if leak is not None and np.asarray(leak).size and float(np.asarray(leak).ravel()[0]) != 0:
            raise WeightsError(f"{where}: leaky ReLU is not supported")
        return ReLU(), channels
    if ltype in ("lrn", "normalize"):
        param = _field(layer, "param")
        p = np.asarray(param, dtype=np.float64).ravel() if param is not None else np.zeros(0)
        if p.size != 4:
            raise WeightsError(
                f"{where}: expected LRN param [N kappa alpha beta], found {p.tolist()}"
            )
        return LRN(int(round(p[0])), p[1], p[2], p[3]), channels
    if ltype == "pool":
        method = _str(_field(layer, "method")) or "max"
        if method not in ("max", "avg"):
            raise WeightsError(f"{where}: unsupported pooling method {method!r}")
        k = as_pair(_ints(layer, "pool", None, where))
        pad = as_pad4(_ints(layer, "pad", [0]))
        stride = as_pair(_ints(layer, "stride", [1]))
        return Pool(method, k, stride, pad), channels
    return Identity(), channels  # dropout


def _conv_weights(layer: Any, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    weights = _field(layer, "weights")
    if weights is not None:
        items = [np.asarray(x) for x in np.asarray(weights, dtype=object).ravel()]
        if len(items) not in (1, 2):
            raise WeightsError(f"{where}: expected {{filters, biases}}, found {len(items)} arrays")
        w = items[0]
        b = items[1] if len(items) == 2 and items[1].size else None
    else:
        f = _field(layer, "filters")
        if f is None:
            raise WeightsError(f"{where}: conv layer without 'weights' or 'filters'")
        w = np.asarray(f)
        bb = _field(layer, "biases")
        b = np.asarray(bb) if bb is not None and np.asarray(bb).size else None
    if not np.issubdtype(w.dtype, np.floating):
        raise WeightsError(f"{where}: filters are {w.dtype}, expected floating point")
    w = w.astype(np.float32)
    if not np.isfinite(w).all():
        raise WeightsError(f"{where}: filters contain non-finite values")
    return w, (None if b is None else b.astype(np.float32))


# --- mat-struct helpers ------------------------------------------------------------------
def _unwrap(x: Any) -> Any:
    while isinstance(x, np.ndarray) and x.dtype == object and x.size == 1:
        x = x.ravel()[0]
    return x


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return _unwrap(obj.get(name))
    if hasattr(obj, "_fieldnames") and name in obj._fieldnames:
        return _unwrap(getattr(obj, name))
    return None


def _str(x: Any) -> str:
    x = _unwrap(x)
    if x is None:
        return ""
    if isinstance(x, np.ndarray):
        return "".join(str(v) for v in x.ravel()) if x.size else ""
    return str(x)


def _ints(layer: Any, name: str, default: list[int] | None, where: str = "") -> list[int]:
    v = _field(layer, name)
    if v is None or np.asarray(v).size == 0:
        if default is None:
            raise WeightsError(f"{where}: missing field {name!r}")
        return default
    return [int(round(float(t))) for t in np.asarray(v, dtype=np.float64).ravel()]


def _name(layer: Any, i: int) -> str:
    n = _str(_field(layer, "name"))
    return n if n else f"layer{i + 1}"


def _average_image(src: Any, path: Path) -> np.ndarray:
    """``normalization.averageImage`` as ``(h, w, 3)`` float64 in RGB order."""
    meta = _field(src, "meta")
    normalization = _field(meta, "normalization") if meta is not None else None
    if normalization is None:
        normalization = _field(src, "normalization")
    avg = _field(normalization, "averageImage") if normalization is not None else None
    if avg is None or np.asarray(avg).size == 0:
        return np.zeros((1, 1, 3))
    a = np.asarray(avg, dtype=np.float64)
    if a.size == 3:
        return a.reshape(1, 1, 3)
    if a.ndim != 3 or a.shape[2] != 3:
        raise WeightsError(
            f"{path}: normalization.averageImage has shape {a.shape}, expected HxWx3"
        )
    return a
