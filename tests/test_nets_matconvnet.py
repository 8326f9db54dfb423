"""MatConvNet importer vs an independent NumPy implementation of MatConvNet's layers.

The reference below is written from MatConvNet's documented semantics (vl_nnconv,
vl_nnrelu, vl_nnnormalize, vl_nnpool), in float64 with explicit loops / im2col, and reads
the .mat file with scipy itself: it shares no code with fastcf.nets.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.io
import torch

from conftest import shared_path
from fastcf.errors import WeightsError
from fastcf.nets.matconvnet import load_matconvnet

torch.set_num_threads(1)


# --- independent reference ------------------------------------------------------------
def ref_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, pad, stride) -> np.ndarray:
    """x: H x W x C; w: kh x kw x C x K (MatConvNet layout); pad [t b l r]; stride [sy sx]."""
    t, bo, le, r = pad
    xp = np.zeros((x.shape[0] + t + bo, x.shape[1] + le + r, x.shape[2]))
    xp[t : t + x.shape[0], le : le + x.shape[1]] = x
    kh, kw, c, k = w.shape
    ho = (xp.shape[0] - kh) // stride[0] + 1
    wo = (xp.shape[1] - kw) // stride[1] + 1
    cols = np.empty((ho, wo, kh, kw, c))
    for i in range(kh):  # im2col: one kernel offset at a time
        for j in range(kw):
            cols[:, :, i, j, :] = xp[
                i : i + stride[0] * (ho - 1) + 1 : stride[0],
                j : j + stride[1] * (wo - 1) + 1 : stride[1],
            ]
    return cols.reshape(ho * wo, -1) @ w.reshape(-1, k) + b.reshape(1, k)


def ref_conv_hw(x, w, b, pad, stride):
    kh, kw, c, k = w.shape
    t, bo, le, r = pad
    ho = (x.shape[0] + t + bo - kh) // stride[0] + 1
    wo = (x.shape[1] + le + r - kw) // stride[1] + 1
    return ref_conv(x, w, b, pad, stride).reshape(ho, wo, k)


def ref_lrn(x: np.ndarray, n: int, kappa: float, alpha: float, beta: float) -> np.ndarray:
    c = x.shape[2]
    y = np.empty_like(x)
    for k in range(c):
        lo = max(0, k - (n - 1) // 2)
        hi = min(c - 1, k + int(np.ceil((n - 1) / 2)))
        s = (x[:, :, lo : hi + 1] ** 2).sum(axis=2)
        y[:, :, k] = x[:, :, k] / (kappa + alpha * s) ** beta
    return y


def ref_pool(x: np.ndarray, method: str, size, pad, stride) -> np.ndarray:
    t, bo, le, r = pad
    h, w, _ = x.shape
    ho = (h + t + bo - size[0]) // stride[0] + 1
    wo = (w + le + r - size[1]) // stride[1] + 1
    y = np.empty((ho, wo, x.shape[2]))
    for i in range(ho):
        for j in range(wo):
            y1, x1 = i * stride[0] - t, j * stride[1] - le
            y2, x2 = min(y1 + size[0], h), min(x1 + size[1], w)
            win = x[max(y1, 0) : y2, max(x1, 0) : x2]
            y[i, j] = win.max(axis=(0, 1)) if method == "max" else win.mean(axis=(0, 1))
    return y


def _v(x):
    return [int(v) for v in np.asarray(x).ravel()]


def reference_forward(mat_path, rgb: np.ndarray, mean: str) -> dict[str, np.ndarray]:
    net = scipy.io.loadmat(str(mat_path), squeeze_me=True, struct_as_record=False)["net"]
    avg = np.asarray(net.meta.normalization.averageImage, dtype=np.float64)
    if mean == "colour":
        avg = avg.reshape(-1, 3).mean(axis=0).reshape(1, 1, 3)
    else:
        assert avg.shape == rgb.shape, "reference only handles an input of the mean's size"
    x = rgb.astype(np.float64) - avg
    out = {}
    for layer in np.atleast_1d(net.layers):
        kind = layer.type
        if kind == "conv":
            w, b = (np.asarray(a, dtype=np.float64) for a in layer.weights)
            x = ref_conv_hw(x, w, b, _v(layer.pad), _v(layer.stride))
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "lrn":
            n, kappa, alpha, beta = np.asarray(layer.param, dtype=np.float64).ravel()
            x = ref_lrn(x, int(n), kappa, alpha, beta)
        elif kind == "pool":
            x = ref_pool(x, layer.method, _v(layer.pool), _v(layer.pad), _v(layer.stride))
        else:
            raise AssertionError(kind)
        out[layer.name] = x
    return out


def crossing_frame():
    img = cv2.imread(str(shared_path("sequences", "Crossing", "img", "0001.jpg")))
    assert img is not None
    return img


def _compare(net, bgr_crop, ref):
    x = torch.from_numpy(bgr_crop.astype(np.float32).transpose(2, 0, 1).copy())[None]
    with torch.inference_mode():
        got = net(x)
    assert list(got) == list(ref)
    for name, r in ref.items():
        g = got[name][0].numpy().transpose(1, 2, 0)
        assert g.shape == r.shape, name
        err = np.abs(g - r).max() / np.abs(r).max()
        assert err < 1e-4, f"{name}: relative error {err:.2e}"


@pytest.mark.slow
def test_cf_vggm_matches_numpy_reference_mean_image():
    mat = shared_path("models", "CF_VGGM.mat")
    frame = crossing_frame()  # 360x240
    crop = frame[8:232, 60:284]  # 224 x 224: the mean image's own size
    net = load_matconvnet(mat)
    ref = reference_forward(mat, crop[:, :, ::-1], "image")
    _compare(net, crop, ref)


def test_cf_vggm_matches_numpy_reference_odd_size_mean_colour():
    mat = shared_path("models", "CF_VGGM.mat")
    crop = crossing_frame()[40:157, 100:231]  # 117 x 131: odd sizes exercise the pad rules
    net = load_matconvnet(mat, mean="colour")
    ref = reference_forward(mat, crop[:, :, ::-1], "colour")
    _compare(net, crop, ref)


def test_cf_vggm_structure_and_matlab_layer_numbers():
    net = load_matconvnet(shared_path("models", "CF_VGGM.mat"))
    assert len(net.layer_names) == 14
    assert [net.resolve(i) for i in (3, 10, 14)] == ["norm1", "relu3", "relu5"]
    assert [net.taps[n].channels for n in ("conv1", "conv2", "conv3", "conv4", "conv5")] == [
        12,
        32,
        64,
        64,
        64,
    ]
    assert net.taps["norm1"].stride == 2 and net.taps["relu5"].stride == 16
    assert net.taps["relu5"].receptive_field == 139
    sub = net.truncated((3, 14))
    assert sub.outputs == ("norm1", "relu5")
    sub10 = net.truncated((10,))
    assert sub10.layer_names[-1] == "relu3" and len(sub10.layer_names) == 10
    x = torch.rand(1, 3, 100, 90) * 255
    with torch.inference_mode():
        full, part = net(x), sub10(x)
    assert list(part) == ["relu3"]
    torch.testing.assert_close(part["relu3"], full["relu3"], rtol=0, atol=0)
    for tap in ("norm1", "pool2", "relu5"):
        assert tuple(full[tap].shape[2:]) == net.output_size(100, 90, tap)


def _write_mutated(tmp_path, mutate):
    src = shared_path("models", "CF_VGGM.mat")
    m = scipy.io.loadmat(str(src), squeeze_me=False, struct_as_record=False)
    mutate(m["net"][0, 0])
    out = tmp_path / "bad.mat"
    scipy.io.savemat(str(out), {"net": m["net"]})
    return out


def test_mismatched_filter_shape_names_file_layer_and_shapes(tmp_path):
    def mutate(net):
        conv2 = net.layers[0, 4][0, 0]
        w = conv2.weights[0, 0]
        conv2.weights[0, 0] = w[:, :, :10, :]  # 10 input channels where conv1 gives 12
        conv2.size = np.array([[5, 5, 10, 32]], dtype=np.uint8)

    bad = _write_mutated(tmp_path, mutate)
    with pytest.raises(WeightsError) as e:
        load_matconvnet(bad)
    msg = str(e.value)
    assert "bad.mat" in msg and "conv2" in msg and "12" in msg and "10" in msg


def test_size_field_disagreeing_with_filters(tmp_path):
    def mutate(net):
        conv3 = net.layers[0, 8][0, 0]
        conv3.size = np.array([[3, 3, 32, 65]], dtype=np.uint8)

    bad = _write_mutated(tmp_path, mutate)
    with pytest.raises(WeightsError, match=r"conv3.*\(3, 3, 32, 65\).*\(3, 3, 32, 64\)"):
        load_matconvnet(bad)


def test_bias_count_mismatch(tmp_path):
    def mutate(net):
        conv1 = net.layers[0, 0][0, 0]
        conv1.weights[0, 1] = conv1.weights[0, 1][:5]

    with pytest.raises(WeightsError, match=r"conv1.*12 biases, found 5"):
        load_matconvnet(_write_mutated(tmp_path, mutate))


def test_truncated_and_missing_files(tmp_path):
    src = shared_path("models", "CF_VGGM.mat")
    data = src.read_bytes()
    cut = tmp_path / "cut.mat"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(WeightsError, match="cut.mat"):
        load_matconvnet(cut)
    with pytest.raises(WeightsError, match="not found"):
        load_matconvnet(tmp_path / "nope.mat")


def test_old_format_filters_biases_and_top_level_normalization(tmp_path):
    """The beta format of imagenet-vgg-m-2048.mat: filters/biases fields, scalar pads."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    b1 = rng.normal(size=(1, 4)).astype(np.float32)
    w2 = rng.normal(size=(2, 2, 4, 1)).astype(np.float32)  # Cout 1: MATLAB drops the dim
    layers = np.empty((1, 6), dtype=object)
    layers[0, 0] = {
        "name": "c1",
        "type": "conv",
        "filters": w1,
        "biases": b1,
        "pad": 1.0,
        "stride": 1.0,
    }
    layers[0, 1] = {"name": "r1", "type": "relu"}
    layers[0, 2] = {"name": "n1", "type": "normalize", "param": np.array([4, 1.0, 1e-3, 0.75])}
    layers[0, 3] = {
        "name": "p1",
        "type": "pool",
        "method": "avg",
        "pool": 3.0,
        "pad": np.array([1, 0, 0, 1.0]),
        "stride": 2.0,
    }
    layers[0, 4] = {
        "name": "c2",
        "type": "conv",
        "filters": w2[:, :, :, 0],
        "biases": np.zeros((1, 1), np.float32),
        "pad": 0.0,
        "stride": 1.0,
    }
    layers[0, 5] = {"name": "prob", "type": "softmax"}
    mean = np.array([120.0, 110.0, 100.0]).reshape(1, 1, 3)
    path = tmp_path / "old.mat"
    scipy.io.savemat(str(path), {"layers": layers, "normalization": {"averageImage": mean}})
    net = load_matconvnet(path)
    assert net.layer_names == ("c1", "r1", "n1", "p1", "c2")  # cut before softmax
    rgb = rng.uniform(0, 255, size=(11, 10, 3))
    x = rgb - mean
    x = np.maximum(ref_conv_hw(x, w1.astype(np.float64), b1.ravel(), (1, 1, 1, 1), (1, 1)), 0)
    x = ref_lrn(x, 4, 1.0, 1e-3, 0.75)  # even window: asymmetric channel neighbourhood
    x = ref_pool(x, "avg", (3, 3), (1, 0, 0, 1), (2, 2))
    x = ref_conv_hw(x, w2.astype(np.float64), np.zeros(1), (0, 0, 0, 0), (1, 1))
    t = torch.from_numpy(rgb[:, :, ::-1].astype(np.float32).transpose(2, 0, 1).copy())[None]
    with torch.inference_mode():
        got = net(t)["c2"][0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(got, x, rtol=1e-4, atol=1e-4 * np.abs(x).max())
    with pytest.raises(WeightsError, match="unsupported type 'softmax'"):
        load_matconvnet(path, max_layer=6)
