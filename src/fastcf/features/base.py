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
