"""The feature-extractor interface every tracker consumes.

An extractor turns a batch of image patches into one or more *blocks* of feature maps;
each block has its own stride (cell size) so that trackers such as ECO can work with
multi-resolution features. Patches are ``(N, H, W, 3)`` uint8 BGR (or ``(N, H, W)``
gray); each block comes back as ``(N, C, H // stride, W // stride)`` float32 arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class BlockSpec:
    name: str  # e.g. "hog", "cn", "norm1", "relu5"
    stride: int  # pixels of the patch per feature cell
    channels: int


class FeatureExtractor(Protocol):
    blocks: tuple[BlockSpec, ...]

    def extract(self, patches: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.float32]]:
        """One ``(N, C, h, w)`` float32 array per block, in ``blocks`` order."""
        ...


def as_patch_batch(patches: object, where: str = "patches") -> npt.NDArray[np.uint8]:
    """Validate a patch batch and return it as ``(N, H, W, 3)`` or ``(N, H, W)`` uint8.

    Accepted: ``(N, H, W, 3)`` BGR, ``(N, H, W, 1)`` or ``(N, H, W)`` gray, all uint8.
    Raises :class:`fastcf.errors.FrameError` naming the offending shape/dtype.
    """
    from fastcf.errors import FrameError

    if not isinstance(patches, np.ndarray):
        raise FrameError(f"{where}: expected a numpy array, got {type(patches).__name__}")
    if patches.dtype != np.uint8:
        raise FrameError(f"{where}: expected dtype uint8, got {patches.dtype}")
    if patches.ndim == 4 and patches.shape[3] == 1:
        patches = patches[..., 0]
    if not (patches.ndim == 3 or (patches.ndim == 4 and patches.shape[3] == 3)):
        raise FrameError(
            f"{where}: expected (N, H, W, 3) BGR or (N, H, W) gray patches, got shape "
            f"{patches.shape}"
        )
    if patches.shape[0] < 1:
        raise FrameError(f"{where}: empty batch (N=0)")
    return patches
