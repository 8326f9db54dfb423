"""``fastcf trax``: serve a tracker over the TraX protocol (for the VOT toolkit)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fastcf.cli.common import add_set_option, parse_overrides
from fastcf.errors import ConfigError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "trax",
        help="serve a tracker over TraX, for the VOT toolkit (needs vot-trax)",
        description=(
            "Speak the TraX protocol on the standard streams (or TRAX_SOCKET): the VOT "
            "toolkit starts this command from trackers.ini (protocol = trax) and sends "
            "initialize / frame / quit requests. Rectangle and polygon regions (a polygon "
            "becomes its bounds), path / memory / buffer images; replies carry the box and "
            "the tracker's confidence. Errors are sent to the client as the quit reason. "
            "See docs/vot.md."
        ),
    )
    p.add_argument("--tracker", default="feco", help="registered tracker name (default feco)")
    add_set_option(p, per_tracker=False)
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads the tracker computes on (its config's `threads`; default: the preset's, 1)",
    )
    p.add_argument("--log", default=None, metavar="FILE", help="write the TraX message log to FILE")
    return p


def run(args: argparse.Namespace) -> int:
    from fastcf.io.trax import import_trax, serve
    from fastcf.registry import available, create, entry, get_config

    import_trax()  # one clear line when vot-trax is missing, before anything else
    overrides: dict[str, Any] = dict(parse_overrides(args.overrides))
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        overrides["threads"] = args.threads

    def factory() -> Any:
        get_config(args.tracker, **overrides)  # unknown name / field: a ConfigError
        return create(args.tracker, **overrides)

    known = args.tracker in available()
    serve(
        factory,
        name=f"fastcf {args.tracker}",
        description=entry(args.tracker).summary if known else "",
        log=str(Path(args.log).resolve()) if args.log else False,
    )
    return 0
