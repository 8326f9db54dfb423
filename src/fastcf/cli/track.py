"""``fastcf track``: follow one object through a video, an image folder or a camera.

    fastcf track VIDEO_OR_FOLDER --box x,y,w,h [--tracker NAME] [--out DIR] [--video out.mp4]
    fastcf track --demo            # embedded real-pixel clip, no input needed

Writes ``boxes.txt`` (x,y,w,h per frame, 0-based) and ``track.csv`` (frame, box, ok, score,
tracker ms) under ``--out`` as it goes, line-buffered, so that Ctrl-C (how a camera session
ends) or a crash keeps every frame tracked so far; with ``--video`` an MP4 with the box,
score and throughput drawn. The speed printed at the end is the one vocabulary of
:mod:`fastcf.metrics.speed` (throughput = frames / tracking time, init included, decoding
excluded; latency median / p95 / max; init; decode apart), as ``fastcf bench`` reports it.
``--threads N`` (default 1) is the tracker's ``threads`` config field.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastcf.api import Box, Frame, check_box
from fastcf.cli.common import (
    add_set_option,
    add_threads_option,
    check_threads_arg,
    parse_overrides,
)
from fastcf.errors import ConfigError, FastCFError, FrameError, InvalidBoxError
from fastcf.metrics.speed import format_line, sequence_speed
from fastcf.registry import DEFAULT_TRACKER, available, create, get_config, missing_resources

BOX_HELP = (
    "initial box x,y,w,h in 0-based pixels, as one argument or four: --box 120,60,80,90 or "
    "--box 120 60 80 90; x and y may be negative for a target partly outside the image: "
    "--box -10,20,50,50 or --box -10 20 50 50"
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "track",
        help="track one object in a video, image folder or camera",
        description=(
            "Track one object and write boxes.txt and track.csv under --out as it goes "
            "(line by line: Ctrl-C or a crash keeps every frame tracked so far). Prints the "
            "throughput (frames / tracking time, init included, decoding excluded), the "
            "latency and the init time, as `fastcf bench` measures them."
        ),
    )
    p.add_argument("source", nargs="?", help="video file, folder of images, or camera index")
    p.add_argument("--demo", action="store_true", help="track the embedded demo clip")
    p.add_argument("--box", nargs="+", metavar="BOX", help=BOX_HELP)
    p.add_argument("--select", action="store_true", help="select the box with the mouse")
    p.add_argument(
        "--tracker", default=DEFAULT_TRACKER, help=f"tracker name (default {DEFAULT_TRACKER})"
    )
    add_set_option(p, per_tracker=False)
    add_threads_option(p)
    p.add_argument("--out", default="fastcf_out", help="output folder (default fastcf_out)")
    p.add_argument("--video", help="also write an MP4 with the results drawn")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def join_negative_box(argv: list[str]) -> list[str]:
    """``--box -10,20,50,50`` -> ``--box=-10,20,50,50``: argparse would take the value for
    an option (it only knows plain negative numbers such as ``-10``)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if token == "--box" and nxt is not None and nxt.startswith("-") and "," in nxt:
            out.append(f"--box={nxt}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def parse_box(text: str | list[str]) -> Box:
    """A box from ``"x,y,w,h"``, or from one to four tokens (``["-10", "20", "50", "50"]``)."""
    tokens = [text] if isinstance(text, str) else list(text)
    joined = ",".join(tokens)
    parts = [p for p in joined.replace(" ", ",").split(",") if p]
    if len(parts) != 4:
        raise InvalidBoxError(
            f"--box expects x,y,w,h (4 numbers), got {' '.join(tokens)!r}; e.g. --box 120,60,80,90 "
            "or --box -10 20 50 50"
        )
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidBoxError(f"--box expects numbers, got {' '.join(tokens)!r}") from None
    return check_box(values, where="--box")


def _select_box(frame: Frame) -> Box:
    import cv2

    if not os.environ.get("DISPLAY") and os.name != "nt":
        raise InvalidBoxError("no display for interactive selection: pass --box x,y,w,h")
    try:
        x, y, w, h = cv2.selectROI("fastcf: select the target, then ENTER", frame, False)
        cv2.destroyAllWindows()
    except cv2.error as exc:
        raise InvalidBoxError(
            f"interactive selection is unavailable in this OpenCV build ({exc.err}); "
            "pass --box x,y,w,h"
        ) from None
    if w <= 0 or h <= 0:
        raise InvalidBoxError("no box was selected")
    return (float(x), float(y), float(w), float(h))


@dataclass
class TrackRun:
    """What ``fastcf track`` tracked: per frame box (N, 4), ok, score, tracker seconds
    (``[0]`` = init) and decode seconds; ``interrupted`` when Ctrl-C stopped it."""

    boxes: np.ndarray
    oks: np.ndarray
    scores: np.ndarray
    times: np.ndarray
    decode_times: np.ndarray
    interrupted: bool = False

    def __len__(self) -> int:
        return len(self.boxes)


class LineWriter:
    """``boxes.txt`` and ``track.csv``, line-buffered: each frame is on disk once written."""

    HEADER = "frame,x,y,w,h,ok,score,tracker_ms\n"

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.boxes_path = out / "boxes.txt"
        self.csv_path = out / "track.csv"
        self._boxes = open(self.boxes_path, "w", buffering=1)
        self._csv = open(self.csv_path, "w", buffering=1)
        self._csv.write(self.HEADER)

    def write(self, index: int, box: Box, ok: bool, score: float, seconds: float) -> None:
        x, y, w, h = box
        self._boxes.write(f"{x:.3f},{y:.3f},{w:.3f},{h:.3f}\n")
        self._csv.write(
            f"{index},{x:.3f},{y:.3f},{w:.3f},{h:.3f},{int(ok)},{score:.4f},{seconds * 1e3:.3f}\n"
        )

    def close(self) -> None:
        self._boxes.close()
        self._csv.close()


def track_frames(
    tracker_name: str,
    frames: Iterator[Frame],
    box: Box | None,
    overrides: dict[str, Any],
    out: Path,
    video: Path | None = None,
    total: int | None = None,
    quiet: bool = False,
    select: bool = False,
) -> TrackRun:
    """Run a tracker over frames, writing ``boxes.txt`` / ``track.csv`` under ``out`` frame by
    frame, from the moment the tracker accepted its first frame and box (a box or frame it
    refuses leaves no files). Ctrl-C stops it with what was tracked so far
    (``interrupted=True``)."""
    from tqdm import tqdm

    from fastcf.io.overlay import VideoSink, draw_result

    tracker = create(tracker_name, **overrides)
    writer: LineWriter | None = None
    sink: VideoSink | None = None
    boxes: list[Box] = []
    oks: list[bool] = []
    scores: list[float] = []
    times: list[float] = []
    decodes: list[float] = []
    interrupted = False
    bar = tqdm(total=total or None, unit="frame", disable=quiet, dynamic_ncols=True)
    try:
        index = 0
        while True:
            t0 = time.perf_counter()
            try:
                frame = next(frames)
            except StopIteration:
                break
            decode = time.perf_counter() - t0
            if index == 0:
                if box is None:
                    box = _select_box(frame) if select else None
                if box is None:
                    raise InvalidBoxError("an initial box is needed: pass --box x,y,w,h")
                t0 = time.perf_counter()
                tracker.init(frame, box)
                seconds = time.perf_counter() - t0
                ok, result, score = True, tuple(float(v) for v in box), 1.0
                writer = LineWriter(out)
                sink = VideoSink(video) if video else None
            else:
                t0 = time.perf_counter()
                r = tracker.update(frame)
                seconds = time.perf_counter() - t0
                ok, result, score = r.ok, r.box, r.score
            assert writer is not None
            writer.write(index, result, ok, score, seconds)  # type: ignore[arg-type]
            boxes.append(result)  # type: ignore[arg-type]
            oks.append(ok)
            scores.append(score)
            times.append(seconds)
            decodes.append(decode)
            fps = len(times) / sum(times) if sum(times) > 0 else None  # throughput so far
            if sink is not None:
                sink.write(draw_result(frame, result, ok, score, fps))  # type: ignore[arg-type]
            bar.update(1)
            if fps is not None and index % 10 == 0:
                bar.set_postfix(throughput=f"{fps:.0f}", ok=ok, score=f"{score:.2f}")
            index += 1
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        if writer is not None:
            writer.close()
        if sink is not None:
            sink.close()
    if not boxes and not interrupted:
        raise FrameError("the source produced no frames")
    return TrackRun(
        np.array(boxes, dtype=np.float64).reshape(-1, 4),
        np.array(oks, dtype=bool),
        np.array(scores, dtype=np.float64),
        np.array(times, dtype=np.float64),
        np.array(decodes, dtype=np.float64),
        interrupted,
    )


def run(args: argparse.Namespace) -> int:
    if args.tracker not in available():
        raise ConfigError(f"unknown tracker {args.tracker!r}; available: {', '.join(available())}")
    overrides: dict[str, Any] = dict(parse_overrides(args.overrides))
    threads = check_threads_arg(args.threads)
    if "threads" not in overrides and _has_threads_field(args.tracker):
        overrides["threads"] = threads
    missing = missing_resources(args.tracker, **overrides)
    if missing:
        raise ConfigError(f"tracker {args.tracker!r} needs {'; '.join(missing)}")
    box = parse_box(args.box) if args.box else None
    gt: np.ndarray | None = None
    if args.demo:
        from fastcf.demo import demo_clip

        frames_list, gt = demo_clip()
        if args.max_frames:
            frames_list, gt = frames_list[: args.max_frames], gt[: args.max_frames]
        if box is None:
            box = tuple(float(v) for v in gt[0])  # type: ignore[assignment]
        frames: Iterator[Frame] = iter(frames_list)
        total: int | None = len(frames_list)
        label = "demo clip (matplotlib's grace_hopper.jpg, panned and zoomed)"
    elif args.source is None:
        raise FastCFError("give a video file, image folder or camera index, or --demo")
    else:
        from fastcf.io.frames import open_source

        source = open_source(args.source, args.max_frames)
        total = len(source) or None
        if args.max_frames and total:
            total = min(total, args.max_frames)
        frames = _limit(iter(source), args.max_frames)
        label = source.description
    out = Path(args.out)
    run_ = track_frames(
        args.tracker,
        frames,
        box,
        overrides,
        out,
        video=Path(args.video) if args.video else None,
        total=total,
        quiet=args.quiet,
        select=args.select,
    )
    n = len(run_)
    stopped = " (interrupted)" if run_.interrupted else ""
    print(f"tracked {n} frames of {label} with {args.tracker}{stopped}")
    if n:
        speed = sequence_speed(run_.times, run_.decode_times)
        print(f"speed ({threads} thread(s)): {format_line(speed)}")
        print(f"lost in {int((~run_.oks).sum())} of {n} frames")
    if gt is not None and n:
        from fastcf.metrics import iou

        overlap = iou(run_.boxes, gt[:n])
        print(
            f"demo ground truth: mean IoU {overlap.mean():.3f}, "
            f"success@0.5 {(overlap > 0.5).mean():.3f}"
        )
    print(
        f"wrote {out / 'boxes.txt'} and {out / 'track.csv'}"
        + (f" and {args.video}" if args.video else "")
    )
    return 130 if run_.interrupted else 0


def _has_threads_field(name: str) -> bool:
    config = get_config(name)
    return dataclasses.is_dataclass(config) and any(
        f.name == "threads" for f in dataclasses.fields(config)
    )


def _limit(it: Iterator[Frame], n: int | None) -> Iterator[Frame]:
    for i, frame in enumerate(it):
        if n is not None and i >= n:
            return
        yield frame
