"""Felzenszwalb HOG ("fHOG"), the 31-channel variant of Piotr Dollar's toolbox used by ECO.

Pure NumPy, vectorised over chunks of the batch (see ``CHUNK_PIXELS``); no compile step.
The maths follows the toolbox's ``fhog`` (``gradientMex``) as documented in docs/features.md:

1. Gradients by central differences (one-sided at the image border, like ``np.gradient``)
   on every colour channel; per pixel, the channel with the largest magnitude wins.
2. Orientation in ``[0, 2*pi)`` is hard-assigned to the nearest of ``2 * num_orients``
   contrast-sensitive bins (bin ``k`` is centred on angle ``k * pi / num_orients``,
   x to the right, y down), magnitude scaled by ``1 / cell_size**2``.
3. Each pixel votes bilinearly into the 2x2 nearest cells, cell centres at
   ``(c + 0.5) * cell_size - 0.5``. Votes that fall outside the grid are dropped and the
   border cells are then scaled by 8/7, as in the toolbox. Pixels beyond
   ``floor(H / cell) * cell`` (bottom/right remainder) are ignored, so the output is
   ``floor(H / cell) x floor(W / cell)``.
4. Contrast-insensitive histograms ``R2 = R1[:n] + R1[n:]``; block energies over 2x2 cells
   give four normalisers per cell (edge-replicated at the grid border).
5. Channels: 18 sensitive (sum over the 4 normalisations of ``0.5 * min(h / norm, clip)``),
   9 insensitive (same), 4 texture (``0.2357 * sum_o min(h / norm, clip)`` per
   normalisation). The toolbox's 32nd "truncation" channel is identically zero; ECO drops
   it (``temp(:,:,1:end-1)``) and so do we unless ``keep_truncation=True``.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np
import numpy.typing as npt

from fastcf.features.base import BlockSpec, as_patch_batch

_TEXTURE_WEIGHT = 0.2357  # ~ 1 / sqrt(18), the toolbox constant

#: Images are processed in chunks of about this many pixels: small patches (ECO's 17
#: scale-filter samples) are vectorised over the batch, which removes the per-call NumPy
#: overhead (~5x faster for 17 patches of 20x36), while large ones go one at a time so that
#: the working arrays stay cache-resident (batching five 128x128 patches is ~1.5-2x slower
#: than one at a time). Measured single-threaded; see docs/profile.md.
CHUNK_PIXELS = 24576


def fhog_channels(num_orients: int = 9, keep_truncation: bool = False) -> int:
    """Number of fHOG channels: ``3 * num_orients + 4`` (+1 with the zero channel)."""
    return 3 * num_orients + 4 + (1 if keep_truncation else 0)


def _axis_weights(
    n0: int, ncell: int, cell: int
) -> tuple[
    npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float32], npt.NDArray[np.float32]
]:
    """Bilinear cell assignment along one axis for pixel positions ``0 .. n0-1``.

    Returns the two target cells (clamped to the grid) and their weights (zero when the
    target is outside the grid).
    """
    pos = (np.arange(n0, dtype=np.float64) + 0.5) / cell - 0.5
    c0 = np.floor(pos).astype(np.intp)
    d = pos - c0
    w0 = 1.0 - d
    w1 = d
    c1 = c0 + 1
    w0 = np.where((c0 >= 0) & (c0 < ncell), w0, 0.0)
    w1 = np.where((c1 >= 0) & (c1 < ncell), w1, 0.0)
    return (
        np.clip(c0, 0, ncell - 1),
        np.clip(c1, 0, ncell - 1),
        w0.astype(np.float32),
        w1.astype(np.float32),
    )


def _diff(a: np.ndarray, axis: int, n0: int) -> np.ndarray:
    """Central difference of ``a`` along ``axis`` for positions ``0 .. n0-1``.

    One-sided at the array ends (like ``np.gradient``); positions below ``n0`` that have a
    neighbour beyond ``n0`` still use it.
    """
    length = a.shape[axis]
    out_shape = list(a.shape)
    out_shape[axis] = n0
    out = np.empty(out_shape, np.float32)
    if length == 1:
        out[...] = 0.0
        return out

    def sl(start: int, stop: int) -> tuple[slice, ...]:
        idx = [slice(None)] * a.ndim
        idx[axis] = slice(start, stop)
        return tuple(idx)

    inner = min(n0, length - 1)  # positions that have a following neighbour
    np.subtract(a[sl(2, inner + 1)], a[sl(0, inner - 1)], out=out[sl(1, inner)])
    out[sl(1, inner)] *= np.float32(0.5)
    np.subtract(a[sl(1, 2)], a[sl(0, 1)], out=out[sl(0, 1)])
    if inner < n0:  # the array's last position lies inside the region: one-sided
        np.subtract(a[sl(n0 - 1, n0)], a[sl(n0 - 2, n0 - 1)], out=out[sl(n0 - 1, n0)])
    return out


@functools.lru_cache(maxsize=32)
def _voting_pattern(
    h0: int, w0: int, cell: int
) -> tuple[tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]], ...]:
    """For each of the 4 (row, column) neighbour combinations: the target cell index
    ``cy * wb + cx`` and the bilinear weight of every pixel of the ``h0 x w0`` region."""
    hb, wb = h0 // cell, w0 // cell
    cy0, cy1, wy0, wy1 = _axis_weights(h0, hb, cell)
    cx0, cx1, wx0, wx1 = _axis_weights(w0, wb, cell)
    out = []
    for cy, wy in ((cy0, wy0), (cy1, wy1)):
        for cx, wx in ((cx0, wx0), (cx1, wx1)):
            idx = np.ascontiguousarray(cy[:, None] * wb + cx[None, :])
            wgt = np.ascontiguousarray(wy[:, None] * wx[None, :], dtype=np.float32)
            idx.flags.writeable = False
            wgt.flags.writeable = False
            out.append((idx, wgt))
    return tuple(out)


def _gradient(img: npt.NDArray[np.float32], h0: int, w0: int) -> tuple[np.ndarray, np.ndarray]:
    """Gradient ``(gx, gy)`` on the ``h0 x w0`` top-left region.

    ``img`` is ``(N, C, H, W)`` float32; differences use the full image so the region's
    last row/column still gets a central difference when the image extends beyond it.
    The colour channel with the largest gradient magnitude wins per pixel.
    """
    gx = gy = mag2 = None
    for c in range(img.shape[1]):
        ch = img[:, c]
        cx = _diff(ch[:, :h0], 2, w0)
        cy = _diff(ch[:, :, :w0], 1, h0)
        m2 = cx * cx + cy * cy
        if mag2 is None:
            gx, gy, mag2 = cx, cy, m2
        else:
            # branch-free selection (boolean-mask writes are ~10x slower on random masks)
            better = (m2 > mag2).astype(np.float32)
            gx += better * (cx - gx)
            gy += better * (cy - gy)
            mag2 = np.maximum(mag2, m2)
    assert gx is not None and gy is not None
    return gx, gy


#: Orientations whose bin position (in bins) lies within this distance of a bin boundary
#: are recomputed with NumPy's ``arctan2``: OpenCV's ``phase`` is within 0.01 degrees
#: (5e-4 bins of 20 degrees) of it, so every other pixel is binned identically.
_BIN_MARGIN = 4e-3


def _orientation_bins(gx: np.ndarray, gy: np.ndarray, nori: int) -> npt.NDArray[np.intp]:
    """Nearest of ``nori`` orientation bins on ``[0, 2pi)`` for every pixel:
    ``int(O * nori / 2pi + 0.5) mod nori``, computed as ``int(ori * nori / 2pi + nori + 0.5)
    mod nori`` with ``ori = arctan2(gy, gx)`` in float32 (``ori + 2pi > 0`` always).

    The angle comes from ``cv2.phase`` (~35x faster than ``np.arctan2`` here, error
    <= 0.01 degrees); pixels within ``_BIN_MARGIN`` bins of a boundary take the exact
    ``np.arctan2`` formula, so the bins equal those of ``np.arctan2`` everywhere (tested).
    """
    shape = gx.shape
    fx = np.ascontiguousarray(gx).reshape(-1, shape[-1])
    fy = np.ascontiguousarray(gy).reshape(-1, shape[-1])
    pos = np.asarray(cv2.phase(fx, fy), dtype=np.float32).reshape(shape)
    pos *= np.float32(nori / (2 * math.pi))
    pos += np.float32(0.5)
    obin = pos.astype(np.intp)
    frac = pos - obin
    near = np.flatnonzero((frac < _BIN_MARGIN) | (frac > 1 - _BIN_MARGIN))
    if near.size:
        ori = np.arctan2(gy.ravel()[near], gx.ravel()[near])
        exact = (ori * np.float32(nori / (2 * math.pi)) + np.float32(nori + 0.5)).astype(np.intp)
        obin.ravel()[near] = exact
    obin %= nori
    return obin


def fhog(
    images: npt.NDArray[np.generic],
    cell_size: int = 4,
    num_orients: int = 9,
    clip: float = 0.2,
    keep_truncation: bool = False,
) -> npt.NDArray[np.float32]:
    """fHOG of a batch ``(N, H, W)`` or ``(N, H, W, C)`` (any real dtype, 0..255 scale).

    Returns ``(N, 3 * num_orients + 4, H // cell_size, W // cell_size)`` float32
    (one more, all-zero, channel with ``keep_truncation``).
    """
    if cell_size < 1 or num_orients < 1:
        raise ValueError(
            f"fhog: cell_size and num_orients must be >= 1, got {cell_size}, {num_orients}"
        )
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4:
        raise ValueError(f"fhog: expected (N, H, W[, C]) images, got shape {np.shape(images)}")
    n = arr.shape[0]
    per_chunk = max(1, CHUNK_PIXELS // max(1, arr.shape[1] * arr.shape[2]))
    if n <= per_chunk:
        return _fhog_batch(arr, cell_size, num_orients, clip, keep_truncation)
    num_chunks = -(-n // per_chunk)
    bounds = [round(i * n / num_chunks) for i in range(num_chunks + 1)]  # balanced chunks
    parts = [
        _fhog_batch(arr[a:b], cell_size, num_orients, clip, keep_truncation)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return np.concatenate(parts, axis=0)


def _fhog_batch(
    arr: npt.NDArray[np.generic],
    cell_size: int,
    num_orients: int,
    clip: float,
    keep_truncation: bool,
) -> npt.NDArray[np.float32]:
    """fHOG of ``(N, H, W, C)`` images, vectorised over the whole batch."""
    img = np.ascontiguousarray(arr.transpose(0, 3, 1, 2), dtype=np.float32)
    n, _, height, width = img.shape
    hb, wb = height // cell_size, width // cell_size
    if hb < 1 or wb < 1:
        raise ValueError(
            f"fhog: a {width}x{height} patch is smaller than one {cell_size}x{cell_size} cell"
        )
    h0, w0 = hb * cell_size, wb * cell_size
    nori = 2 * num_orients
    gx, gy = _gradient(img, h0, w0)
    mag = np.sqrt(gx * gx + gy * gy)
    mag *= np.float32(1.0 / (cell_size * cell_size))
    obin = _orientation_bins(gx, gy, nori)

    # Bilinear spatial voting with hard orientation: 4 weighted bincounts.
    base = obin
    base *= hb * wb
    if n > 1:
        base += (np.arange(n, dtype=np.intp) * (nori * hb * wb))[:, None, None]
    size = n * nori * hb * wb
    hist = np.zeros(size, np.float64)
    idx = np.empty_like(base)
    wgt = np.empty_like(mag)
    for cell_idx, cell_w in _voting_pattern(h0, w0, cell_size):
        np.add(base, cell_idx, out=idx)
        np.multiply(mag, cell_w, out=wgt)
        hist += np.bincount(idx.ravel(), wgt.ravel(), size)
    r1 = hist.astype(np.float32).reshape(n, nori, hb, wb)
    # The toolbox scales the border cells by 8/7 (they get 7/8 of an interior cell's vote
    # mass for cell 4): first column, first row, last column, last row in that order, so
    # corners get (8/7)^2 and a single row/column is scaled twice.
    border = np.float32(8.0 / 7.0)
    r1[..., :, 0] *= border
    r1[..., 0, :] *= border
    r1[..., :, wb - 1] *= border
    r1[..., hb - 1, :] *= border
    r2 = r1[:, :num_orients] + r1[:, num_orients:]

    # Block normalisers: energies of 2x2 blocks, edge-replicated to (hb+1, wb+1).
    energy = np.einsum("nohw,nohw->nhw", r2, r2)
    if hb < 2 or wb < 2:  # fewer than 2 cells: replicate so one block exists
        energy = np.pad(energy, ((0, 0), (0, int(hb < 2)), (0, int(wb < 2))), mode="edge")
    eps = np.float32(1e-4 / 4 / cell_size**4)
    blocks = energy[:, :-1, :-1] + energy[:, 1:, :-1] + energy[:, :-1, 1:] + energy[:, 1:, 1:]
    inv = 1.0 / np.sqrt(blocks + eps)
    inv = np.pad(inv, ((0, 0), (1, 1), (1, 1)), mode="edge")[:, : hb + 1, : wb + 1]
    norms = (
        inv[:, 1 : hb + 1, 1 : wb + 1],
        inv[:, 0:hb, 1 : wb + 1],
        inv[:, 1 : hb + 1, 0:wb],
        inv[:, 0:hb, 0:wb],
    )
    nch = fhog_channels(num_orients, keep_truncation)
    out = np.zeros((n, nch, hb, wb), np.float32)
    sens = out[:, :nori]
    insens = out[:, nori : nori + num_orients]
    cval = np.float32(clip)
    t1 = np.empty_like(r1)
    t2 = np.empty_like(r2)
    for k, nk in enumerate(norms):
        np.multiply(r1, nk[:, None], out=t1)
        np.minimum(t1, cval, out=t1)
        sens += t1
        np.multiply(r2, nk[:, None], out=t2)
        np.minimum(t2, cval, out=t2)
        insens += t2
        np.sum(t1, axis=1, out=out[:, nori + num_orients + k])
    out[:, : nori + num_orients] *= np.float32(0.5)
    out[:, nori + num_orients : nori + num_orients + 4] *= np.float32(_TEXTURE_WEIGHT)
    return out


class FHOG:
    """fHOG feature extractor (one block named ``name`` with stride ``cell_size``).

    Patches: ``(N, H, W, 3)`` uint8 BGR or ``(N, H, W)`` gray. Output per block:
    ``(N, 31, H // cell_size, W // cell_size)`` float32 (32 with ``keep_truncation``).
    """

    def __init__(
        self,
        cell_size: int = 4,
        num_orients: int = 9,
        clip: float = 0.2,
        keep_truncation: bool = False,
        name: str = "hog",
    ) -> None:
        if cell_size < 1:
            raise ValueError(f"FHOG: cell_size must be >= 1, got {cell_size}")
        if num_orients < 1:
            raise ValueError(f"FHOG: num_orients must be >= 1, got {num_orients}")
        if not clip > 0:
            raise ValueError(f"FHOG: clip must be > 0, got {clip}")
        self.cell_size = int(cell_size)
        self.num_orients = int(num_orients)
        self.clip = float(clip)
        self.keep_truncation = bool(keep_truncation)
        self.blocks: tuple[BlockSpec, ...] = (
            BlockSpec(name, self.cell_size, fhog_channels(self.num_orients, keep_truncation)),
        )

    def extract(self, patches: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.float32]]:
        batch = as_patch_batch(patches, where=f"{self.blocks[0].name} patches")
        return [fhog(batch, self.cell_size, self.num_orients, self.clip, self.keep_truncation)]
