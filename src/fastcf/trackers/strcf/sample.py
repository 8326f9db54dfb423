"""Square-or-rectangular image patches around a point, resized to a fixed input size.

Like the reference ``get_pixels``: an integer pixel window of ``round(size)`` pixels is
cut around the centre (pixels outside the image replicate the border) and resized to
``out_size`` (area interpolation when shrinking, bilinear when enlarging). The window's
exact centre is returned so that displacements measured in the patch map back exactly.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from fastcf.features.crop import replicate_crop


def sample_patch(
    image: npt.NDArray[np.uint8],
    center: tuple[float, float],
    size: tuple[float, float],
    out_size: tuple[int, int],
) -> tuple[npt.NDArray[np.uint8], tuple[float, float]]:
    """Patch of ``size = (h, w)`` image pixels centred near ``center = (cy, cx)``
    (continuous 0-based coordinates), resized to ``out_size = (h, w)``.

    Returns the patch and the continuous centre ``(cy, cx)`` of the window actually cut.
    """
    sh = max(int(round(size[0])), 1)
    sw = max(int(round(size[1])), 1)
    y0 = int(round(center[0] - sh / 2))
    x0 = int(round(center[1] - sw / 2))
    crop: np.ndarray = replicate_crop(image, y0, x0, sh, sw)
    oh, ow = out_size
    if (sh, sw) != (oh, ow):
        interp = cv2.INTER_AREA if sh * sw > oh * ow else cv2.INTER_LINEAR
        crop = cv2.resize(crop, (ow, oh), interpolation=interp)
    return np.ascontiguousarray(crop, dtype=np.uint8), (y0 + sh / 2, x0 + sw / 2)
