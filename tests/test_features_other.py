"""Gray, lookup tables, CNN slot, normalisation and the non-finite guard."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from conftest import shared_path
from fastcf.errors import FastCFError, WeightsError
from fastcf.features.base import FeatureExtractor
from fastcf.features.cnn import CNNFeatures, FeatureNetwork, TapInfo
from fastcf.features.gray import Gray, average_cells, cell_mean
from fastcf.features.lookup import (
    ColorNames,
    IntensityChannels,
    LookupTableFeature,
    color_index,
    load_table,
)
from fastcf.features.normalize import eco_normalize, guard_finite, minmax_normalize

# --- gray & cell averaging -------------------------------------------------------------


def test_average_cells_matches_loops_and_drops_remainder() -> None:
    x = np.random.default_rng(0).random((2, 3, 9, 11)).astype(np.float32)
    out = average_cells(x, 4)
    assert out.shape == (2, 3, 2, 2)
    for i in range(2):
        for j in range(2):
            want = x[:, :, 4 * i : 4 * i + 4, 4 * j : 4 * j + 4].mean(axis=(2, 3))
            np.testing.assert_allclose(out[:, :, i, j], want, rtol=1e-6)


def test_cell_mean_channel_last_and_odd_cells() -> None:
    x = np.random.default_rng(1).random((2, 10, 8, 3)).astype(np.float32)
    got = cell_mean(x, 3, (1, 2))
    want = x[:, :9, :6].reshape(2, 3, 3, 2, 3, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert cell_mean(x, 1, (1, 2)) is not None and cell_mean(x, 1, (1, 2)).shape == x.shape
    with pytest.raises(ValueError, match="smaller than one"):
        cell_mean(x, 11, (1, 2))


def test_gray_values_and_cells() -> None:
    patch = np.zeros((1, 8, 8, 3), np.uint8)
    patch[0, :4, :4] = 255  # white top-left cell
    (out,) = Gray(cell_size=4).extract(patch)
    assert out.shape == (1, 1, 2, 2)
    np.testing.assert_allclose(out[0, 0], [[0.5, -0.5], [-0.5, -0.5]], atol=1e-6)
    # BGR weights: pure blue is dark (0.114), pure red brighter (0.299)
    blue = np.zeros((1, 4, 4, 3), np.uint8)
    blue[..., 0] = 255
    red = blue[..., ::-1].copy()
    gb, gr = Gray().extract(blue)[0], Gray().extract(red)[0]
    np.testing.assert_allclose(gb, round(0.114 * 255) / 255 - 0.5, atol=2 / 255)
    np.testing.assert_allclose(gr, round(0.299 * 255) / 255 - 0.5, atol=2 / 255)
    # gray input
    assert Gray(cell_size=2).extract(np.full((2, 6, 6), 51, np.uint8))[0].shape == (2, 1, 3, 3)


# --- lookup tables ---------------------------------------------------------------------


def test_color_index_is_rgb_order_on_bgr_input() -> None:
    px = np.array([[[[10, 100, 200]]]], np.uint8)  # B=10, G=100, R=200
    assert color_index(px)[0, 0, 0] == 200 // 8 + 32 * (100 // 8) + 1024 * (10 // 8)


def test_lookup_with_synthetic_table_and_cells() -> None:
    table = np.arange(32768 * 2, dtype=np.float32).reshape(32768, 2)
    feat = LookupTableFeature(table, cell_size=2, name="t")
    patch = np.zeros((1, 2, 2, 3), np.uint8)
    patch[0, 0, 0] = (8, 16, 24)  # B, G, R -> index 3 + 32*2 + 1024*1 = 1091
    (out,) = feat.extract(patch)
    assert out.shape == (1, 2, 1, 1)
    np.testing.assert_allclose(out[0, :, 0, 0], (table[1091] + 3 * table[0]) / 4)
    # gray patch through a colour table: R = G = B
    g = np.full((1, 2, 2), 40, np.uint8)
    np.testing.assert_allclose(feat.extract(g)[0][0, :, 0, 0], table[5 * (1 + 32 + 1024)])
    # gray table indexed by gray level
    gtab = np.arange(256 * 3, dtype=np.float32).reshape(256, 3)
    np.testing.assert_allclose(
        LookupTableFeature(gtab, cell_size=1).extract(g)[0][0, :, 1, 1], gtab[40]
    )


def test_colornames_real_table_against_hand_index() -> None:
    path = shared_path("models", "lookup_tables", "CNnorm.mat")
    cn = ColorNames(path, cell_size=1)
    assert cn.blocks[0].channels == 10
    rng = np.random.default_rng(5)
    patch = rng.integers(0, 256, (1, 3, 4, 3), dtype=np.uint8)
    (out,) = cn.extract(patch)
    table = load_table(path)
    for y in range(3):
        for x in range(4):
            b, g, r = (int(v) for v in patch[0, y, x])
            np.testing.assert_array_equal(
                out[0, :, y, x], table[r // 8 + 32 * (g // 8) + 1024 * (b // 8)]
            )


def test_intensity_real_table() -> None:
    path = shared_path("models", "lookup_tables", "intensityChannelNorm6.mat")
    ic = IntensityChannels(path, cell_size=4)
    assert ic.blocks[0].channels == 5
    out = ic.extract(np.full((2, 8, 12), 77, np.uint8))[0]
    assert out.shape == (2, 5, 2, 3)
    np.testing.assert_allclose(out[1, :, 1, 2], load_table(path)[77])


def test_table_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(WeightsError, match="not found"):
        LookupTableFeature(tmp_path / "missing.mat")
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((100, 10), np.float32))
    with pytest.raises(WeightsError, match=r"expected shape \(32768, D\).*got \(100, 10\)"):
        load_table(bad)
    junk = tmp_path / "junk.mat"
    junk.write_bytes(b"not a mat file at all")
    with pytest.raises(WeightsError, match="cannot read"):
        load_table(junk)
    with pytest.raises(WeightsError, match="got"):
        LookupTableFeature(np.zeros((3, 3), np.float32))
    gray = tmp_path / "g.npy"
    np.save(gray, np.zeros((256, 5), np.float32))
    with pytest.raises(WeightsError, match="colour table"):
        ColorNames(gray)


# --- CNN slot --------------------------------------------------------------------------


class TinyNet(nn.Module):
    """conv 3x3 stride 2 (pad 1) -> relu -> conv 3x3 stride 2 (pad 0): BGR / 255 input."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.c1 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(4, 6, 3, stride=2, padding=0)
        self.taps = {
            "relu1": TapInfo(stride=2, channels=4, receptive_field=3),
            "conv2": TapInfo(stride=4, channels=6, receptive_field=7),
        }
        self.calls: list[torch.Size] = []

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls.append(x.shape)
        assert not torch.is_grad_enabled()
        r1 = torch.relu(self.c1(x / 255.0))
        return {"relu1": r1, "conv2": self.c2(r1)}


