"""The embedded default input: a real-pixel clip the package can make offline.

It pans and zooms a virtual camera over matplotlib's sample photograph of Grace Hopper
(shipped with matplotlib, a dependency), so the face moves and changes scale in the
frame. The exact ground-truth box of the face follows from the camera motion, which
makes the demo a self-check as well as a demonstration.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from fastcf.api import Box, Frame, as_uint8
from fastcf.errors import FrameError

# The face in the 512x600 source photograph, 0-based (x, y, w, h).
FACE_BOX: Box = (180.0, 125.0, 160.0, 165.0)


def sample_image() -> Frame:
    """matplotlib's ``grace_hopper.jpg`` as uint8 BGR."""
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FrameError(f"{path}: matplotlib's sample image cannot be read")
    return as_uint8(image)


def demo_clip(
    num_frames: int = 150, size: tuple[int, int] = (640, 360)
) -> tuple[list[Frame], npt.NDArray[np.float64]]:
    """Frames and the face's ground-truth boxes (0-based xywh) of the demo clip."""
    image = sample_image()
    width, height = size
    fx, fy, fw, fh = FACE_BOX
    cx0, cy0 = fx + fw / 2, fy + fh / 2
    frames: list[Frame] = []
    boxes = np.zeros((num_frames, 4))
    for t in range(num_frames):
        phase = 2 * math.pi * t / max(num_frames - 1, 1)
        scale = 0.8 + 0.25 * math.sin(phase)  # zoom in and back out
        # where the face centre goes in the frame: a smooth Lissajous path
        u = width / 2 + 0.28 * width * math.sin(phase)
        v = height / 2 + 0.18 * height * math.sin(2 * phase)
        affine = np.array([[scale, 0.0, u - scale * cx0], [0.0, scale, v - scale * cy0]])
        frame = cv2.warpAffine(
            image, affine, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        frames.append(as_uint8(frame))
        boxes[t] = (u - scale * fw / 2, v - scale * fh / 2, scale * fw, scale * fh)
    return frames, boxes
