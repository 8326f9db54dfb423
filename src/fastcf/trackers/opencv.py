"""Adapters for OpenCV's CSRT, KCF and MOSSE trackers, for side-by-side comparisons.

OpenCV exposes no confidence for these trackers: ``score`` is 1.0 when OpenCV reports
success and 0.0 when it reports failure (then the last box is returned with ``ok=False``).
OpenCV works on integer rectangles; boxes are rounded on the way in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2

from fastcf.api import Box, Frame, TrackResult, as_uint8
from fastcf.errors import ConfigError
from fastcf.trackers.base import BaseTracker, TrackerSettings

_KINDS = ("csrt", "kcf", "mosse")


@dataclass(frozen=True)
class OpenCVConfig(TrackerSettings):
    kind: str = "csrt"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind not in _KINDS:
            raise ConfigError(f"OpenCVConfig.kind must be one of {_KINDS}, got {self.kind!r}")


def csrt() -> OpenCVConfig:
    return OpenCVConfig("csrt")


def kcf() -> OpenCVConfig:
    return OpenCVConfig("kcf")


def mosse() -> OpenCVConfig:
    return OpenCVConfig("mosse")


def _make(kind: str) -> Any:
    legacy = getattr(cv2, "legacy", None)
    if kind == "csrt" and hasattr(cv2, "TrackerCSRT_create"):
        return cv2.TrackerCSRT_create()
    if kind == "kcf" and hasattr(cv2, "TrackerKCF_create"):
        return cv2.TrackerKCF_create()
    name = {
        "csrt": "TrackerCSRT_create",
        "kcf": "TrackerKCF_create",
        "mosse": "TrackerMOSSE_create",
    }
    if legacy is not None and hasattr(legacy, name[kind]):
        return getattr(legacy, name[kind])()
    raise ConfigError(
        f"this OpenCV build ({cv2.__version__}) has no {kind.upper()} tracker; "
        "install opencv-contrib-python-headless"
    )


class OpenCVTracker(BaseTracker):
    name = "opencv"

    def __init__(self, config: OpenCVConfig) -> None:
        super().__init__(config)
        self._impl: Any = None

    def _init(self, frame: Frame, box: Box) -> None:
        self._impl = _make(self.config.kind)
        if frame.ndim == 2:
            frame = as_uint8(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
        x, y, w, h = box
        rect = (int(round(x)), int(round(y)), max(1, int(round(w))), max(1, int(round(h))))
        self._impl.init(frame, rect)

    def _update(self, frame: Frame) -> TrackResult:
        if frame.ndim == 2:
            frame = as_uint8(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
        ok, rect = self._impl.update(frame)
        if not ok:
            assert self._last_box is not None
            return TrackResult(False, self._last_box, 0.0)
        x, y, w, h = (float(v) for v in rect)
        return TrackResult(True, (x, y, w, h), 1.0)
