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


def add_threads_option(p: argparse.ArgumentParser) -> None:
    """``--threads N`` (default 1): each tracker's ``threads`` config field."""
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="threads each tracker computes on (its `threads` config field; default 1, the "
        "single-core setting; see docs/evaluation.md, 'Threads')",
    )


def check_threads_arg(threads: int) -> int:
    if threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {threads}")
    return threads


def add_name_option(p: argparse.ArgumentParser) -> None:
    """``--name NAME``: the dataset's name (its results folder) instead of its folder name."""
    p.add_argument(
        "--name",
        default=None,
        help="dataset name, i.e. the results folder <results>/<name> (default: the "
        "dataset's folder name)",
    )


def load_dataset(spec: str, sequences: list[str] | None = None, name: str | None = None) -> Any:
    """Open ``spec``, reading only ``sequences`` when given, named ``name`` when given."""
    from fastcf.datasets import open_dataset

    return open_dataset(spec, sequences=sequences, name=name)
