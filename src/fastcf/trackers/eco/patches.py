"""Image patch sampling with replicate padding (ECO's ``sample_patch``)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from fastcf.features.crop import replicate_crop


def matlab_round(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Round halves up, i.e. MATLAB's ``round`` on the reference's 1-based (positive)
    coordinates and sizes; NumPy's ``round`` sends halves to the even neighbour."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5)


def sample_patch(
    image: npt.NDArray[np.uint8],
    pos: npt.ArrayLike,
    sample_sz: npt.ArrayLike,
    output_sz: tuple[int, int],
) -> npt.NDArray[np.uint8]:
    """Crop ``sample_sz = (h, w)`` pixels centred on ``pos = (row, col)`` (0-based pixel
    indices) and resize to ``output_sz = (h, w)``.

    Pixels outside the image repeat the border. Large shrink factors first subsample the
    image by an integer stride (``df = floor(resize_factor - 0.1)``) as the reference does,
    then resize bilinearly without antialiasing (``imresize(.., 'bilinear',
    'Antialiasing', false)`` in the reference).
    """
    p = np.floor(np.asarray(pos, dtype=np.float64)).astype(np.int64)
    sz = np.asarray(sample_sz, dtype=np.float64)
    out_h, out_w = int(output_sz[0]), int(output_sz[1])
    resize_factor = min(sz[0] / out_h, sz[1] / out_w)
    df = max(int(np.floor(resize_factor - 0.1)), 1)
    img = image
    if df > 1:
        os_ = p % df
        p = (p - os_) // df
        sz = sz / df
        img = image[os_[0] :: df, os_[1] :: df]
    sz_i = np.maximum(matlab_round(sz), 2).astype(np.int64)
    y0 = int(p[0]) + 1 - (int(sz_i[0]) + 1) // 2
    x0 = int(p[1]) + 1 - (int(sz_i[1]) + 1) // 2
    patch = replicate_crop(img, y0, x0, int(sz_i[0]), int(sz_i[1]))
    if patch.shape[0] == out_h and patch.shape[1] == out_w:
        return patch
    out = cv2.resize(patch, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    return np.asarray(out, dtype=np.uint8)


def sample_scale_patches(
    image: npt.NDArray[np.uint8],
    pos: npt.ArrayLike,
    base_sz: npt.ArrayLike,
    scales: npt.ArrayLike,
    model_sz: tuple[int, int],
) -> npt.NDArray[np.uint8]:
    """The scale filter's patches (ECO's ``extract_scale_sample``): for each scale a
    ``floor(base_sz * scale)`` crop around ``pos`` (replicate border), resized to
    ``model_sz`` (area interpolation when shrinking, as ``mexResize 'auto'``). The image
    is first subsampled by ``floor(min(scales))`` when that exceeds 1."""
    s = np.asarray(scales, dtype=np.float64)
    p = np.asarray(pos, dtype=np.float64)
    img = image
    df = int(np.floor(s.min()))
    if df > 1:
        img = image[::df, ::df]
        p = p / df
        s = s / df
    h_img, w_img = img.shape[:2]
    out_h, out_w = int(model_sz[0]), int(model_sz[1])
    base = np.asarray(base_sz, dtype=np.float64)
    cy, cx = int(np.floor(p[0])), int(np.floor(p[1]))
    sizes = np.maximum(np.floor(base[None, :] * s[:, None]), 1).astype(np.int64)
    # The crops are concentric (rows cy + 1 - ph // 2 .. cy + ph - ph // 2), so each one
    # is a view of the largest crop, cut once with the border replicated; the pixels are
    # those of clipping every index into the image.
    big_h, big_w = (int(v) for v in sizes.max(axis=0))
    top, left = cy + 1 - big_h // 2, cx + 1 - big_w // 2
    region = replicate_crop(img, top, left, big_h, big_w)
    out = np.empty((len(s), out_h, out_w, *img.shape[2:]), np.uint8)
    for i, (ph, pw) in enumerate(sizes):
        y = cy + 1 - int(ph) // 2 - top
        x = cx + 1 - int(pw) // 2 - left
        patch = region[y : y + int(ph), x : x + int(pw)]
        shrink = ph > out_h or pw > out_w
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        out[i] = cv2.resize(patch, (out_w, out_h), interpolation=interp)
    return out
