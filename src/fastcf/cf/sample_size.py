"""Working resolution of a CF tracker's search region (ECO's and STRCF's rule)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def resize_factor(
    target_sz: npt.ArrayLike, search_area_scale: float, min_area: float, max_area: float
) -> float:
    """Factor by which the image is downscaled so that the search region,
    ``target area * search_area_scale**2``, lies within ``[min_area, max_area]`` pixels
    (upscaled when the factor is < 1). 1.0 when it already does."""
    area = float(np.prod(np.asarray(target_sz, dtype=np.float64) * search_area_scale))
    if area > max_area:
        return math.sqrt(area / max_area)
    if area < min_area:
        return math.sqrt(area / min_area)
    return 1.0
