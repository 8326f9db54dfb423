"""Synthetic lost-target clips, made from real sequences or drawn from scratch.

They exercise what a tracker does when there is nothing to see: frames blacked out or
replaced by noise, a target hidden by an occluder, a target that reappears somewhere else.
Ground truth is NaN wherever the target is not visible (scored as "absent", never as a
failure, and never given to a tracker as a box).

* :func:`blackout` -- frames ``[start, start + length)`` of a sequence replaced by black or
  noise frames (the real frames in that span are dropped, so the target reappears wherever
  it is at ``start + length``);
* :func:`occlude` -- in frames ``[start, start + length)`` the target's box (enlarged by
  ``margin``) is covered by a patch of the same frame cut from far away from the target;
* :func:`reappearing_clip` -- a textured object moves over a textured background, the view
  goes black (or noise) for ``empty`` frames, then the object reappears at a random place.

Frames are made lazily (one at a time), so clips of real sequences cost no memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from fastcf.api import Frame
from fastcf.datasets.base import Sequence
from fastcf.io.frames import FrameSource

Edit = Callable[[int, Frame], Frame]


class EditedFrames:
    """A frame source whose frame ``i`` is ``edit(i, base frame i)``."""

    def __init__(self, base: FrameSource, edit: Edit, description: str) -> None:
        self.base = base
        self.edit = edit
        self.description = description

    def __len__(self) -> int:
        return len(self.base)

    def __iter__(self) -> Iterator[Frame]:
        for i, frame in enumerate(self.base):
            yield self.edit(i, frame)


class GeneratedFrames:
    """``n`` frames made by ``make(i)``."""

    def __init__(self, n: int, make: Callable[[int], Frame], description: str) -> None:
        self.n = n
        self.make = make
        self.description = description

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[Frame]:
        for i in range(self.n):
            yield self.make(i)


class _Blank:
    """Frames ``[start, stop)`` become black, or uniform noise (a new draw per frame)."""

    def __init__(self, start: int, stop: int, kind: str, seed: int) -> None:
        self.start, self.stop, self.kind, self.seed = start, stop, kind, seed

    def __call__(self, i: int, frame: Frame) -> Frame:
        if not self.start <= i < self.stop:
            return frame
        if self.kind == "black":
            return np.zeros_like(frame)
        return _noise(frame.shape, self.seed * 100_003 + i)


class _Occluder:
    """Frames ``[start, stop)``: the box (enlarged by ``margin``) is covered by a patch of
    the same frame from the corner farthest from the target."""

    def __init__(self, start: int, stop: int, boxes: np.ndarray, margin: float) -> None:
        self.start, self.stop, self.boxes, self.margin = start, stop, boxes, margin

    def __call__(self, i: int, frame: Frame) -> Frame:
        if not self.start <= i < self.stop or not np.all(np.isfinite(self.boxes[i])):
            return frame
        x, y, w, h = (float(v) for v in self.boxes[i])
        cx, cy = x + w / 2, y + h / 2
        fh, fw = frame.shape[:2]
        ow = min(fw, max(2, round(w * self.margin)))
        oh = min(fh, max(2, round(h * self.margin)))
        x0 = int(np.clip(round(cx - ow / 2), 0, fw - ow))
        y0 = int(np.clip(round(cy - oh / 2), 0, fh - oh))
        sx = 0 if cx > fw / 2 else fw - ow
        sy = 0 if cy > fh / 2 else fh - oh
        out = frame.copy()
        out[y0 : y0 + oh, x0 : x0 + ow] = frame[sy : sy + oh, sx : sx + ow]
        return out


class _Scene:
    """Frame ``i`` of :func:`reappearing_clip`."""

    def __init__(
        self, background: Frame, obj: Frame, pos: np.ndarray, empty: tuple[int, int], kind: str,
        seed: int,
    ) -> None:  # fmt: skip
        self.background, self.obj, self.pos = background, obj, pos
        self.empty, self.kind, self.seed = empty, kind, seed

    def __call__(self, i: int) -> Frame:
        if self.empty[0] <= i < self.empty[1]:
            shape = self.background.shape
            if self.kind == "black":
                return np.zeros(shape, np.uint8)
            return _noise(shape, self.seed * 7919 + i)
        frame = self.background.copy()
        th, tw = self.obj.shape[:2]
        y, x = (int(round(v)) for v in self.pos[i])
        frame[y : y + th, x : x + tw] = self.obj
        return frame


def head(seq: Sequence, n: int) -> Sequence:
    """The first ``n`` frames of ``seq`` (a lazy view)."""
    n = max(1, min(n, len(seq)))
    return replace(
        seq,
        frames=GeneratedFrames(n, _Nth(seq.frames), seq.frames.description),
        ground_truth=seq.ground_truth[:n],
        absent=None if seq.absent is None else seq.absent[:n],
    )


class _Nth:
    """Frame ``i`` of a source, read sequentially (a source is iterated, not indexed)."""

    def __init__(self, source: FrameSource) -> None:
        self.source = source
        self._it: Iterator[Frame] | None = None
        self._next = 0

    def __call__(self, i: int) -> Frame:
        if self._it is None or i < self._next:
            self._it, self._next = iter(self.source), 0
        frame: Frame | None = None
        while self._next <= i:
            frame = next(self._it)
            self._next += 1
        assert frame is not None
        return frame

    def __getstate__(self) -> dict[str, object]:
        return {"source": self.source, "_it": None, "_next": 0}


def _check_span(seq: Sequence, start: int, length: int) -> None:
    if not 1 <= start < len(seq) or length < 1:
        raise ValueError(
            f"{seq.name}: the edited span must start after frame 0 and inside the "
            f"{len(seq)} frames, got start={start}, length={length}"
        )


def _noise(shape: tuple[int, ...], seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def blackout(
    seq: Sequence, start: int, length: int, kind: str = "black", seed: int = 0
) -> Sequence:
    """``seq`` with frames ``[start, start + length)`` replaced by ``kind`` frames
    (``"black"`` or ``"noise"``: uniform random pixels, a new draw every frame)."""
    if kind not in ("black", "noise"):
        raise ValueError(f"kind must be 'black' or 'noise', got {kind!r}")
    _check_span(seq, start, length)
    stop = min(start + length, len(seq))
    edit = _Blank(start, stop, kind, seed)
    gt = seq.ground_truth.copy()
    gt[start:stop] = np.nan
    return replace(
        seq,
        name=f"{seq.name}-{kind}{start}+{stop - start}",
        frames=EditedFrames(seq.frames, edit, f"{seq.frames.description} ({kind} {start}..)"),
        ground_truth=gt,
        absent=None,
        meta={**seq.meta, "edited": (kind, start, stop)},
    )


def occlude(seq: Sequence, start: int, length: int, margin: float = 1.3) -> Sequence:
    """``seq`` with the target covered in frames ``[start, start + length)`` by a patch of
    the same frame taken from the point farthest from the target (a plausible occluder
    with the scene's own texture). The ground truth there is NaN (target not visible)."""
    _check_span(seq, start, length)
    stop = min(start + length, len(seq))
    edit = _Occluder(start, stop, seq.ground_truth.copy(), margin)
    gt = seq.ground_truth.copy()
    gt[start:stop] = np.nan
    return replace(
        seq,
        name=f"{seq.name}-occluded{start}+{stop - start}",
        frames=EditedFrames(seq.frames, edit, f"{seq.frames.description} (occluded {start}..)"),
        ground_truth=gt,
        absent=None,
        meta={**seq.meta, "edited": ("occluded", start, stop)},
    )


def _texture(h: int, w: int, rng: np.random.Generator, cells: int = 4) -> npt.NDArray[np.uint8]:
    small = rng.integers(0, 256, (max(h // cells, 2), max(w // cells, 2), 3)).astype(np.uint8)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), np.uint8)


def reappearing_clip(
    seed: int,
    kind: str = "black",
    visible: int = 30,
    empty: int = 150,
    after: int = 60,
    size: tuple[int, int] = (360, 640),
    target: tuple[int, int] = (48, 36),
) -> Sequence:
    """A clip of ``visible + empty + after`` frames (``size`` = ``(H, W)``): a textured
    ``target`` (``(h, w)``) drifting over a textured background, then ``empty`` frames of
    ``kind`` (``"black"`` or ``"noise"``), then the same object again, drifting from a
    random place at least a quarter of the frame away from where it vanished."""
    if kind not in ("black", "noise"):
        raise ValueError(f"kind must be 'black' or 'noise', got {kind!r}")
    rng = np.random.default_rng(seed)
    fh, fw = size
    th, tw = target
    background = (_texture(fh, fw, rng, 48) // 2 + 64).astype(np.uint8)
    obj = _texture(th, tw, rng)
    n = visible + empty + after
    pos = np.full((n, 2), np.nan)
    p = np.array([rng.uniform(th, fh - 2 * th), rng.uniform(tw, fw - 2 * tw)])
    vel = rng.uniform(-2.0, 2.0, 2)
    for i in range(visible):
        pos[i] = p + vel * i
    last = pos[visible - 1]
    while True:
        q = np.array([rng.uniform(th, fh - 2 * th), rng.uniform(tw, fw - 2 * tw)])
        if abs(q[0] - last[0]) > fh / 4 or abs(q[1] - last[1]) > fw / 4:
            break
    vel2 = rng.uniform(-1.0, 1.0, 2)
    for i in range(after):
        pos[visible + empty + i] = q + vel2 * i
    pos = np.clip(pos, [0, 0], [fh - th, fw - tw])

    make = _Scene(background, obj, pos, (visible, visible + empty), kind, seed)
    gt = np.full((n, 4), np.nan)
    seen = np.isfinite(pos[:, 0])
    gt[seen] = np.column_stack(
        [
            np.round(pos[seen, 1]),
            np.round(pos[seen, 0]),
            np.full(seen.sum(), tw),
            np.full(seen.sum(), th),
        ]
    )
    return Sequence(
        name=f"reappear-{kind}-{seed}",
        frames=GeneratedFrames(n, make, f"synthetic reappearing target ({kind}, seed {seed})"),
        ground_truth=gt,
        offset=0.0,
        meta={"edited": (kind, visible, visible + empty)},
    )
