"""Allowed ranges of numeric config fields, and the check that names field and range.

A tracker config declares a ``{field: Range}`` table and calls :func:`check_ranges` in
its ``__post_init__``; a value outside its range raises
:class:`~fastcf.errors.ConfigError` such as ``ECOConfig.learning_rate must be in (0, 1),
got 1.0``. Tuple fields (one value per CNN layer) are checked element by element.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastcf.errors import ConfigError


@dataclass(frozen=True)
class Range:
    """An interval of allowed values: ``low``/``high`` (``±inf`` for none), each end open
    or closed; ``integer`` for whole-number fields; ``none_ok`` when ``None`` is allowed
    (e.g. "no cap"). An infinite end is open unless ``high_open=False`` says otherwise."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = True
    integer: bool = False
    none_ok: bool = False
    # a tuple field of a fixed number of values (e.g. one weight per feature); None: any
    length: int | None = None

    def __str__(self) -> str:
        left = "(" if self.low_open or self.low == -math.inf else "["
        right = ")" if self.high_open else "]"
        text = f"{left}{_num(self.low)}, {_num(self.high)}{right}"
        if self.integer:
            text = f"an integer in {text}"
        if self.none_ok:
            text += " or None"
        return text

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is allowed (bools are never numbers here)."""
        if value is None:
            return self.none_ok
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.integer and not isinstance(value, numbers.Integral):
            return False
        v = float(value)
        if math.isnan(v):
            return False
        above = v > self.low if self.low_open else v >= self.low
        below = v < self.high if self.high_open else v <= self.high
        return above and below


def _num(v: float) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:g}"


def describe(rng: Range) -> str:
    """``in (0, 1)`` / ``an integer in [1, inf)``: the phrase after "must be"."""
    text = str(rng)
    return text if rng.integer else f"in {text}"


def check_ranges(config: Any, ranges: Mapping[str, Range]) -> None:
    """Raise ConfigError for the first field of ``config`` outside its range in ``ranges``
    (a tuple field: its length when the range fixes one, then each element), naming the
    config class, the field and the range."""
    owner = type(config).__name__
    for name, rng in ranges.items():
        value = getattr(config, name)
        if rng.length is not None and not (isinstance(value, tuple) and len(value) == rng.length):
            raise ConfigError(
                f"{owner}.{name} must be a tuple of {rng.length} numbers, got {value!r}"
            )
        if isinstance(value, tuple):
            for i, item in enumerate(value):
                if not rng.contains(item):
                    raise ConfigError(
                        f"{owner}.{name}[{i}] must be {describe(rng)}, got {item!r} "
                        f"(in {name}={value!r})"
                    )
        elif not rng.contains(value):
            raise ConfigError(f"{owner}.{name} must be {describe(rng)}, got {value!r}")


# shorthands used by the config tables
POSITIVE = Range(0.0, low_open=True)  # (0, inf)
NON_NEGATIVE = Range(0.0)  # [0, inf)
UNIT_OPEN = Range(0.0, 1.0, low_open=True, high_open=True)  # (0, 1)
UNIT_CLOSED = Range(0.0, 1.0, high_open=False)  # [0, 1]
COUNT = Range(0, integer=True)  # an integer in [0, inf)
COUNT_1 = Range(1, integer=True)  # an integer in [1, inf)
