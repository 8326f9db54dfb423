"""``fastcf track``: follow one object through a video, an image folder or a camera.

    fastcf track VIDEO_OR_FOLDER --box x,y,w,h [--tracker NAME] [--out DIR] [--video out.mp4]
    fastcf track --demo            # embedded real-pixel clip, no input needed

Writes ``boxes.txt`` (x,y,w,h per frame, 0-based) and ``track.csv`` (frame, box, ok, score,
tracker ms) under ``--out``; with ``--video`` an MP4 with the box, score and FPS drawn.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fastcf.api import Box, Frame, check_box
from fastcf.cli.common import add_set_option, parse_overrides
from fastcf.errors import ConfigError, FastCFError, FrameError, InvalidBoxError
from fastcf.registry import DEFAULT_TRACKER, available, create


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "track", help="track one object in a video, image folder or camera"
    )
    p.add_argument("source", nargs="?", help="video file, folder of images, or camera index")
    p.add_argument("--demo", action="store_true", help="track the embedded demo clip")
    p.add_argument("--box", help="initial box x,y,w,h in 0-based pixels")
    p.add_argument("--select", action="store_true", help="select the box with the mouse")
    p.add_argument(
        "--tracker", default=DEFAULT_TRACKER, help=f"tracker name (default {DEFAULT_TRACKER})"
    )
    add_set_option(p, per_tracker=False)
    p.add_argument("--out", default="fastcf_out", help="output folder (default fastcf_out)")
    p.add_argument("--video", help="also write an MP4 with the results drawn")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def parse_box(text: str) -> Box:
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4:
        raise InvalidBoxError(f"--box expects x,y,w,h (4 numbers), got {text!r}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidBoxError(f"--box expects numbers, got {text!r}") from None
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


def track_frames(
    tracker_name: str,
    frames: Iterator[Frame],
    box: Box | None,
    overrides: dict[str, Any],
    video: Path | None = None,
    total: int | None = None,
    quiet: bool = False,
    select: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run a tracker over frames; returns boxes (N,4), oks, scores and tracker seconds."""
    from tqdm import tqdm

    from fastcf.io.overlay import VideoSink, draw_result

    tracker = create(tracker_name, **overrides)
    sink = VideoSink(video) if video else None
    boxes: list[Box] = []
    oks: list[bool] = []
    scores: list[float] = []
    times: list[float] = []
    bar = tqdm(total=total or None, unit="frame", disable=quiet, dynamic_ncols=True)
    try:
        for index, frame in enumerate(frames):
            if index == 0:
                if box is None:
                    box = _select_box(frame) if select else None
                if box is None:
                    raise InvalidBoxError("an initial box is needed: pass --box x,y,w,h")
                t0 = time.perf_counter()
                tracker.init(frame, box)
                times.append(time.perf_counter() - t0)
                ok, result, score = True, tuple(float(v) for v in box), 1.0
            else:
                t0 = time.perf_counter()
                r = tracker.update(frame)
                times.append(time.perf_counter() - t0)
                ok, result, score = r.ok, r.box, r.score
            boxes.append(result)  # type: ignore[arg-type]
            oks.append(ok)
            scores.append(score)
            fps = 1.0 / max(float(np.median(times[1:])), 1e-9) if len(times) > 1 else None
            if sink is not None:
                sink.write(draw_result(frame, result, ok, score, fps))  # type: ignore[arg-type]
            bar.update(1)
            if fps is not None and index % 10 == 0:
                bar.set_postfix(fps=f"{fps:.0f}", ok=ok, score=f"{score:.2f}")
    finally:
        bar.close()
        if sink is not None:
            sink.close()
    if not boxes:
        raise FrameError("the source produced no frames")
    return (np.array(boxes), np.array(oks), np.array(scores), np.array(times))


def write_outputs(
    out: Path, boxes: np.ndarray, oks: np.ndarray, scores: np.ndarray, times: np.ndarray
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    np.savetxt(out / "boxes.txt", boxes, fmt="%.3f", delimiter=",")
    with open(out / "track.csv", "w") as f:
        f.write("frame,x,y,w,h,ok,score,tracker_ms\n")
        for i, (b, ok, s, t) in enumerate(zip(boxes, oks, scores, times, strict=True)):
            f.write(
                f"{i},{b[0]:.3f},{b[1]:.3f},{b[2]:.3f},{b[3]:.3f},{int(ok)},{s:.4f},{t * 1e3:.3f}\n"
            )


def run(args: argparse.Namespace) -> int:
    if args.tracker not in available():
        raise ConfigError(f"unknown tracker {args.tracker!r}; available: {', '.join(available())}")
    overrides = parse_overrides(args.overrides)
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
    boxes, oks, scores, times = track_frames(
        args.tracker,
        frames,
        box,
        overrides,
        video=Path(args.video) if args.video else None,
        total=total,
        quiet=args.quiet,
        select=args.select,
    )
    write_outputs(out, boxes, oks, scores, times)
    n = len(boxes)
    upd = times[1:] if n > 1 else times
    print(f"tracked {n} frames of {label} with {args.tracker}")
    print(
        f"tracker time: init {times[0] * 1e3:.1f} ms, median {np.median(upd) * 1e3:.1f} ms/frame "
        f"({1.0 / max(float(np.median(upd)), 1e-9):.1f} FPS), "
        f"p95 {np.percentile(upd, 95) * 1e3:.1f} ms "
        "(decoding excluded; not single-thread enforced: use `fastcf bench` for speed numbers)"
    )
    print(f"lost in {int((~oks).sum())} of {n} frames")
    if gt is not None:
        from fastcf.metrics import iou

        overlap = iou(boxes, gt[:n])
        print(
            f"demo ground truth: mean IoU {overlap.mean():.3f}, "
            f"success@0.5 {(overlap > 0.5).mean():.3f}"
        )
    print(
        f"wrote {out / 'boxes.txt'} and {out / 'track.csv'}"
        + (f" and {args.video}" if args.video else "")
    )
    return 0


def _limit(it: Iterator[Frame], n: int | None) -> Iterator[Frame]:
    for i, frame in enumerate(it):
        if n is not None and i >= n:
            return
        yield frame
