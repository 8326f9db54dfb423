"""Lookup-table features: ColorNames (``CNnorm.mat``) and intensity channels
(``intensityChannelNorm6.mat``), read from a user-supplied file.

The tables come from the GPL-3.0 ECO repository and are not shipped with fastcf.

* colour tables have ``32768 = 32**3`` rows, indexed (0-based) by
  ``R // 8 + 32 * (G // 8) + 1024 * (B // 8)`` -- RGB order, while fastcf patches are
  BGR, so channel 2 is R;
* gray tables have 256 rows, indexed by the gray level.

A colour table given a gray patch uses ``R = G = B = gray``; a gray table given a colour
patch uses the ``rgb2gray`` level (ITU-R 601 weights). Per-pixel values are averaged over
``cell_size`` boxes (``floor`` sizes, like ECO's ``average_feature_region``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from fastcf.errors import WeightsError
from fastcf.features.base import BlockSpec, as_patch_batch
from fastcf.features.gray import cell_mean, to_gray

COLOR_ROWS = 32768
GRAY_ROWS = 256


def load_table(path: str | Path, variable: str | None = None) -> npt.NDArray[np.float32]:
    """Read a ``(rows, D)`` lookup table from a MATLAB ``.mat`` (v5 or v7.3) or ``.npy``.

    ``variable`` names the MATLAB variable; by default the file's stem (``CNnorm``) or
    else its only 2-D numeric variable. Raises :class:`fastcf.errors.WeightsError` when
    the file is missing/unreadable or the table's shape is not ``(32768 | 256, D)``.
    """
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"lookup table {p}: file not found (give the path to e.g. CNnorm.mat)")
    try:
        if p.suffix.lower() == ".npy":
            table = np.load(p, allow_pickle=False)
        else:
            table = _load_mat_variable(p, variable)
    except WeightsError:
        raise
    except Exception as exc:  # scipy/h5py raise many types for corrupt files
        raise WeightsError(f"lookup table {p}: cannot read ({type(exc).__name__}: {exc})") from exc
    table = np.asarray(table)
    if table.ndim != 2 or table.shape[0] not in (COLOR_ROWS, GRAY_ROWS) or table.shape[1] < 1:
        raise WeightsError(
            f"lookup table {p}: expected shape ({COLOR_ROWS}, D) for a colour table or "
            f"({GRAY_ROWS}, D) for a gray table, got {table.shape}"
        )
    if not np.issubdtype(table.dtype, np.number):
        raise WeightsError(f"lookup table {p}: non-numeric dtype {table.dtype}")
    table = table.astype(np.float32)
    if not np.isfinite(table).all():
        raise WeightsError(f"lookup table {p}: contains NaN or infinite values")
    return np.ascontiguousarray(table)


def _load_mat_variable(p: Path, variable: str | None) -> np.ndarray:
    import scipy.io

    try:
        data = scipy.io.loadmat(p)
    except NotImplementedError:  # MATLAB v7.3 = HDF5
        import h5py

        with h5py.File(p, "r") as f:
            data = {k: np.asarray(f[k]).T for k in f.keys() if isinstance(f[k], h5py.Dataset)}
    arrays = {
        k: v
        for k, v in data.items()
        if not k.startswith("__")
        and isinstance(v, np.ndarray)
        and v.ndim == 2
        and np.issubdtype(v.dtype, np.number)
    }
    if variable is not None:
        if variable not in arrays:
            raise WeightsError(
                f"lookup table {p}: no numeric 2-D variable {variable!r}; "
                f"found {sorted(arrays) or 'none'}"
            )
        return arrays[variable]
    if p.stem in arrays:
        return arrays[p.stem]
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    raise WeightsError(
        f"lookup table {p}: cannot tell which variable is the table among {sorted(arrays)}; "
        "pass variable=..."
    )


def color_index(batch: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """0-based colour-table index of every pixel of a ``(N, H, W, 3)`` BGR batch."""
    b = (batch[..., 0] >> 3).astype(np.intp)
    g = (batch[..., 1] >> 3).astype(np.intp)
    r = (batch[..., 2] >> 3).astype(np.intp)
    return r + 32 * g + 1024 * b


class LookupTableFeature:
    """Per-pixel table lookup averaged over cells: ``(N, D, H // cell, W // cell)``."""

    def __init__(
        self,
        table: str | Path | npt.NDArray[np.floating],
        cell_size: int = 4,
        name: str = "table",
        variable: str | None = None,
    ) -> None:
        if cell_size < 1:
            raise ValueError(f"{name}: cell_size must be >= 1, got {cell_size}")
        if isinstance(table, np.ndarray):
            arr = np.asarray(table, dtype=np.float32)
            if arr.ndim != 2 or arr.shape[0] not in (COLOR_ROWS, GRAY_ROWS):
                raise WeightsError(
                    f"{name}: expected a ({COLOR_ROWS}, D) or ({GRAY_ROWS}, D) table, "
                    f"got {arr.shape}"
                )
            self.table = np.ascontiguousarray(arr)
            self.source = "<array>"
        else:
            self.table = load_table(table, variable)
            self.source = str(table)
        self.is_color = self.table.shape[0] == COLOR_ROWS
        self.cell_size = int(cell_size)
        self.blocks: tuple[BlockSpec, ...] = (
            BlockSpec(name, self.cell_size, int(self.table.shape[1])),
        )

    def extract(self, patches: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.float32]]:
        batch = as_patch_batch(patches, where=f"{self.blocks[0].name} patches")
        if self.is_color:
            if batch.ndim == 3:  # gray: R = G = B
                g = (batch >> 3).astype(np.intp)
                idx = g * (1 + 32 + 1024)
            else:
                idx = color_index(batch)
        else:
            idx = to_gray(batch).astype(np.intp)
        values = np.take(self.table, idx, axis=0)  # (N, H, W, D)
        cells = cell_mean(values, self.cell_size, (1, 2))  # average before transposing
        return [np.ascontiguousarray(cells.transpose(0, 3, 1, 2))]


def ColorNames(path: str | Path, cell_size: int = 4, name: str = "cn") -> LookupTableFeature:
    """ColorNames from ``CNnorm.mat`` (32768 x 10); raises if the table is not colour."""
    feat = LookupTableFeature(path, cell_size, name)
    if not feat.is_color:
        raise WeightsError(f"{path}: expected a {COLOR_ROWS}-row colour table for ColorNames")
    return feat


def IntensityChannels(path: str | Path, cell_size: int = 4, name: str = "ic") -> LookupTableFeature:
    """Intensity channels from ``intensityChannelNorm6.mat`` (256 x 5)."""
    feat = LookupTableFeature(path, cell_size, name)
    if feat.is_color:
        raise WeightsError(f"{path}: expected a {GRAY_ROWS}-row gray table for intensity channels")
    return feat
