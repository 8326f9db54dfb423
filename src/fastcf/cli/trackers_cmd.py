"""``fastcf trackers``: list the registered trackers and their presets."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from fastcf.registry import available, entry, get_config


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser("trackers", help="list available trackers")
    p.add_argument("name", nargs="?", help="show the full config of this tracker")
    return p


def run(args: argparse.Namespace) -> int:
    if args.name:
        e = entry(args.name)
        print(f"{e.name}: {e.summary}")
        if e.reference:
            print(f"  reference: {e.reference}")
        config = get_config(args.name)
        for f in dataclasses.fields(config):
            print(f"  {f.name} = {getattr(config, f.name)!r}")
        return 0
    for name in available():
        print(f"{name:16s} {entry(name).summary}")
    return 0
