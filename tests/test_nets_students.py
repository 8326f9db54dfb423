"""Student family, TapNetwork mechanics, layers vs brute force, package format, ONNX."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import require
from fastcf.errors import ConfigError, WeightsError
from fastcf.nets import (
    build_student,
    build_vgg16,
    build_vggm,
    count_macs,
    count_params,
    load_student,
    save_student,
    student_names,
)
from fastcf.nets.layers import LRN, Pool
from fastcf.nets.students import VGGM_2048_WIDTHS

torch.set_num_threads(1)

DOCUMENTED_PARAMS = {
    "vggm-16x": 411_040,
    "vggm-32x": 199_288,
    "vggm-64x": 103_760,
    "vggm-96x": 67_406,
    "vgg16-slim-8x": 1_791_768,
    "vgg16-slim-16x": 920_784,
    "vgg16-slim-32x": 448_476,
    "vgg16-slim-64x": 230_568,
    "vgg16-slim-256x": 57_828,
}


def _params_by_hand(name: str) -> int:
    net = build_student(name)
    total = 0
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            co, ci, kh, kw = m.weight.shape
            total += co * ci * kh * kw + co
    return total


def test_param_counts_and_ratios_match_documented_table():
    assert sorted(student_names()) == sorted(DOCUMENTED_PARAMS)
    vggm = count_params(build_vggm(VGGM_2048_WIDTHS))
    vgg16 = count_params(build_vgg16())
    assert vggm == 6_528_640 and vgg16 == 14_714_688
    for name, n in DOCUMENTED_PARAMS.items():
        assert count_params(build_student(name)) == n == _params_by_hand(name)
        ratio = (vggm if name.startswith("vggm") else vgg16) / n
        nominal = float(name.rsplit("-", 1)[1].rstrip("x"))
        assert 0.75 < ratio / nominal < 1.25, (name, ratio)
    assert [build_student("vggm-64x").taps[c].channels for c in ("conv1", "conv2", "conv3")] == [
        12,
        32,
        64,
    ]


def test_macs_match_brute_force_hook_count():
    for name in ("vggm-64x", "vgg16-slim-64x"):
        net = build_student(name)
        total = 0

        def hook(mod, inp, out):
            nonlocal total
            total += (
                out.numel()
                * mod.in_channels
                // mod.groups
                * mod.kernel_size[0]
                * mod.kernel_size[1]
            )

        handles = [
            m.register_forward_hook(hook) for m in net.modules() if isinstance(m, torch.nn.Conv2d)
        ]
        with torch.inference_mode():
            net(torch.zeros(1, 3, 224, 224))
        for h in handles:
            h.remove()
        assert count_macs(net, (224, 224)) == total
    # VGG16 at 224: the well-known 15.35 GMAC of its conv layers
    assert abs(count_macs(build_vgg16(), (224, 224)) - 15.347e9) < 0.01e9


def test_vggm_students_keep_matlab_numbering_and_slim_vgg16_aligns_with_teacher():
    teacher = build_vgg16()
    for name in student_names():
        net = build_student(name)
        if name.startswith("vggm"):
            assert [net.resolve(i) for i in (3, 10, 14)] == ["norm1", "relu3", "relu5"]
            assert net.taps["norm1"].stride == 2 and net.taps["relu5"].stride == 16
        else:
            assert list(net.taps) == list(teacher.taps)
            for tap, info in teacher.taps.items():
                assert net.taps[tap].stride == info.stride
                assert net.taps[tap].receptive_field == info.receptive_field


def test_build_is_deterministic_and_unknown_name_fails():
    a, b = build_student("vggm-32x", seed=3), build_student("vggm-32x", seed=3)
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(va, vb), ka
    c = build_student("vggm-32x", seed=4)
    assert not torch.equal(a.layers["conv1"].conv.weight, c.layers["conv1"].conv.weight)
    with pytest.raises(ConfigError, match="vggm-64x"):
        build_student("vggm-7x")


def test_truncated_computes_only_up_to_deepest_tap_and_matches_full():
    net = build_student("vggm-64x")
    x = torch.rand(2, 3, 97, 113) * 255
    sub = net.truncated(("relu3", "norm1"))
    assert sub.outputs == ("relu3", "norm1") and sub.layer_names[-1] == "relu3"
    calls = []
    hook = net.layers["conv4"].register_forward_hook(lambda *a: calls.append(1))
    with torch.inference_mode():
        part = sub(x)
        assert not calls
        full = net(x)
    hook.remove()
    assert list(part) == ["relu3", "norm1"]
    for k in part:
        assert torch.equal(part[k], full[k])
        assert tuple(part[k].shape[2:]) == net.output_size(97, 113, k)
    with pytest.raises(KeyError, match="unknown tap"):
        net.truncated(("conv9",))
    with pytest.raises(KeyError, match="out of range"):
        net.truncated((15,))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        net(torch.zeros(3, 10, 10))


def _lrn_brute(x: np.ndarray, n: int, kappa: float, alpha: float, beta: float) -> np.ndarray:
    c = x.shape[1]
    y = np.empty_like(x)
    for k in range(c):
        lo, hi = max(0, k - (n - 1) // 2), min(c - 1, k + n // 2)
        y[:, k] = x[:, k] / (kappa + alpha * (x[:, lo : hi + 1] ** 2).sum(1)) ** beta
    return y


@pytest.mark.parametrize("n", [1, 2, 4, 5])
def test_lrn_matconvnet_semantics(n):
    x = np.random.default_rng(n).normal(scale=30, size=(2, 7, 4, 3))
    got = LRN(n, 2.0, 1e-3, 0.75)(torch.from_numpy(x).float()).double().numpy()
    np.testing.assert_allclose(got, _lrn_brute(x, n, 2.0, 1e-3, 0.75), rtol=1e-5)


@pytest.mark.parametrize("method", ["max", "avg"])
@pytest.mark.parametrize("pad", [(0, 1, 0, 1), (1, 0, 2, 1), (0, 0, 0, 0), (1, 1, 1, 1)])
def test_pool_asymmetric_padding_brute_force(method, pad):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 2, 9, 8))
    k, s = 3, 2
    t, b, left, r = pad
    ho, wo = (9 + t + b - k) // s + 1, (8 + left + r - k) // s + 1
    ref = np.empty((1, 2, ho, wo))
    for i in range(ho):
        for j in range(wo):
            y1, x1 = i * s - t, j * s - left
            win = x[:, :, max(y1, 0) : min(y1 + k, 9), max(x1, 0) : min(x1 + k, 8)]
            ref[:, :, i, j] = win.max(axis=(2, 3)) if method == "max" else win.mean(axis=(2, 3))
    got = Pool(method, k, s, pad)(torch.from_numpy(x).float()).double().numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_save_load_roundtrip_and_errors(tmp_path):
    net = build_student("vgg16-slim-64x", seed=1)
    pt, js = save_student(net, tmp_path / "s", epochs=3)
    meta = json.loads(js.read_text())
    assert meta["arch"] == "vgg16-slim-64x" and meta["extra"] == {"epochs": 3}
    back = load_student(js)
    x = torch.rand(1, 3, 64, 48) * 255
    with torch.inference_mode():
        a, b = net(x), back(x)
    for k in a:
        assert torch.equal(a[k], b[k])
    # truncated weights -> sha mismatch
    data = pt.read_bytes()
    pt.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"s\.pt.*sha256"):
        load_student(pt)
    # weights of another student under this json (sha removed): shape mismatch names layer
    other = build_student("vgg16-slim-32x")
    torch.save(other.state_dict(), pt)
    meta["sha256"] = ""
    js.write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match=r"s\.pt.*conv1_1.*\(8, 3, 3, 3\).*\(12, 3, 3, 3\)"):
        load_student(js)
    js.write_text("{not json")
    with pytest.raises(WeightsError, match="invalid JSON"):
        load_student(js)
    with pytest.raises(WeightsError, match="not found"):
        load_student(tmp_path / "nothing.pt")


def test_custom_width_vggm_roundtrip(tmp_path):
    net = build_vggm((4, 8, 8, 8, 6), name="tiny")
    save_student(net, tmp_path / "tiny")
    back = load_student(tmp_path / "tiny.pt")
    assert back.taps["relu5"].channels == 6 and back.name == "tiny"


def test_onnx_runtime_matches_torch(tmp_path):
    require("onnxruntime")
    from fastcf.nets.onnx import OrtNetwork

    net = build_student("vggm-64x")
    ort = OrtNetwork.from_network(net, tmp_path / "s.onnx", (3, 14))
    assert ort.outputs == ("norm1", "relu5") and ort.taps["relu5"].stride == 16
    for shape in ((1, 3, 112, 112), (3, 3, 75, 90)):  # dynamic batch and size
        x = torch.rand(*shape) * 255
        with torch.inference_mode():
            ref = net.truncated(("norm1", "relu5"))(x)
        got = ort(x)
        for k in ref:
            torch.testing.assert_close(got[k], ref[k], rtol=1e-4, atol=1e-3)
    slim = build_student("vgg16-slim-256x")  # channels-last by default
    assert slim.channels_last
    ort = OrtNetwork.from_network(slim, tmp_path / "v.onnx", ("pool2", "conv4_3"))
    x = torch.rand(2, 3, 66, 50) * 255
    with torch.inference_mode():
        ref = slim.truncated(("pool2", "conv4_3"))(x)
    got = ort(x)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=1e-4, atol=1e-3)


def test_vggm_from_matconvnet_runs_on_bgr():
    from conftest import shared_path
    from fastcf.nets import load_matconvnet, vggm_from_matconvnet

    mcn = load_matconvnet(shared_path("models", "CF_VGGM.mat"), mean="colour")
    student = vggm_from_matconvnet(mcn)
    x = torch.rand(1, 3, 80, 70) * 255
    with torch.inference_mode():
        a, b = mcn(x)["relu5"], student(x)["relu5"]
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(a.abs().max()))
    assert F.mse_loss(a, b) < 1e-8 * float((a**2).mean()) + 1e-12


def test_channels_last_gives_same_maps():
    net = build_student("vgg16-slim-64x")
    x = torch.rand(2, 3, 50, 42) * 255
    with torch.inference_mode():
        ref = net.truncated(("pool2", "conv4_3"))(x)
        net.use_channels_last()
        sub = net.truncated(("pool2", "conv4_3"))
        assert sub.channels_last
        got = sub(x)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=1e-4, atol=1e-3)


def test_plugs_into_cnn_feature_slot():
    import fastcf.features.cnn as cnn
    from conftest import shared_path
    from fastcf.nets import load_matconvnet

    net = load_matconvnet(shared_path("models", "CF_VGGM.mat"))
    assert isinstance(net, cnn.FeatureNetwork)
    ext = cnn.CNNFeatures(net, ("norm1", "relu5"), {"norm1": 2})
    assert [(b.name, b.stride, b.channels) for b in ext.blocks] == [
        ("norm1", 4, 12),
        ("relu5", 16, 64),
    ]
    patches = np.random.default_rng(0).integers(0, 256, size=(3, 224, 224, 3), dtype=np.uint8)
    a, b = ext.extract(patches)
    assert a.shape == (3, 12, 56, 56) and b.shape == (3, 64, 14, 14)
    student = cnn.CNNFeatures(build_student("vgg16-slim-64x"), ("conv3_3", "conv4_3"))
    c, d = student.extract(patches[:1])
    assert c.shape == (1, 32, 56, 56) and d.shape == (1, 64, 28, 28)


@pytest.mark.parametrize("n, beta", [(5, 0.75), (4, 0.6)])
def test_lrn_gradient_and_training_after_inference(n, beta):
    lrn = LRN(n, 2.0, 1e-2, beta)
    with torch.inference_mode():  # caches built here must not break autograd later
        lrn(torch.rand(1, 6, 3, 3, dtype=torch.float64))
    x = (torch.randn(1, 6, 3, 3, dtype=torch.float64) * 5).requires_grad_()
    assert torch.autograd.gradcheck(lrn, (x,))
    net = build_student("vggm-32x")
    with torch.inference_mode():
        net(torch.rand(1, 3, 64, 64) * 255)
    net.train()
    out = net(torch.rand(2, 3, 64, 64) * 255)
    sum(v.square().mean() for v in out.values()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.parametrize("h, w", [(9, 8), (7, 7), (2, 3)])
@pytest.mark.parametrize(
    "k, s, pad", [(2, 2, (0, 1, 0, 1)), (3, 1, (1, 1, 1, 1)), (3, 3, (2, 0, 0, 2))]
)
def test_max_pool_more_geometries(h, w, k, s, pad):
    t, b, left, r = pad
    ho, wo = (h + t + b - k) // s + 1, (w + left + r - k) // s + 1
    if ho < 1 or wo < 1:
        pytest.skip("window does not fit")
    x = np.random.default_rng(h * w).normal(size=(2, 3, h, w))
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)), constant_values=-np.inf)
    ref = np.array(
        [
            [
                [
                    [xp[n, c, i * s : i * s + k, j * s : j * s + k].max() for j in range(wo)]
                    for i in range(ho)
                ]
                for c in range(3)
            ]
            for n in range(2)
        ]
    )
    got = Pool("max", k, s, pad)(torch.from_numpy(x).float()).double().numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    cl = torch.from_numpy(x).float().contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(Pool("max", k, s, pad)(cl).double().numpy(), ref, rtol=1e-6)


def test_max_pool_gradient_matches_reference():
    x = torch.randn(1, 2, 7, 6, dtype=torch.float64, requires_grad=True)
    pool = Pool("max", 3, 2, (0, 1, 0, 1))
    (g,) = torch.autograd.grad(pool(x).sum(), x)
    (g_ref,) = torch.autograd.grad(F.max_pool2d(x, 3, 2, ceil_mode=True).sum(), x)
    torch.testing.assert_close(g, g_ref)
