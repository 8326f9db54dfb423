"""``fastcf trackers``: list the registered trackers and their presets, and what each needs."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from fastcf.errors import ConfigError
from fastcf.registry import available, entry, get_config, missing_resources


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "trackers",
        help="list available trackers (and what a preset still needs)",
        description=(
            "List every registered tracker preset; a preset that needs a resource it does "
            "not have (a network file, the cached teacher) is marked with what it needs."
        ),
    )
    p.add_argument("name", nargs="?", help="show the full config of this tracker")
    return p


def _needs(name: str) -> list[str]:
    try:
        return missing_resources(name)
    except ConfigError as exc:
        return [str(exc)]


def run(args: argparse.Namespace) -> int:
    if args.name:
        e = entry(args.name)
        print(f"{e.name}: {e.summary}")
        if e.reference:
            print(f"  reference: {e.reference}")
        for need in _needs(args.name):
            print(f"  NEEDS {need}")
        config = get_config(args.name)
        for f in dataclasses.fields(config):
            print(f"  {f.name} = {getattr(config, f.name)!r}")
        return 0
    for name in available():
        needs = _needs(name)
        mark = "  [needs a resource]" if needs else ""
        print(f"{name:16s} {entry(name).summary}{mark}")
        for need in needs:
            print(f"{'':16s}   needs {need}")
    return 0
