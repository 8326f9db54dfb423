"""Shared by the benchmark scripts: the development set, optionally cut to the first N frames
of every sequence, tracker variants (a base preset + config overrides) run with the fastcf
runner, and their scores.

Accuracy runs use parallel single-threaded processes (``workers``), so the per-frame times
they record are only indicative; speed numbers come from :func:`throughput`, which runs the
trackers one after the other in one fresh single-threaded process (``fastcf bench``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "data"
SEQUENCES = SHARED / "sequences"
CF_VGGM = SHARED / "models" / "CF_VGGM.mat"
NANOTRACK = SHARED / "models" / "peers" / "nanotrack_v2"

# Benchmark family of every development sequence (../shared/README.md)
FAMILIES: dict[str, str] = {
    **{
        s: "OTB"
        for s in (
            "Crossing Human3 Skating1 Girl Biker MotorRolling Diving Dog Singer1 Vase Couple "
            "Football1 Freeman1 Toy Human7 Jogging-2 David FaceOcc1"
        ).split()
    },
    **{s: "VOT" for s in "ball1 bag book matrix car iceskater1 graduate skiing_lt".split()},
    **{s: "UAV" for s in "building5 car16_1 wakeboard4 boat5 person11".split()},
    **{s: "DTB70/UAVDT" for s in "MountainBike6 Gull1 S0601".split()},
}


@dataclass(frozen=True)
class Variant:
    """A named tracker setting: ``base`` preset with ``overrides`` (strings as on the CLI)."""

    name: str
    base: str
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def register(self) -> None:
        from fastcf.registry import alias

        if self.name == self.base:
            if self.overrides:
                raise ValueError(f"variant {self.name!r}: overrides need a name of their own")
            return
        alias(self.name, self.base, **dict(self.overrides))


def dev_dataset(max_frames: int | None = None, data: Path = SEQUENCES, names: Sequence[str] = ()):
    """The development sequences (OTB layout), each cut to its first ``max_frames`` frames."""
    from fastcf.datasets import open_dataset
    from fastcf.datasets.base import Dataset, Sequence
    from fastcf.io.frames import ImageFiles

    ds = open_dataset(f"otb:{data}")
    seqs = [s for s in ds if not names or s.name in names]
    if max_frames is None:
        return Dataset(ds.name, ds.root, seqs, ds.attribute_names, layout=ds.layout)
    cut = []
    for s in seqs:
        n = min(len(s), max_frames)
        frames = ImageFiles(s.frames.paths[:n], s.frames.description)  # type: ignore[attr-defined]
        cut.append(
            Sequence(s.name, frames, s.ground_truth[:n], s.offset, s.attributes, None, s.meta)
        )
    return Dataset(
        f"{ds.name}-first{max_frames}", ds.root, cut, ds.attribute_names, layout=ds.layout
    )


def evaluate(
    variants: Sequence[Variant], dataset: Any, raw: Path, workers: int = 2, quiet: bool = True
) -> dict[str, dict[str, Any]]:
    """Run every variant on every sequence (resumable; results of other settings under the
    same name are run again) and score it.

    Returns ``{variant: {"auc", "p20", "per_sequence": {seq: auc}, "families": {fam: auc},
    "failed": [...]}}``.
    """
    from fastcf.evaluation import run_experiment
    from fastcf.evaluation.report import score_results

    for v in variants:
        v.register()
    names = [v.name for v in variants]
    # results of older settings under the same name are re-run, not refused: a benchmark
    # always measures the settings it names now
    run_experiment(names, dataset, raw, workers=workers, quiet=quiet, overwrite_changed=True)
    report = score_results(raw, dataset, names)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        tr = report.tracker(name)
        per = {s.sequence: float(s.curves.auc) for s in tr.sequences}
        fams: dict[str, list[float]] = {}
        for seq, value in per.items():
            fams.setdefault(FAMILIES.get(seq, "other"), []).append(value)
        out[name] = {
            "auc": float(tr.curves.auc),
            "p20": float(tr.curves.precision_20),
            "per_sequence": per,
            "families": {f: float(np.mean(v)) for f, v in sorted(fams.items())},
            "failed": [s.sequence for s in tr.failed],
        }
    return out


def table(results: Mapping[str, Mapping[str, Any]], extra: Mapping[str, str] | None = None) -> str:
    """A markdown table: variant, AUC, P@20, the family means (and an extra column)."""
    fams = sorted({f for r in results.values() for f in r["families"]})
    head = "| variant | AUC | P@20 | " + " | ".join(fams) + (" | note |" if extra else " |")
    lines = [head, "|---|---:|---:|" + "---:|" * len(fams) + ("---|" if extra else "")]
    for name, r in results.items():
        cells = " | ".join(f"{r['families'].get(f, float('nan')):.3f}" for f in fams)
        note = f" {extra.get(name, '')} |" if extra else ""
        lines.append(f"| {name} | {r['auc']:.3f} | {r['p20']:.3f} | {cells} |{note}")
    return "\n".join(lines)


def speed_columns(overall: Mapping[str, Any]) -> dict[str, float]:
    """The speed columns of a variant's row from ``fastcf bench``'s ``overall`` entry:
    throughput FPS, median / p95 latency ms and the median init ms."""
    return {
        "fps": overall["throughput_fps"],
        "latency_median_ms": overall["latency_ms"]["median"],
        "latency_p95_ms": overall["latency_ms"]["p95"],
        "init_ms": overall["init_ms_median"],
    }
