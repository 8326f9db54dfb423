"""Argument helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from fastcf.errors import ConfigError


def add_set_option(p: argparse.ArgumentParser, per_tracker: bool = True) -> None:
    """``--set KEY=VALUE`` (repeatable); stored in ``args.overrides``."""
    extra = " (TRACKER:KEY=VALUE for one tracker)" if per_tracker else ""
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config field{extra}",
    )


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}`` (values converted later by field type)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def split_list(text: str | None, what: str) -> list[str] | None:
    """A comma-separated option as a list (None when the option was not given)."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ConfigError(f"--{what}: empty list")
    return items


def load_dataset(spec: str) -> Any:
    from fastcf.datasets import open_dataset

    return open_dataset(spec)
