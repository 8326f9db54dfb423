"""Drawing tracking results on frames and writing them to an MP4 file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fastcf.api import Box, Frame, as_uint8
from fastcf.errors import FrameError

GREEN = (0, 200, 0)
RED = (0, 0, 230)


def draw_result(frame: Frame, box: Box, ok: bool, score: float, fps: float | None) -> Frame:
    """A copy of ``frame`` with the box (green when ok, red when lost), score and FPS."""
    out = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame.copy()
    x, y, w, h = box
    color = GREEN if ok else RED
    cv2.rectangle(
        out, (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h))), color, 2
    )
    label = f"score {score:.2f}" + ("" if ok else " LOST")
    if fps is not None:
        label += f"  {fps:.0f} FPS"
    font, size = cv2.FONT_HERSHEY_SIMPLEX, 0.6
    (tw, th), base = cv2.getTextSize(label, font, size, 1)
    cv2.rectangle(out, (4, 4), (12 + tw, 12 + th + base), (0, 0, 0), -1)
    cv2.putText(out, label, (8, 8 + th), font, size, color, 1, cv2.LINE_AA)
    return as_uint8(out)


class VideoSink:
    """MP4 writer that opens on the first frame (size taken from it)."""

    def __init__(self, path: str | Path, fps: float = 25.0) -> None:
        self.path = Path(path)
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None

    def write(self, frame: Frame) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = frame.shape[:2]
            fourcc = cv2.VideoWriter.fourcc(*"mp4v")
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (w, h))
            if not self._writer.isOpened():
                raise FrameError(f"{self.path}: OpenCV cannot open an MP4 writer here")
        self._writer.write(np.ascontiguousarray(frame))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
