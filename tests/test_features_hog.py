"""fHOG: shape, brute-force agreement, orientation response, invariances, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastcf.errors import FrameError
from fastcf.features.hog import FHOG, fhog


def _fhog_loops(img: np.ndarray, cell: int, norient: int = 9, clip: float = 0.2) -> np.ndarray:
    """Pixel-by-pixel restatement of the toolbox fhog (slow, for one small HxWxC image)."""
    img = img.astype(np.float64)
    if img.ndim == 2:
        img = img[..., None]
    height, width, nch = img.shape
    hb, wb = height // cell, width // cell
    nori = 2 * norient
    r1 = np.zeros((nori, hb, wb))
    for y in range(hb * cell):
        for x in range(wb * cell):
            best = (-1.0, 0.0, 0.0)
            for c in range(nch):
                if x == 0:
                    gx = img[y, 1, c] - img[y, 0, c]
                elif x == width - 1:
                    gx = img[y, x, c] - img[y, x - 1, c]
                else:
                    gx = (img[y, x + 1, c] - img[y, x - 1, c]) / 2
                if y == 0:
                    gy = img[1, x, c] - img[0, x, c]
                elif y == height - 1:
                    gy = img[y, x, c] - img[y - 1, x, c]
                else:
                    gy = (img[y + 1, x, c] - img[y - 1, x, c]) / 2
                if gx * gx + gy * gy > best[0]:
                    best = (gx * gx + gy * gy, gx, gy)
            mag = math.sqrt(best[0]) / cell**2
            ang = math.atan2(best[2], best[1]) % (2 * math.pi)
            o = int(ang * nori / (2 * math.pi) + 0.5) % nori
            yb = (y + 0.5) / cell - 0.5
            xb = (x + 0.5) / cell - 0.5
            y0, x0 = math.floor(yb), math.floor(xb)
            for cy, wy in ((y0, 1 - (yb - y0)), (y0 + 1, yb - y0)):
                for cx, wx in ((x0, 1 - (xb - x0)), (x0 + 1, xb - x0)):
                    if 0 <= cy < hb and 0 <= cx < wb:
                        r1[o, cy, cx] += mag * wy * wx
    for cx in (0, wb - 1):  # toolbox: border columns/rows scaled by 8/7 (corners twice)
        r1[:, :, cx] *= 8 / 7
    for cy in (0, hb - 1):
        r1[:, cy, :] *= 8 / 7
    r2 = r1[:norient] + r1[norient:]
    energy = (r2**2).sum(0)
    eps = 1e-4 / 4 / cell**4
    out = np.zeros((3 * norient + 4, hb, wb))
    for y in range(hb):
        for x in range(wb):
            norms = []
            for by, bx in ((y, x), (y - 1, x), (y, x - 1), (y - 1, x - 1)):
                by = min(max(by, 0), hb - 2)  # blocks start at cells 0..hb-2
                bx = min(max(bx, 0), wb - 2)
                e = energy[by : by + 2, bx : bx + 2].sum()
                norms.append(1 / math.sqrt(e + eps))
            for k, nk in enumerate(norms):
                t1 = np.minimum(r1[:, y, x] * nk, clip)
                out[:nori, y, x] += 0.5 * t1
                out[nori : nori + norient, y, x] += 0.5 * np.minimum(r2[:, y, x] * nk, clip)
                out[nori + norient + k, y, x] = 0.2357 * t1.sum()
    return out


@pytest.mark.parametrize("shape,cell", [((22, 19, 3), 4), ((17, 26), 3), ((12, 12, 3), 2)])
def test_fhog_matches_pixel_loop_reference(shape: tuple[int, ...], cell: int) -> None:
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    got = fhog(img[None], cell)[0]
    want = _fhog_loops(img, cell)
    assert got.shape == want.shape == (31, shape[0] // cell, shape[1] // cell)
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=1e-4)


def test_shape_dtype_nonnegative_and_bounded() -> None:
    rng = np.random.default_rng(0)
    patches = rng.integers(0, 256, (3, 50, 61, 3), dtype=np.uint8)
    ext = FHOG(cell_size=4)
    (out,) = ext.extract(patches)
    assert ext.blocks[0].channels == 31 and ext.blocks[0].stride == 4
    assert out.shape == (3, 31, 12, 15) and out.dtype == np.float32
    assert out.min() >= 0.0
    assert out[:, :27].max() <= 4 * 0.5 * 0.2 + 1e-6  # 4 normalisations x 0.5 x clip
    # batch items are independent
    np.testing.assert_array_equal(ext.extract(patches[1:2])[0][0], out[1])


def test_keep_truncation_adds_zero_channel() -> None:
    img = np.random.default_rng(0).integers(0, 256, (1, 24, 24, 3), dtype=np.uint8)
    out = FHOG(keep_truncation=True).extract(img)[0]
    assert out.shape[1] == 32
    assert not out[:, 31].any()
    np.testing.assert_array_equal(out[:, :31], FHOG().extract(img)[0])


@pytest.mark.parametrize("axis", ["vertical", "horizontal"])
def test_edges_light_matching_orientation(axis: str) -> None:
    img = np.zeros((1, 40, 40, 3), np.uint8)
    if axis == "vertical":  # dark -> bright going right: gradient along +x, angle 0
        img[:, :, 20:] = 200
    else:  # dark -> bright going down: gradient along +y, angle pi/2 (between bins 4 and 5)
        img[:, 20:] = 200
    cell = (5, 5)  # a cell containing the edge (pixels 19..20)
    out = FHOG().extract(img)[0][0]
    sens = out[:18, cell[0], cell[1]]
    insens = out[18:27, cell[0], cell[1]]
    if axis == "vertical":
        assert sens.argmax() == 0 and sens[0] > 0.1 and np.count_nonzero(sens) == 1
        assert insens.argmax() == 0
    else:  # pi/2 is 4.5 bins: exactly on the 4|5 boundary, float rounding picks one
        assert sens.argmax() in (4, 5) and np.count_nonzero(sens) == 1
        assert insens.argmax() == sens.argmax()
    # reversing contrast moves the sensitive bin by pi (9 bins) but not the insensitive one
    flipped = FHOG().extract(255 - img)[0][0]
    assert flipped[:18, cell[0], cell[1]].argmax() == (sens.argmax() + 9) % 18
    np.testing.assert_allclose(flipped[18:27, cell[0], cell[1]], insens, atol=1e-6)
    # a flat region far from the edge carries no gradient
    assert not out[:, 0, 0].any()


def test_brightness_offset_invariance() -> None:
    rng = np.random.default_rng(2)
    img = rng.integers(20, 200, (2, 32, 36, 3), dtype=np.uint8)
    a = FHOG().extract(img)[0]
    b = FHOG().extract(img + np.uint8(40))[0]
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_gray_and_color_agree_on_gray_images() -> None:
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, (1, 20, 20), dtype=np.uint8)
    color = np.repeat(gray[..., None], 3, axis=3)
    np.testing.assert_allclose(FHOG().extract(gray)[0], FHOG().extract(color)[0], atol=1e-6)


def test_bad_input_errors() -> None:
    ext = FHOG()
    with pytest.raises(FrameError, match="uint8"):
        ext.extract(np.zeros((1, 20, 20, 3), np.float32))  # type: ignore[arg-type]
    with pytest.raises(FrameError, match="shape"):
        ext.extract(np.zeros((20, 20, 3, 2), np.uint8))
    with pytest.raises(ValueError, match="smaller than one"):
        ext.extract(np.zeros((1, 3, 20, 3), np.uint8))
    with pytest.raises(ValueError, match="cell_size"):
        FHOG(cell_size=0)


@pytest.mark.parametrize(
    "shape,cell",
    [
        ((17, 20, 36, 3), 4),  # ECO's scale filter: one vectorised chunk
        ((17, 36, 68, 3), 4),  # several balanced chunks
        ((3, 170, 150, 3), 6),  # large patches: one image per chunk
        ((5, 23, 31), 3),  # gray, ragged remainder rows/columns
    ],
)
def test_batched_path_equals_per_image_path(shape: tuple[int, ...], cell: int) -> None:
    from fastcf.features import hog as hog_module

    rng = np.random.default_rng(4)
    imgs = rng.integers(0, 256, shape, dtype=np.uint8)
    whole = hog_module._fhog_batch(imgs if imgs.ndim == 4 else imgs[..., None], cell, 9, 0.2, False)
    chunked = fhog(imgs, cell)
    single = np.concatenate([fhog(imgs[i : i + 1], cell) for i in range(shape[0])])
    assert chunked.shape == single.shape == whole.shape
    # bit-identical: batching changes neither the arithmetic nor the summation order
    assert np.array_equal(chunked, single)
    assert np.array_equal(whole, single)
    assert np.array_equal(FHOG(cell_size=cell).extract(imgs)[0], single)


def test_chunking_splits_large_batches_evenly(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastcf.features import hog as hog_module

    sizes: list[int] = []
    real = hog_module._fhog_batch

    def spy(arr: np.ndarray, *args: object) -> np.ndarray:
        sizes.append(arr.shape[0])
        return real(arr, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(hog_module, "_fhog_batch", spy)
    imgs = np.zeros((17, 36, 68, 3), np.uint8)  # 2448 px: 10 per chunk -> 2 chunks of 8 + 9
    fhog(imgs, 4)
    assert sizes == [8, 9]
    sizes.clear()
    fhog(np.zeros((3, 200, 200, 3), np.uint8), 4)  # larger than a chunk: one at a time
    assert sizes == [1, 1, 1]
    sizes.clear()
    fhog(np.zeros((17, 20, 36, 3), np.uint8), 4)
    assert sizes == [17]


def _bins_arctan2(gx: np.ndarray, gy: np.ndarray, nori: int) -> np.ndarray:
    """The orientation bins from NumPy's float32 arctan2 (fastcf's formula before OpenCV)."""
    ori = np.arctan2(gy, gx)
    obin = (ori * np.float32(nori / (2 * math.pi)) + np.float32(nori + 0.5)).astype(np.intp)
    return obin % nori


def test_orientation_bins_equal_arctan2_bins_at_and_near_bin_boundaries() -> None:
    # OpenCV's phase is within 0.01 degrees of arctan2; pixels near a boundary (exact
    # boundaries such as 90 degrees = gx 0, and angles a few ulps either side) must still
    # land in arctan2's bin
    from fastcf.features.hog import _orientation_bins

    rng = np.random.default_rng(5)
    nori = 18
    edges = (np.arange(nori) + 0.5) * (2 * math.pi / nori)
    ang = np.concatenate(
        [
            rng.uniform(0, 2 * math.pi, 20000),
            edges,
            *(edges + d for d in (1e-7, -1e-7, 1e-5, -1e-5, 2e-4, -2e-4, 1e-3, -1e-3)),
        ]
    )
    mag = rng.uniform(0.5, 300, ang.size)
    gx = (mag * np.cos(ang)).astype(np.float32)
    gy = (mag * np.sin(ang)).astype(np.float32)
    # integer gradients as on uint8 images: many exact angles, 0 and 90 degrees included
    ix, iy = np.meshgrid(np.arange(-40, 41), np.arange(-40, 41))
    gx = np.concatenate([gx, ix.ravel().astype(np.float32) / 2]).reshape(1, 1, -1)
    gy = np.concatenate([gy, iy.ravel().astype(np.float32) / 2]).reshape(1, 1, -1)
    np.testing.assert_array_equal(_orientation_bins(gx, gy, nori), _bins_arctan2(gx, gy, nori))
    for n in (4, 9):  # other orientation counts
        np.testing.assert_array_equal(_orientation_bins(gx, gy, n), _bins_arctan2(gx, gy, n))


def test_fhog_on_real_frames_equals_the_arctan2_binning(monkeypatch: pytest.MonkeyPatch) -> None:
    # whole fHOG on real frames (colour, and grey), with the arctan2 binning swapped back in
    import cv2

    import fastcf.features.hog as hog
    from conftest import shared_path

    frames = sorted(shared_path("sequences").glob("*/img/0001.jpg"))[::3]
    assert frames
    images = []
    for path in frames:
        img = cv2.imread(str(path))
        images += [img[None, :200, :240], cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[None, :120, :150]]
    ours = [fhog(im, 4) for im in images]
    monkeypatch.setattr(hog, "_orientation_bins", _bins_arctan2)
    for im, got in zip(images, ours, strict=True):
        np.testing.assert_array_equal(got, fhog(im, 4))