def test_cnn_features_blocks_shapes_and_values() -> None:
    net = TinyNet()
    assert isinstance(net, FeatureNetwork)
    ext = CNNFeatures(net, layers=("relu1", "conv2"), downsample={"relu1": 2})
    as_protocol: FeatureExtractor = ext  # structural check (mypy)
    assert as_protocol.blocks is ext.blocks
    assert [(b.name, b.stride, b.channels) for b in ext.blocks] == [
        ("relu1", 4, 4),
        ("conv2", 4, 6),
    ]
    patches = np.random.default_rng(0).integers(0, 256, (2, 32, 40, 3), dtype=np.uint8)
    threads_before = torch.get_num_threads()
    relu1, conv2 = ext.extract(patches)
    assert torch.get_num_threads() == threads_before
    assert relu1.shape == (2, 4, 8, 10) and conv2.shape == (2, 6, 8, 10)
    assert relu1.dtype == np.float32 and relu1.min() >= 0
    # the network saw (N, 3, H, W) BGR values; relu1 is the 2x2 average of the raw map
    with torch.no_grad():
        raw = net(torch.from_numpy(patches.transpose(0, 3, 1, 2).copy()).float())
    r = raw["relu1"].numpy()
    np.testing.assert_allclose(relu1, r.reshape(2, 4, 8, 2, 10, 2).mean((3, 5)), atol=1e-6)
    # conv2 (no padding) is 7x9 for a 32x40 input: edge-padded to 8x10, centred
    c = raw["conv2"].numpy()
    assert c.shape[2:] == (7, 9)
    np.testing.assert_allclose(conv2[:, :, :7, :9], c, atol=1e-6)
    np.testing.assert_allclose(conv2[:, :, 7, :9], c[:, :, 6], atol=1e-6)


