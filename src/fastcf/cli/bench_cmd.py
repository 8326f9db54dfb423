"""``fastcf bench``: the speed protocol (see fastcf.evaluation.bench)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fastcf.cli.common import (
    add_name_option,
    add_set_option,
    add_threads_option,
    check_threads_arg,
    load_dataset,
    parse_overrides,
    split_list,
)
from fastcf.errors import ConfigError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "bench",
        help="measure tracker speed (throughput, latency; decoding excluded)",
        description=(
            "Decode frames into memory, then time init and every update of each tracker in a "
            "fresh process limited to --threads threads (default 1). Reports throughput "
            "(frames / tracking time per sequence, init included; mean over sequences and "
            "pooled), latency median / p95 / max, init and decode ms, with machine info."
        ),
    )
    p.add_argument("dataset", metavar="DATASET_SPEC", help="dataset spec, e.g. otb:/data/OTB100")
    p.add_argument("--trackers", required=True, help="comma-separated tracker names")
    p.add_argument("--frames", type=int, default=None, help="frames per sequence (default all)")
    p.add_argument("--sequences", default=None, help="comma-separated subset of sequences")
    add_name_option(p)
    add_threads_option(p)
    p.add_argument("--out", default=None, help="write JSON here (and the markdown as .md)")
    p.add_argument(
        "--results",
        default=None,
        help="also write the boxes and per-frame times in the results layout under this "
        "root (<results>/<dataset>/<tracker>/), for `fastcf report`",
    )
    p.add_argument("--tag", default="", help="with --results: write to <tracker>_<tag> folders")
    add_set_option(p)
    p.add_argument(
        "--max-decoded-mb",
        type=float,
        default=2048.0,
        help="memory bound for pre-decoded frames per sequence (default 2048)",
    )
    p.add_argument(
        "--in-process",
        action="store_true",
        help="measure in this process instead of a fresh one (BLAS pools may not be limited)",
    )
    p.add_argument("--quiet", action="store_true", help="no per-sequence progress lines")
    return p


def run(args: argparse.Namespace) -> int:
    from fastcf.evaluation.bench import benchmark, save, to_markdown

    trackers = split_list(args.trackers, "trackers") or []
    sequences = split_list(args.sequences, "sequences")
    overrides = parse_overrides(args.overrides)
    threads = check_threads_arg(args.threads)
    if args.frames is not None and args.frames < 2:
        raise ConfigError(f"--frames must be >= 2, got {args.frames}")
    if args.tag and not args.results:
        raise ConfigError("--tag names result folders: give --results too")
    dataset = load_dataset(args.dataset, sequences, args.name)
    result = benchmark(
        trackers,
        dataset,
        frames=args.frames,
        overrides=overrides,
        sequences=sequences,
        max_decoded_mb=args.max_decoded_mb,
        fresh_process=not args.in_process,
        quiet=args.quiet,
        threads=threads,
        results=args.results,
        tag=args.tag,
    )
    t = result["threads"]
    print(
        f"effective threads: torch={t.get('torch')} opencv={t.get('opencv')} "
        + " ".join(f"{k}={v}" for k, v in t["env"].items())
    )
    for problem in result["thread_problems"]:
        print(f"fastcf bench: warning: {problem}", file=sys.stderr)
    for name, d in result["decode"].items():
        if d["truncated"]:
            print(
                f"fastcf bench: warning: {name} cut to {d['frames']} frames by "
                f"--max-decoded-mb {args.max_decoded_mb:g}",
                file=sys.stderr,
            )
    print(to_markdown(result), end="")
    if args.out:
        json_path, md_path = save(result, args.out)
        print(f"wrote {json_path} and {md_path}")
    if result["results_dir"]:
        print(f"wrote per-frame results to {result['results_dir']}")
    if result["errors"]:
        print(f"fastcf bench: {len(result['errors'])} run(s) failed:", file=sys.stderr)
        for e in result["errors"]:
            print(
                f"  {e['tracker']} / {e['sequence']} at frame {e.get('frame', '?')}: {e['error']}",
                file=sys.stderr,
            )
        return 1
    return 0
