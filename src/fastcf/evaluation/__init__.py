"""Running trackers over datasets (runner), the speed protocol (bench), reports, and the
got10k-style :class:`Experiment` API over all three.

The names below are loaded on first use so that importing one sub-module does not import
the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Experiment": "fastcf.evaluation.experiment",
    "build_report": "fastcf.evaluation.report",
    "run_experiment": "fastcf.evaluation.runner",
    "ExperimentSummary": "fastcf.evaluation.runner",
    "SequenceOutcome": "fastcf.evaluation.runner",
    "benchmark": "fastcf.evaluation.bench",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fastcf.evaluation' has no attribute {name!r}")
