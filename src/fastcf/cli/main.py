"""``fastcf`` entry point: dispatches to one module per sub-command.

Each sub-command module defines ``add_parser(subparsers)`` and ``run(args) -> int``.
Errors derived from :class:`fastcf.FastCFError` are printed as one clear line and exit
with status 2; no traceback is shown for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from fastcf import __version__
from fastcf.cli.track import join_negative_box
from fastcf.errors import FastCFError

# sub-command name -> module under fastcf.cli (missing modules are skipped)
COMMANDS = {
    "track": "track",
    "eval": "eval_cmd",
    "report": "report_cmd",
    "bench": "bench_cmd",
    "trackers": "trackers_cmd",
    "teacher": "teacher_cmd",
    "distill": "distill_cmd",
    "trax": "trax_cmd",
    "show": "show_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastcf",
        description="Real-time deep correlation-filter tracking on one CPU core.",
    )
    parser.add_argument("--version", action="version", version=f"fastcf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        try:
            mod = importlib.import_module(f"fastcf.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"fastcf.cli.{module}":
                continue
            raise
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # a negative box as one token (--box -10,20,50,50) would read as an option to argparse
    tokens = join_negative_box(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(tokens)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    try:
        return int(args._run(args) or 0)
    except FastCFError as exc:
        print(f"fastcf {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"fastcf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
