"""Grayscale feature (ECO/STRCF ``get_colorspace('gray')``) and cell averaging."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from fastcf.features.base import BlockSpec, as_patch_batch


def cell_mean(
    x: npt.NDArray[np.floating], cell: int, axes: tuple[int, int] = (2, 3)
) -> npt.NDArray[np.float32]:
    """Mean over non-overlapping ``cell x cell`` boxes along ``axes`` (floor sizes).

    Box ``(i, j)`` covers indices ``[i*cell, (i+1)*cell) x [j*cell, (j+1)*cell)``; the
    remainder at the end of each axis is dropped (ECO's ``average_feature_region``).
    Computed as ``cell`` strided slice sums per axis, which is much faster than a
    reshape-and-mean over a 6-D view.
    """
    x = np.asarray(x, dtype=np.float32)
    if cell < 1:
        raise ValueError(f"cell_mean: cell must be >= 1, got {cell}")
    if cell == 1:
        return x
    ah, aw = (a % x.ndim for a in axes)
    h, w = x.shape[ah], x.shape[aw]
    hb, wb = h // cell, w // cell
    if hb < 1 or wb < 1:
        raise ValueError(f"cell_mean: a {w}x{h} map is smaller than one {cell}x{cell} cell")
    for axis, nb in ((ah, hb), (aw, wb)):
        total = None
        for k in range(cell):
            idx: list[slice] = [slice(None)] * x.ndim
            idx[axis] = slice(k, k + nb * cell, cell)
            part = x[tuple(idx)]
            total = part.copy() if total is None else np.add(total, part, out=total)
        assert total is not None
        x = total
    x *= np.float32(1.0 / (cell * cell))
    return x


def average_cells(maps: npt.NDArray[np.floating], cell: int) -> npt.NDArray[np.float32]:
    """Mean over non-overlapping ``cell x cell`` boxes of ``(N, C, H, W)`` maps.

    Output ``(N, C, H // cell, W // cell)``: the bottom/right remainder is dropped, as in
    ECO's ``average_feature_region`` (box ``(i, j)`` covers pixels
    ``[i*cell, (i+1)*cell) x [j*cell, (j+1)*cell)``).
    """
    x = np.asarray(maps, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"average_cells: expected (N, C, H, W), got shape {x.shape}")
    return cell_mean(x, cell, (2, 3))


def to_gray(batch: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``(N, H, W, 3)`` BGR -> ``(N, H, W)`` gray (ITU-R 601 weights, rounded like
    MATLAB's ``rgb2gray``); gray batches pass through."""
    if batch.ndim == 3:
        return batch
    n, h, w, _ = batch.shape
    flat = np.ascontiguousarray(batch).reshape(n * h, w, 3)
    gray = cv2.cvtColor(flat, cv2.COLOR_BGR2GRAY).reshape(n, h, w)
    return np.asarray(gray, dtype=np.uint8)


class Gray:
    """One channel: ``gray / 255 - 0.5`` averaged over ``cell_size`` boxes.

    Output ``(N, 1, H // cell_size, W // cell_size)`` float32 in ``[-0.5, 0.5]``.
    """

    def __init__(self, cell_size: int = 1, name: str = "gray") -> None:
        if cell_size < 1:
            raise ValueError(f"Gray: cell_size must be >= 1, got {cell_size}")
        self.cell_size = int(cell_size)
        self.blocks: tuple[BlockSpec, ...] = (BlockSpec(name, self.cell_size, 1),)

    def extract(self, patches: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.float32]]:
        batch = as_patch_batch(patches, where=f"{self.blocks[0].name} patches")
        gray = to_gray(batch).astype(np.float32)[:, None]
        gray *= np.float32(1.0 / 255.0)
        gray -= np.float32(0.5)
        return [average_cells(gray, self.cell_size)]
