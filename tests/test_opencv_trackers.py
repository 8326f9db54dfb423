from __future__ import annotations

import cv2
import numpy as np
import pytest

import fastcf
from fastcf.metrics import iou as box_iou


def _moving_square(n: int = 30, gray: bool = False):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    texture = cv2.GaussianBlur(noise, (5, 5), 1.5)  # natural-image-like, not i.i.d. noise
    frames, boxes = [], []
    for t in range(n):
        img = np.full((120, 160, 3), 90, np.uint8)
        x, y = 30 + 2 * t, 40 + t
        img[y : y + 40, x : x + 40] = texture
        frames.append(img[:, :, 1].copy() if gray else img)
        boxes.append((x, y, 40, 40))
    return frames, np.array(boxes, float)


@pytest.mark.parametrize("name", ["opencv-csrt", "opencv-kcf", "opencv-mosse"])
@pytest.mark.parametrize("gray", [False, True])
def test_opencv_trackers_follow_a_moving_square(name, gray):
    frames, gt = _moving_square(gray=gray)
    tracker = fastcf.create(name)
    tracker.init(frames[0], gt[0])
    out = [gt[0]]
    for f in frames[1:]:
        ok, box, score = tracker.update(f)
        out.append(box)
    iou = box_iou(np.array(out), gt)
    assert iou.mean() > 0.6, (name, iou)
