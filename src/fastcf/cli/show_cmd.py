"""``fastcf show``: a video of one sequence with the ground truth and every tracker's boxes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fastcf.cli.common import split_list
from fastcf.errors import DatasetError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "show",
        help="write an MP4 / GIF of one sequence with the ground truth and each tracker's boxes",
        description=(
            "Draw the ground truth (white) and each tracker's result (one colour each) on "
            "every frame of SEQ and write an MP4 or an animated GIF (by --out's suffix). "
            "RESULTS is a dataset's results folder, <results>/<dataset name>, as "
            "`fastcf eval` prints it; the dataset is the one recorded with the results "
            "unless --dataset is given."
        ),
    )
    p.add_argument("results", metavar="RESULTS", help="e.g. results/sequences")
    p.add_argument("sequence", metavar="SEQ", help="sequence name, e.g. Dog")
    p.add_argument(
        "--dataset", metavar="DATASET_SPEC", help="dataset spec (default: the recorded one)"
    )
    p.add_argument("--trackers", default=None, help="comma-separated tracker folders")
    p.add_argument("--out", default=None, help="output .mp4 or .gif (default show/<SEQ>.mp4)")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--fps", type=float, default=25.0, help="frames per second of the output")
    return p


def run(args: argparse.Namespace) -> int:
    from fastcf.datasets import open_dataset
    from fastcf.evaluation.show import recorded_spec, render_sequence, results_dir_for

    given = Path(args.results)
    spec = args.dataset
    name = None
    if spec is None:
        results_dir = results_dir_for(given, None)
        spec = recorded_spec(results_dir, args.sequence)
        if spec is None:
            raise DatasetError(
                f"{results_dir}: no dataset recorded for {args.sequence!r} (results written by "
                "another tool or an older fastcf): give --dataset SPEC"
            )
        name = results_dir.name
    dataset = open_dataset(spec, sequences=[args.sequence], name=name)
    results_dir = results_dir_for(given, dataset.name)
    out = Path(args.out) if args.out else Path("show") / f"{args.sequence}.mp4"
    shown = render_sequence(
        results_dir,
        dataset,
        args.sequence,
        out,
        trackers=split_list(args.trackers, "trackers"),
        max_frames=args.max_frames,
        fps=args.fps,
    )
    print(
        f"wrote {shown.path}: {shown.frames} frames of {args.sequence}, ground truth (white) "
        f"and {', '.join(shown.trackers)}"
    )
    for tracker, why in shown.skipped.items():
        print(f"  {tracker}: not drawn ({why})")
    return 0
