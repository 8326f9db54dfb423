"""Look at what happened: a video of one sequence with the ground truth and each tracker's
boxes (``fastcf show``).

:func:`render_sequence` reads ``<results_dir>/<tracker>/<seq>.txt`` for every tracker
that has a result for the sequence (results layout of :mod:`fastcf.io.results`), draws
the ground truth (white) and each tracker's box (one colour each, named in a legend)
on every frame, and writes an MP4 (OpenCV) or an animated GIF (Pillow), chosen by the
output's suffix. Frames where a tracker's result ends (a failed or truncated run) show
no box for it; frames without ground truth show none for the ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from fastcf.api import Frame, as_uint8
from fastcf.datasets.base import Dataset
from fastcf.errors import AnnotationError, ConfigError, DatasetError
from fastcf.io.overlay import VideoSink
from fastcf.io.results import read_boxes, read_json, result_paths

GT_COLOR = (255, 255, 255)
# matplotlib's tab10 in BGR
COLORS = (
    (180, 119, 31),
    (14, 127, 255),
    (44, 160, 44),
    (40, 39, 214),
    (189, 103, 148),
    (75, 86, 140),
    (194, 119, 227),
    (127, 127, 127),
    (34, 189, 188),
    (207, 190, 23),
)
FORMATS = (".mp4", ".gif")


@dataclass
class ShowResult:
    path: Path
    frames: int
    trackers: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # tracker -> why it has no boxes


def results_dir_for(results: str | Path, dataset_name: str | None) -> Path:
    """``results`` itself when it holds tracker folders, else ``results/<dataset_name>``."""
    base = Path(results)
    if not base.is_dir():
        raise DatasetError(f"{base}: no such results folder")
    has_trackers = any(
        p.is_dir() and (any(p.glob("*.txt")) or (p / "errors").is_dir()) for p in base.iterdir()
    )
    if has_trackers:
        return base
    if dataset_name and (base / dataset_name).is_dir():
        return base / dataset_name
    raise DatasetError(
        f"{base}: no tracker result folders here; give the dataset's results folder "
        "(<results>/<dataset name>, as `fastcf eval` prints it)"
    )


def recorded_spec(results_dir: Path, sequence: str) -> str | None:
    """The dataset spec recorded in a ``meta/<sequence>.json`` of any tracker (or None)."""
    for tracker in sorted(p for p in results_dir.iterdir() if p.is_dir()):
        meta = read_json(tracker / "meta" / f"{sequence}.json")
        spec = None if meta is None else meta.get("dataset_spec")
        if isinstance(spec, str) and spec:
            return spec
    return None


def _draw_box(image: Frame, box: npt.NDArray[np.float64], color: tuple[int, int, int]) -> None:
    if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        return
    x, y, w, h = (float(v) for v in box)
    p0 = (int(round(x)), int(round(y)))
    p1 = (int(round(x + w)), int(round(y + h)))
    cv2.rectangle(image, p0, p1, color, 2, cv2.LINE_AA)


def _legend(image: Frame, items: Sequence[tuple[str, tuple[int, int, int]]], index: int) -> None:
    font, size = cv2.FONT_HERSHEY_SIMPLEX, 0.45
    lines = [(f"frame {index}", (255, 255, 255)), *items]
    y = 6
    for text, color in lines:
        (tw, th), base = cv2.getTextSize(text, font, size, 1)
        cv2.rectangle(image, (4, y - 2), (10 + tw, y + th + base), (0, 0, 0), -1)
        cv2.putText(image, text, (7, y + th), font, size, color, 1, cv2.LINE_AA)
        y += th + base + 4


class _GifSink:
    """Animated GIF through Pillow; frames are kept (palette images) until ``close``."""

    def __init__(self, path: Path, fps: float, max_width: int) -> None:
        self.path = path
        self.duration_ms = max(20, int(round(1000.0 / fps)))
        self.max_width = max_width
        self.frames: list[object] = []

    def write(self, frame: Frame) -> None:
        from PIL import Image

        h, w = frame.shape[:2]
        if w > self.max_width:
            scale = self.max_width / w
            frame = as_uint8(cv2.resize(frame, (self.max_width, max(1, int(round(h * scale))))))
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        self.frames.append(Image.fromarray(rgb).quantize(colors=255))

    def close(self) -> None:
        if not self.frames:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        first, rest = self.frames[0], self.frames[1:]
        first.save(  # type: ignore[attr-defined]
            self.path,
            save_all=True,
            append_images=rest,
            duration=self.duration_ms,
            loop=0,
        )
        self.frames = []


def render_sequence(
    results_dir: str | Path,
    dataset: Dataset,
    sequence: str,
    out: str | Path,
    trackers: Sequence[str] | None = None,
    max_frames: int | None = None,
    fps: float = 25.0,
    gif_width: int = 480,
) -> ShowResult:
    """Write ``out`` (``.mp4`` or ``.gif``): ``sequence`` with its ground truth and the
    boxes of ``trackers`` (default: every tracker folder in ``results_dir`` with a result
    for it). Raises :class:`DatasetError` when no tracker has one."""
    out_path = Path(out)
    if out_path.suffix.lower() not in FORMATS:
        raise ConfigError(f"{out_path}: the output must end in .mp4 or .gif")
    if fps <= 0:
        raise ConfigError(f"fps must be > 0, got {fps}")
    base = Path(results_dir)
    seq = dataset[sequence]
    names = list(trackers) if trackers else sorted(p.name for p in base.iterdir() if p.is_dir())
    boxes: dict[str, npt.NDArray[np.float64]] = {}
    skipped: dict[str, str] = {}
    for name in names:
        paths = result_paths(base.parent, base.name, name, sequence)
        if not paths.boxes.is_file():
            if trackers or paths.error.is_file():
                skipped[name] = "failed" if paths.error.is_file() else "no result"
            continue
        try:
            b = read_boxes(paths.boxes)
        except AnnotationError as exc:
            skipped[name] = str(exc)
            continue
        b[:, :2] -= seq.offset
        boxes[name] = b
    if not boxes:
        raise DatasetError(
            f"{base}: no tracker has a result for sequence {sequence!r}"
            + (f" ({', '.join(f'{k}: {v}' for k, v in skipped.items())})" if skipped else "")
        )
    gt = np.asarray(seq.ground_truth, dtype=np.float64).reshape(-1, 4)
    legend = [("ground truth", GT_COLOR)] + [
        (name, COLORS[i % len(COLORS)]) for i, name in enumerate(boxes)
    ]
    sink: VideoSink | _GifSink
    if out_path.suffix.lower() == ".gif":
        sink = _GifSink(out_path, fps, gif_width)
    else:
        sink = VideoSink(out_path, fps=fps)
    count = 0
    try:
        for index, frame in enumerate(seq.iter_frames()):
            if max_frames is not None and index >= max_frames:
                break
            image = as_uint8(
                cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame.copy()
            )
            if index < len(gt):
                _draw_box(image, gt[index], GT_COLOR)
            for i, b in enumerate(boxes.values()):
                if index < len(b):
                    _draw_box(image, b[index], COLORS[i % len(COLORS)])
            _legend(image, legend, index)
            sink.write(np.ascontiguousarray(image))
            count += 1
    finally:
        sink.close()
    return ShowResult(out_path, count, list(boxes), skipped)
