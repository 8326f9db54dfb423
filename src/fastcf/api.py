"""The tracker interface and the one source of truth for box conventions.

Frames are ``H x W x 3`` ``uint8`` BGR images (as OpenCV reads them) or ``H x W``
``uint8`` grayscale images. Boxes are ``(x, y, w, h)`` floats in 0-based pixel
coordinates: ``(0, 0)`` is the top-left corner of the top-left pixel, so a box covering
exactly the first pixel is ``(0, 0, 1, 1)``. Dataset readers convert their own
conventions (e.g. OTB's 1-based MATLAB coordinates) in and out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from fastcf.errors import FrameError, InvalidBoxError

Box = tuple[float, float, float, float]
Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class TrackResult:
    """What a tracker returns for one frame.

    ``ok`` is False when the tracker believes it lost the target; ``box`` is then its
    best guess (usually the last position) and ``score`` its confidence. For fastcf's CF
    trackers (ECO, STRCF) ``score`` is in [0, 1], the estimated probability that the box
    overlaps the target (IoU >= 0.5), from the response map and a colour check
    (docs/confidence.md); for the OpenCV adapters its scale is the peer's own.
    """

    ok: bool
    box: Box
    score: float

    def __iter__(self):  # allows ``ok, box, score = tracker.update(frame)``
        return iter((self.ok, self.box, self.score))


@runtime_checkable
class Tracker(Protocol):
    """What every tracker implements; the runner and the CLI only see this."""

    name: str

    def init(self, frame: Frame, box: Sequence[float]) -> None:
        """Start tracking the object inside ``box`` in ``frame``."""

    def update(self, frame: Frame) -> TrackResult:
        """Locate the object in the next frame."""


def check_frame(frame: object, where: str = "frame") -> Frame:
    """Return ``frame`` if it is a valid uint8 BGR or gray image, else raise FrameError."""
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"{where}: expected a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise FrameError(f"{where}: expected dtype uint8, got {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)):
        raise FrameError(
            f"{where}: expected an HxWx3 BGR or HxW gray image, got shape {frame.shape}"
        )
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise FrameError(f"{where}: image of size {frame.shape[1]}x{frame.shape[0]} is too small")
    return frame


def check_box(box: object, image_size: tuple[int, int] | None = None, where: str = "box") -> Box:
    """Validate an ``(x, y, w, h)`` box and return it as a tuple of floats.

    ``image_size`` is ``(width, height)``; when given, a box entirely outside the image
    is rejected (a box partly outside is accepted: targets at the border are legal).
    """
    try:
        values = [float(v) for v in box]  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise InvalidBoxError(f"{where}: expected 4 numbers (x, y, w, h), got {box!r}") from exc
    if len(values) != 4:
        raise InvalidBoxError(f"{where}: expected 4 numbers (x, y, w, h), got {len(values)}")
    x, y, w, h = values
    if not all(math.isfinite(v) for v in values):
        raise InvalidBoxError(f"{where}: non-finite value in {tuple(values)}")
    if w <= 0 or h <= 0:
        raise InvalidBoxError(f"{where}: width and height must be > 0, got w={w:g}, h={h:g}")
    if image_size is not None:
        width, height = image_size
        if x >= width or y >= height or x + w <= 0 or y + h <= 0:
            raise InvalidBoxError(
                f"{where}: box {tuple(values)} lies entirely outside the {width}x{height} image"
            )
    return (x, y, w, h)


def as_uint8(image: npt.ArrayLike) -> Frame:
    """Type an OpenCV result as a uint8 frame (no copy when it already is one)."""
    return np.asarray(image, dtype=np.uint8)


def frame_size(frame: Frame) -> tuple[int, int]:
    """``(width, height)`` of a frame."""
    return int(frame.shape[1]), int(frame.shape[0])
