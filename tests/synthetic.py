"""Synthetic clips the tests make themselves: a textured object moving over a textured
background, with exact ground truth (0-based x, y, w, h)."""

from __future__ import annotations

import cv2
import numpy as np


def texture(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth random colour texture ``(h, w, 3)`` uint8."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(h // 4, 2), max(w // 4, 2), 3)).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def moving_object_clip(n: int = 40, scale_end: float = 1.25) -> tuple[list[np.ndarray], np.ndarray]:
    """A textured 36x28 object moving ~3 px/frame and growing to ``scale_end`` on a textured
    320x240 background. Returns the frames and the boxes ``(n, 4)``."""
    bg = (texture(240, 320, 1) // 2 + 60).astype(np.uint8)
    obj = texture(36, 28, 2)
    frames, boxes = [], []
    for i in range(n):
        s = 1.0 + (scale_end - 1.0) * i / max(n - 1, 1)
        h, w = 36 * s, 28 * s
        cx, cy = 100 + 3.0 * i, 110 + 1.5 * i
        frame = bg.copy()
        patch = cv2.resize(obj, (round(w), round(h)), interpolation=cv2.INTER_LINEAR)
        y0, x0 = round(cy - patch.shape[0] / 2), round(cx - patch.shape[1] / 2)
        frame[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]] = patch
        frames.append(frame)
        boxes.append((x0, y0, patch.shape[1], patch.shape[0]))
    return frames, np.array(boxes, dtype=np.float64)