def test_cnn_features_errors_and_gray() -> None:
    net = TinyNet()
    with pytest.raises(KeyError, match="no tap 'relu9'"):
        CNNFeatures(net, layers=("relu9",))
    with pytest.raises(KeyError, match="downsample"):
        CNNFeatures(net, layers=("conv2",), downsample={"relu1": 2})
    with pytest.raises(TypeError, match="not a FeatureNetwork"):
        CNNFeatures(object(), layers=("x",))  # type: ignore[arg-type]
    out = CNNFeatures(net, layers=("relu1",)).extract(np.zeros((1, 8, 8), np.uint8))
    assert out[0].shape == (1, 4, 4, 4)


class NaNNet(TinyNet):
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = super().forward(x)
        out["relu1"] = out["relu1"].clone()
        out["relu1"][:, 0, 0, 0] = float("nan")
        return out


def test_nonfinite_policy() -> None:
    patches = np.zeros((1, 16, 16, 3), np.uint8)
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        (out,) = CNNFeatures(NaNNet(), layers=("relu1",)).extract(patches)
    assert np.isfinite(out).all() and out[0, 0, 0, 0] == 0
    with pytest.raises(FastCFError, match="relu1"):
        CNNFeatures(NaNNet(), layers=("relu1",), nonfinite="raise").extract(patches)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CNNFeatures(NaNNet(), layers=("relu1",), nonfinite="zero").extract(patches)
    x = np.ones((1, 1, 2, 2), np.float32)
    assert guard_finite(x, "x") is x  # finite input: untouched, no copy


# --- normalisation ---------------------------------------------------------------------


def test_eco_normalize() -> None:
    x = np.random.default_rng(1).normal(size=(3, 5, 4, 6)).astype(np.float32)
    y = eco_normalize(x)
    np.testing.assert_allclose((y.astype(np.float64) ** 2).sum((1, 2, 3)), 4 * 6 * 5, rtol=1e-5)
    # per-sample scaling only: directions unchanged
    np.testing.assert_allclose(y[1] / np.linalg.norm(y[1]), x[1] / np.linalg.norm(x[1]), atol=1e-6)
    y1 = eco_normalize(x, power=1, size_norm=False, dim_norm=False)
    np.testing.assert_allclose(np.abs(y1).sum((1, 2, 3)), 1.0, rtol=1e-5)
    assert np.isfinite(eco_normalize(np.zeros((1, 2, 3, 3), np.float32))).all()


def test_minmax_normalize() -> None:
    x = np.random.default_rng(2).normal(size=(2, 3, 5, 5)).astype(np.float32)
    y = minmax_normalize(x)
    np.testing.assert_allclose(y.min((2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(y.max((2, 3)), 1, atol=1e-5)


def test_replicate_crop_equals_clipped_indices() -> None:
    # every window (inside, overlapping a border, entirely outside, larger than the image)
    # equals indexing with each row/column index clipped into the image
    from fastcf.features.crop import replicate_crop

    rng = np.random.default_rng(2)
    for img in (
        rng.integers(0, 256, (23, 31, 3), dtype=np.uint8),
        rng.integers(0, 256, (9, 14), dtype=np.uint8),
    ):
        h, w = img.shape[:2]
        for _ in range(300):
            top, left = (int(v) for v in rng.integers(-40, 45, 2))
            height, width = (int(v) for v in rng.integers(1, 60, 2))
            got = replicate_crop(img, top, left, height, width)
            ys = np.clip(np.arange(top, top + height), 0, h - 1)
            xs = np.clip(np.arange(left, left + width), 0, w - 1)
            np.testing.assert_array_equal(got, img[ys[:, None], xs[None, :]])
            assert got.flags.c_contiguous and got.dtype == img.dtype
