"""Frame sources: a list of image files, a video file, a camera.

All yield ``uint8`` BGR frames as OpenCV reads them and raise :class:`FrameError` naming
the file and frame index when a frame is missing or cannot be decoded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from fastcf.api import Frame, as_uint8
from fastcf.errors import FrameError


class FrameSource(Protocol):
    """A finite (or, for cameras, unbounded) stream of frames."""

    description: str

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Frame]: ...


def read_image(path: str | Path, index: int | None = None) -> Frame:
    """Read one image as uint8 BGR (gray images are expanded to 3 channels)."""
    p = Path(path)
    where = f"frame {index} ({p})" if index is not None else str(p)
    if not p.is_file():
        raise FrameError(f"{where}: file does not exist")
    data = np.fromfile(str(p), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise FrameError(f"{where}: cannot decode image (corrupt or unsupported format)")
    return as_uint8(image)


class ImageFiles:
    """Frames from a list of image paths, decoded lazily one at a time."""

    def __init__(self, paths: Sequence[str | Path], description: str = "") -> None:
        self.paths = [Path(p) for p in paths]
        self.description = description or (str(self.paths[0].parent) if self.paths else "")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Frame:
        return read_image(self.paths[index], index)

    def __iter__(self) -> Iterator[Frame]:
        for i in range(len(self.paths)):
            yield self[i]


class VideoFile:
    """Frames decoded sequentially from a video file with OpenCV."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FrameError(f"{self.path}: video file does not exist")
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise FrameError(f"{self.path}: OpenCV cannot open this video")
            self._count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            ok, first = cap.read()
            if not ok or first is None:
                raise FrameError(f"{self.path}: cannot decode the first frame")
        finally:
            cap.release()
        self.description = str(self.path)

    def __len__(self) -> int:
        """Frame count reported by the container (may be approximate for some codecs)."""
        return self._count

    def __iter__(self) -> Iterator[Frame]:
        cap = cv2.VideoCapture(str(self.path))
        try:
            index = 0
            while True:
                ok, frame = cap.read()
                if not ok or frame is None:
                    if index == 0:
                        raise FrameError(f"{self.path}: cannot decode frame 0")
                    return
                yield as_uint8(frame)
                index += 1
        finally:
            cap.release()


class Camera:
    """Frames from a camera index; stops after ``max_frames`` frames (None: never)."""

    def __init__(self, index: int, max_frames: int | None = None) -> None:
        self.index = index
        self.max_frames = max_frames
        self.description = f"camera {index}"

    def __len__(self) -> int:
        return self.max_frames or 0

    def __iter__(self) -> Iterator[Frame]:
        cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            raise FrameError(f"camera {self.index}: cannot be opened")
        try:
            n = 0
            while self.max_frames is None or n < self.max_frames:
                ok, frame = cap.read()
                if not ok or frame is None:
                    if n == 0:
                        raise FrameError(f"camera {self.index}: no frame could be read")
                    return
                yield as_uint8(frame)
                n += 1
        finally:
            cap.release()


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def list_images(folder: str | Path) -> list[Path]:
    """Image files of ``folder`` in natural order (frame2 before frame10)."""
    import re

    root = Path(folder)
    if not root.is_dir():
        raise FrameError(f"{root}: not a folder")
    files = [p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if not files:
        raise FrameError(f"{root}: no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder")

    def key(p: Path) -> list[object]:
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]

    return sorted(files, key=key)


def open_source(spec: str | Path, max_frames: int | None = None) -> FrameSource:
    """A video file, a folder of images, or a camera index given as digits."""
    text = str(spec)
    if text.isdigit():
        return Camera(int(text), max_frames)
    p = Path(text)
    if p.is_dir():
        return ImageFiles(list_images(p), description=str(p))
    if p.is_file():
        return VideoFile(p)
    raise FrameError(f"{p}: no such video file, image folder or camera index")
