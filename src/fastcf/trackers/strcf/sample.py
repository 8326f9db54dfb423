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
    ih, iw = image.shape[:2]
    sh = max(int(round(size[0])), 1)
    sw = max(int(round(size[1])), 1)
    y0 = int(round(center[0] - sh / 2))
    x0 = int(round(center[1] - sw / 2))
    crop: np.ndarray
    if y0 >= 0 and x0 >= 0 and y0 + sh <= ih and x0 + sw <= iw:
        crop = image[y0 : y0 + sh, x0 : x0 + sw]
    else:
        # clamp the window to the image (at least one pixel) and replicate the border
        ya, yb = min(max(y0, 0), ih - 1), max(min(y0 + sh, ih), 1)
        xa, xb = min(max(x0, 0), iw - 1), max(min(x0 + sw, iw), 1)
        ya, xa = min(ya, yb - 1), min(xa, xb - 1)
        inner = np.ascontiguousarray(image[ya:yb, xa:xb])
        top, left = ya - y0, xa - x0
        bottom, right = sh - top - (yb - ya), sw - left - (xb - xa)
        if min(top, left, bottom, right) < 0:  # window entirely outside the image
            ys = np.clip(np.arange(y0, y0 + sh), 0, ih - 1)
            xs = np.clip(np.arange(x0, x0 + sw), 0, iw - 1)
            crop = image[ys[:, None], xs[None, :]]
        else:
            crop = cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_REPLICATE)
    oh, ow = out_size
    if (sh, sw) != (oh, ow):
        interp = cv2.INTER_AREA if sh * sw > oh * ow else cv2.INTER_LINEAR
        crop = cv2.resize(np.ascontiguousarray(crop), (ow, oh), interpolation=interp)
    return np.ascontiguousarray(crop, dtype=np.uint8), (y0 + sh / 2, x0 + sw / 2)
