"""A video file plus one initial box: a one-sequence dataset.

Frames are decoded lazily by :class:`fastcf.io.frames.VideoFile`. The box is the first
frame's target in fastcf's 0-based ``x, y, w, h`` convention; ground truth has one row
per frame the container reports (NaN after the first row). The container's frame count
can be approximate for some codecs, so a runner should stop when the frames stop.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from pathlib import Path

from fastcf.datasets.base import Dataset, Sequence, dataset_name
from fastcf.datasets.folder import first_box_ground_truth
from fastcf.io.frames import VideoFile


def read_video(path: str | Path, box: Seq[float], *, name: str | None = None) -> Dataset:
    p = Path(path)
    frames = VideoFile(p)  # raises FrameError for a missing or undecodable file
    seq_name = name or p.stem
    seq = Sequence(
        name=seq_name,
        frames=frames,
        ground_truth=first_box_ground_truth(box, len(frames), f"initial box for {p}"),
        offset=0.0,
        meta={"first_frame_only": True, "approximate_length": True},
    )
    return Dataset(name=dataset_name(p), root=p.parent, sequences=[seq], layout="video")
