"""Per-attribute breakdown: the mean of per-sequence values over the sequences that have
each attribute (OTB / LaSOT attribute plots average per-sequence curves the same way)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt


def sequences_with(
    attributes: Mapping[str, Iterable[str]], attribute_names: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """``{attribute: [sequence, ...]}`` in the order of ``attribute_names`` (or sorted)."""
    seq_attrs = {s: set(a) for s, a in attributes.items()}
    names = (
        list(attribute_names)
        if attribute_names is not None
        else sorted(set().union(*seq_attrs.values()) if seq_attrs else set())
    )
    return {a: [s for s, attrs in seq_attrs.items() if a in attrs] for a in names}


def attribute_means(
    values: Mapping[str, npt.ArrayLike],
    attributes: Mapping[str, Iterable[str]],
    attribute_names: Iterable[str] | None = None,
) -> dict[str, tuple[int, npt.NDArray[np.float64]]]:
    """For each attribute: ``(number of sequences, mean of their values)``.

    ``values`` maps sequence name to a scalar or a curve; ``attributes`` maps sequence name
    to its attributes. Every sequence in ``attributes`` must have a value (KeyError naming
    it otherwise). An attribute no sequence has gives ``(0, nan)``.
    """
    out: dict[str, tuple[int, npt.NDArray[np.float64]]] = {}
    for attr, seqs in sequences_with(attributes, attribute_names).items():
        missing = [s for s in seqs if s not in values]
        if missing:
            raise KeyError(f"no value for sequence(s) {missing} (attribute {attr!r})")
        if not seqs:
            out[attr] = (0, np.asarray(np.nan))
            continue
        stacked = np.stack([np.asarray(values[s], dtype=np.float64) for s in seqs])
        out[attr] = (len(seqs), np.mean(stacked, axis=0))
    return out
