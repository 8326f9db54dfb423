"""Synthetic datasets and fake trackers shared by the runner and bench tests (no tests here).

Module-level classes/functions, so that spawned worker processes can import them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fastcf.api import Box, Frame, TrackResult
from fastcf.datasets.base import Dataset, Sequence
from fastcf.io.frames import ImageFiles
from fastcf.registry import alias, available, register
from fastcf.trackers.base import BaseTracker, TrackerSettings


def make_sequence(
    root: Path, name: str, frames: int = 6, size: tuple[int, int] = (64, 48), offset: float = 0.0
) -> Sequence:
    """A textured square moving 2 px right per frame, saved as small JPEGs."""
    width, height = size
    folder = root / name / "img"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(name))
    background = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
    patch = rng.integers(120, 255, size=(14, 14, 3), dtype=np.uint8)
    paths, gt = [], []
    for i in range(frames):
        image = background.copy()
        x, y = 10 + 2 * i, 12
        image[y : y + 14, x : x + 14] = patch
        path = folder / f"{i + 1:04d}.jpg"
        cv2.imwrite(str(path), image)
        paths.append(path)
        gt.append((x, y, 14.0, 14.0))
    return Sequence(name, ImageFiles(paths), np.array(gt, dtype=np.float64), offset=offset)


def make_dataset(root: Path, names: tuple[str, ...] = ("A", "B"), frames: int = 6) -> Dataset:
    seqs = [
        make_sequence(root, n, frames, offset=1.0 if i % 2 else 0.0) for i, n in enumerate(names)
    ]
    return Dataset("synth", root, seqs)


# --- fake trackers --------------------------------------------------------------------

CALLS: list[str] = []  # "init:<frame shape>" per init, in this process
INTERRUPT_WIDTH: list[int] = []  # Ctrl-C (KeyboardInterrupt) on frame 2 of frames this wide


@dataclass(frozen=True)
class FakeConfig:
    fail_at: int = -1  # raise on this update frame index (-1: never)
    fail_when_width: int = -1  # ... only on frames of this width (-1: any)
    step: float = 1.0  # box moves this far right per frame


class FakeTracker(BaseTracker):
    """Deterministic: moves the box by ``step`` per frame; score = mean intensity / 255."""

    def _init(self, frame: Frame, box: Box) -> None:
        CALLS.append(f"init:{frame.shape[1]}x{frame.shape[0]}")
        self._box = box

    def _update(self, frame: Frame) -> TrackResult:
        cfg: FakeConfig = self.config
        if self.frame_index == 2 and frame.shape[1] in INTERRUPT_WIDTH:
            raise KeyboardInterrupt
        if self.frame_index == cfg.fail_at and cfg.fail_when_width in (-1, frame.shape[1]):
            raise RuntimeError(f"synthetic failure at frame {self.frame_index}")
        x, y, w, h = self._box
        self._box = (x + cfg.step, y, w, h)
        return TrackResult(True, self._box, float(frame.mean()) / 255.0)


def fake_config() -> FakeConfig:
    return FakeConfig()


def register_fakes() -> None:
    if "test-fake" not in available():
        register("test-fake", FakeTracker, fake_config, "fake tracker for runner tests")
    if "test-fake-b" not in available():
        alias("test-fake-b", "test-fake")


@dataclass(frozen=True)
class ThreadsConfig(TrackerSettings):
    """A config with the ``threads`` field of every fastcf tracker."""

    step: float = 1.0


def threads_config() -> ThreadsConfig:
    return ThreadsConfig()


class ThreadsProbe(BaseTracker):
    """score = 1000 * OpenCV threads inside update + OMP_NUM_THREADS of the process."""

    def _init(self, frame: Frame, box: Box) -> None:
        self._box = box

    def _update(self, frame: Frame) -> TrackResult:
        omp = os.environ.get("OMP_NUM_THREADS", "0")
        score = 1000.0 * cv2.getNumThreads() + float(omp if omp.isdigit() else -1)
        return TrackResult(True, self._box, score)


def register_threads_probe() -> None:
    if "test-threads" not in available():
        register("test-threads", ThreadsProbe, threads_config, "reports its thread counts")


def write_otb_sequence(
    root: Path,
    name: str,
    frames: int = 6,
    size: tuple[int, int] = (64, 48),
    gt_rows: int | None = None,
    nan_rows: tuple[int, ...] = (),
    x0: int = 10,
) -> Path:
    """An OTB-layout sequence folder: ``img/0001.jpg ...`` and ``groundtruth_rect.txt``
    (1-based) with ``gt_rows`` rows (default one per frame), NaN on ``nan_rows``."""
    folder = root / name
    img = folder / "img"
    img.mkdir(parents=True, exist_ok=True)
    width, height = size
    rng = np.random.default_rng(len(name) + frames)
    background = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
    patch = rng.integers(120, 255, size=(14, 14, 3), dtype=np.uint8)
    rows = []
    for i in range(frames):
        image = background.copy()
        x, y = x0 + 2 * i, 12
        image[y : y + 14, x : x + 14] = patch
        cv2.imwrite(str(img / f"{i + 1:04d}.jpg"), image)
        rows.append(f"{x + 1},{y + 1},14,14")
    n = frames if gt_rows is None else gt_rows
    rows = (rows + [rows[-1]] * n)[:n]
    for r in nan_rows:
        rows[r] = "NaN,NaN,NaN,NaN"
    (folder / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")
    return folder


class ProbeTracker(BaseTracker):
    """Reports where it runs: box x = process id, score = 1000 * OpenCV threads + OMP env."""

    def _init(self, frame: Frame, box: Box) -> None:
        self._box = box

    def _update(self, frame: Frame) -> TrackResult:
        omp = os.environ.get("OMP_NUM_THREADS", "0")
        score = 1000.0 * cv2.getNumThreads() + float(omp if omp.isdigit() else -1)
        return TrackResult(True, (float(os.getpid()), 0.0, 1.0, 1.0), score)


def register_probe() -> None:
    if "test-probe" not in available():
        register("test-probe", ProbeTracker, fake_config, "reports process and threads")


class SlowDecode:
    """A frame source that sleeps ``delay`` seconds before yielding each frame."""

    def __init__(self, inner: ImageFiles, delay: float) -> None:
        self.inner = inner
        self.delay = delay
        self.description = inner.description

    def __len__(self) -> int:
        return len(self.inner)

    def __iter__(self):  # type: ignore[no-untyped-def]
        for frame in self.inner:
            time.sleep(self.delay)
            yield frame
