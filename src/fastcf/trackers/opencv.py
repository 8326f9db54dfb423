"""Adapters for OpenCV's CSRT, KCF and MOSSE trackers, for side-by-side comparisons, and
the box checks every OpenCV adapter shares (NanoTrack and VitTrack:
:mod:`fastcf.trackers.opencv_dnn`).

Box checks, so that OpenCV never sees a box it cannot handle and never hands back an
impossible box as a success:

* **In.** OpenCV works on integer rectangles: the init box is rounded (``x, y, w, h``
  each to the nearest integer). The rounded box must be at least :data:`MIN_SIDE` px
  wide and high, and so must its part inside the image; otherwise
  :class:`~fastcf.errors.InvalidBoxError` names the tracker, the box, frame 0 and the
  image size. An error OpenCV still raises in ``init`` (``cv2.error``; e.g. CSRT refuses
  very elongated boxes such as 500x10 px) becomes an ``InvalidBoxError`` with the same
  names and OpenCV's own message; one raised in ``update`` becomes a
  :class:`~fastcf.errors.TrackerError` naming the frame and the last box.
* **Out.** A box OpenCV reports as found is accepted only if it is finite, at least 1 px
  wide and high, its centre lies inside the image (a target may be partly outside, but
  not mostly; :func:`box_problem`), and the region around it is not featureless (twice
  the box, every channel's standard deviation below 1 grey level, e.g. a black frame;
  :func:`featureless`). Otherwise the adapter reports ``ok=False``, ``score=0.0`` at the
  last accepted box, as it does when OpenCV itself reports failure.

``score``: CSRT, KCF and MOSSE expose no confidence, so it is 1.0 when OpenCV reports
success and the box passes the checks, else 0.0.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import cv2

from fastcf.api import Box, Frame, TrackResult, as_uint8, frame_size
from fastcf.errors import ConfigError, InvalidBoxError, TrackerError
from fastcf.trackers.base import BaseTracker, TrackerSettings

_KINDS = ("csrt", "kcf", "mosse")

#: smallest width/height (px) of an init box, and of its part inside the image, that the
#: OpenCV adapters pass to OpenCV (MOSSE asserts > 1 px; CSRT fails on 1 px boxes)
MIN_SIDE = 2


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


def format_box(box: Any) -> str:
    """``(x, y, w, h)`` with compact numbers, for error messages."""
    return "(" + ", ".join(f"{float(v):g}" for v in box) + ")"


def cv_message(exc: BaseException) -> str:
    """OpenCV's error text on one line, without the source path (``(-215:Assertion
    failed) ... in function 'resize'``)."""
    text = str(exc)
    _, sep, rest = text.partition("error: ")
    return " ".join((rest if sep else text).split())


def opencv_rect(box: Box, image_size: tuple[int, int], tracker: str) -> tuple[int, int, int, int]:
    """The integer rectangle OpenCV gets for a validated init ``box`` (0-based ``x, y, w,
    h``; ``image_size`` = ``(width, height)``). Raises InvalidBoxError when the rounded box,
    or its part inside the image, is smaller than :data:`MIN_SIDE` px on a side."""
    x, y, w, h = box
    rect = (int(round(x)), int(round(y)), int(round(w)), int(round(h)))
    rx, ry, rw, rh = rect
    width, height = image_size
    if rw < MIN_SIDE or rh < MIN_SIDE:
        raise InvalidBoxError(
            f"{tracker}: init box {format_box(box)} in frame 0 is {rw}x{rh} px after rounding "
            f"to integer pixels; OpenCV's trackers need at least {MIN_SIDE}x{MIN_SIDE} px"
        )
    inside_w = min(width, rx + rw) - max(0, rx)
    inside_h = min(height, ry + rh) - max(0, ry)
    if inside_w < MIN_SIDE or inside_h < MIN_SIDE:
        raise InvalidBoxError(
            f"{tracker}: only {max(inside_w, 0)}x{max(inside_h, 0)} px of init box "
            f"{format_box(box)} (integer rect {rect}) lie inside the {width}x{height} image "
            f"of frame 0; OpenCV's trackers need at least {MIN_SIDE}x{MIN_SIDE} px inside"
        )
    return rect


def featureless(frame: Frame, box: Box, context: float = 2.0, min_std: float = 1.0) -> bool:
    """Whether the region around ``box`` (the box scaled by ``context`` about its centre,
    clipped to the image) is featureless: every channel's standard deviation is below
    ``min_std`` grey levels (e.g. a black or blank frame), so a tracker cannot have found
    anything there. A region entirely outside the image counts as featureless."""
    height, width = frame.shape[:2]
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    half_w, half_h = context * w / 2, context * h / 2
    x0, x1 = max(0, int(math.floor(cx - half_w))), min(width, int(math.ceil(cx + half_w)))
    y0, y1 = max(0, int(math.floor(cy - half_h))), min(height, int(math.ceil(cy + half_h)))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return True
    _, std = cv2.meanStdDev(frame[y0:y1, x0:x1])
    return bool((std < min_std).all())


def box_problem(box: Box, image_size: tuple[int, int]) -> str | None:
    """Why an output ``box`` cannot be reported as found (None when it can): not finite,
    narrower or lower than 1 px, or its centre outside the ``(width, height)`` image."""
    x, y, w, h = box
    if not all(math.isfinite(v) for v in box):
        return "not finite"
    if w < 1 or h < 1:
        return f"degenerate ({w:g}x{h:g} px)"
    width, height = image_size
    cx, cy = x + w / 2, y + h / 2
    if not (0 <= cx <= width and 0 <= cy <= height):
        return f"centre ({cx:g}, {cy:g}) outside the {width}x{height} image"
    return None


class OpenCVAdapter(BaseTracker):
    """Base of the OpenCV adapters: the box checks of this module around an OpenCV tracker
    object. Subclasses implement :meth:`_create` and may override :meth:`_prepare` (the
    frame OpenCV sees) and :meth:`_score` (the confidence after an ``update``)."""

    name = "opencv"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._impl: Any = None

    @abstractmethod
    def _create(self) -> Any:
        """A fresh OpenCV tracker object (``init(frame, rect)``, ``update(frame)``)."""

    def _prepare(self, frame: Frame) -> Frame:
        """The frame OpenCV gets: BGR (gray frames are expanded to three channels)."""
        if frame.ndim == 2:
            return as_uint8(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
        return frame

    def _score(self, ok: bool) -> float:
        """Confidence of the last ``update``: 1.0 / 0.0 from OpenCV's return value."""
        return 1.0 if ok else 0.0

    def _init(self, frame: Frame, box: Box) -> None:
        size = frame_size(frame)
        rect = opencv_rect(box, size, self.name)
        impl = self._create()
        try:
            impl.init(self._prepare(frame), rect)
        except cv2.error as exc:
            raise InvalidBoxError(
                f"{self.name}: OpenCV cannot start on init box {format_box(box)} (integer rect "
                f"{rect}) in the {size[0]}x{size[1]} image of frame 0{self._hint(rect, size)}: "
                f"{cv_message(exc)}"
            ) from None
        self._impl = impl

    def _hint(self, rect: tuple[int, int, int, int], size: tuple[int, int]) -> str:
        """A likely cause, for the message of an OpenCV error at init ('' when unknown)."""
        return ""

    def _update(self, frame: Frame) -> TrackResult:
        assert self._last_box is not None and self._size is not None
        last = self._last_box
        try:
            ok, rect = self._impl.update(self._prepare(frame))
        except cv2.error as exc:
            raise TrackerError(
                f"{self.name}: OpenCV failed on frame {self.frame_index} while following box "
                f"{format_box(last)}: {cv_message(exc)}"
            ) from None
        score = self._score(bool(ok))
        if not ok:
            return TrackResult(False, last, score)
        box = tuple(float(v) for v in rect)
        if len(box) != 4:
            return TrackResult(False, last, 0.0)
        x, y, w, h = box
        found = (x, y, w, h)
        if box_problem(found, self._size) is not None or featureless(frame, found):
            return TrackResult(False, last, 0.0)
        return TrackResult(True, found, score)


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


class OpenCVTracker(OpenCVAdapter):
    """OpenCV's CSRT, KCF or MOSSE (``config.kind``); a new OpenCV object at every init."""

    name = "opencv"

    def _create(self) -> Any:
        return _make(self.config.kind)

    def _hint(self, rect: tuple[int, int, int, int], size: tuple[int, int]) -> str:
        if self.config.kind != "csrt":
            return ""
        x, y, w, h = rect
        aspect = max(w, h) / min(w, h)
        if aspect >= 30:
            return (
                f" (the box is {aspect:.0f}:1; OpenCV's CSRT fails on boxes more elongated "
                "than about 40:1)"
            )
        inside_w = min(size[0], x + w) - max(0, x)
        inside_h = min(size[1], y + h) - max(0, y)
        if inside_w < w or inside_h < h:
            return (
                f" (only {inside_w}x{inside_h} px of it are inside the image; OpenCV's CSRT fails "
                "when a thin strip of the box is inside)"
            )
        return ""
