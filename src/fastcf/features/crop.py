"""Image windows with the border replicated: the crop every tracker's patch sampling starts
from (ECO's ``sample_patch`` and scale samples, STRCF's ``get_pixels``)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt


def replicate_crop(
    img: npt.NDArray[np.uint8], top: int, left: int, height: int, width: int
) -> npt.NDArray[np.uint8]:
    """``img[top : top + height, left : left + width]`` (rows x columns, any ``top`` /
    ``left``, ``height, width >= 1``) with every index clipped into the image, i.e. the
    border replicated, as one contiguous array of ``img``'s dtype (a view of ``img`` when
    the window is inside and already contiguous). Padding is ``cv2.copyMakeBorder``
    (a window entirely outside the image repeats the nearest pixels by clipped indices)."""
    h_img, w_img = img.shape[:2]
    y0, y1 = max(top, 0), min(top + height, h_img)
    x0, x1 = max(left, 0), min(left + width, w_img)
    if y0 >= y1 or x0 >= x1:  # entirely outside: fall back to clipped indices
        ys = np.clip(np.arange(top, top + height), 0, h_img - 1)
        xs = np.clip(np.arange(left, left + width), 0, w_img - 1)
        return np.ascontiguousarray(img[ys[:, None], xs[None, :]])
    inner = np.ascontiguousarray(img[y0:y1, x0:x1])
    pads = (y0 - top, top + height - y1, x0 - left, left + width - x1)
    if not any(pads):
        return inner
    padded = cv2.copyMakeBorder(inner, *pads, borderType=cv2.BORDER_REPLICATE)
    return np.asarray(padded, dtype=img.dtype)
