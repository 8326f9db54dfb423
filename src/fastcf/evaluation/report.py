"""Score result files against a dataset's ground truth and write plots and tables.

Reads ``<results_root>/<dataset.name>/<tracker>/<seq>.txt`` (boxes in the dataset's own
convention), ``times/<seq>_time.txt`` and ``errors/<seq>.txt`` (the layout of
:mod:`fastcf.io.results`, which the runner writes) and writes into ``out_dir``:

* ``success.png|svg``, ``precision.png|svg``, ``norm_precision.png|svg``: OTB-style
  plots, legend sorted by score with the score in it;
* ``report.json``: every number, per tracker, per tracker x sequence, per attribute;
* ``report.md``: the same as markdown tables.

Sequences that none of the trackers was run on (no result and no error file) are skipped
and listed, unless ``sequences`` names them. A sequence whose result is missing, failed
(``errors/<seq>.txt``), unreadable or shorter than the ground truth counts as failed: it
enters every average with zero curves (all frames failures), so that all trackers are
averaged over the same sequences. A result longer than the ground truth is truncated to
it (as the LaSOT toolkit does; needed for OTB's Human3, whose published results cover
1698 frames but whose ground truth has 199), and the truncation is recorded. See
``docs/metrics.md`` for the metric conventions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fastcf.datasets.base import Dataset
from fastcf.datasets.base import Sequence as DatasetSequence
from fastcf.errors import AnnotationError, DatasetError
from fastcf.evaluation.plots import CurveEntry, plot_curves
from fastcf.io.results import read_boxes, read_times, result_paths
from fastcf.metrics import (
    Curves,
    SpeedStats,
    attribute_means,
    failed_curves,
    got_ious,
    got_scores,
    gt_mask,
    mean_curves,
    score_sequence,
    speed_stats,
)

STATUS_OK = "ok"


@dataclass
class SequenceResult:
    """One tracker on one sequence."""

    tracker: str
    sequence: str
    status: str  # ok | failed | missing | unreadable | incomplete
    message: str
    curves: Curves  # zero curves when status != ok
    got_ious: npt.NDArray[np.float64]  # IoUs of the frames GOT-10k scores (zeros if not ok)
    speed: SpeedStats
    num_frames: int
    truncated_from: int | None = None
    times: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


@dataclass
class TrackerResult:
    name: str
    sequences: list[SequenceResult]
    curves: Curves
    speed: SpeedStats
    ao: float
    sr50: float
    sr75: float

    @property
    def failed(self) -> list[SequenceResult]:
        return [s for s in self.sequences if not s.ok]

    def by_sequence(self) -> dict[str, SequenceResult]:
        return {s.sequence: s for s in self.sequences}


@dataclass
class Report:
    dataset: str
    results_dir: Path
    out_dir: Path
    trackers: list[TrackerResult]
    sequences: list[str]
    # attribute -> (sequences having it, tracker -> {"auc", "precision_20", ...})
    attributes: dict[str, tuple[list[str], dict[str, dict[str, float]]]] = field(
        default_factory=dict
    )
    files: list[Path] = field(default_factory=list)
    skipped_sequences: list[str] = field(default_factory=list)  # no tracker ran them

    def tracker(self, name: str) -> TrackerResult:
        for t in self.trackers:
            if t.name == name:
                return t
        raise KeyError(name)


# --- reading and scoring -----------------------------------------------------------


def discover_trackers(results_dir: Path) -> list[str]:
    """Tracker folders under ``<results_root>/<dataset>``: those with a result or error."""
    if not results_dir.is_dir():
        raise DatasetError(f"{results_dir}: no results folder for this dataset")
    names = sorted(
        p.name
        for p in results_dir.iterdir()
        if p.is_dir() and (any(p.glob("*.txt")) or (p / "errors").is_dir())
    )
    if not names:
        raise DatasetError(f"{results_dir}: no tracker result folders found")
    return names


def _first_line(path: Path) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError as exc:
        return f"unreadable error file: {exc}"
    return text.splitlines()[0] if text else "failed (empty error file)"


def score_result(
    results_root: str | Path, dataset_name: str, tracker: str, seq: DatasetSequence
) -> SequenceResult:
    """Read and score one tracker's result files on one sequence."""
    paths = result_paths(results_root, dataset_name, tracker, seq.name)
    gt = np.asarray(seq.ground_truth, dtype=np.float64).reshape(-1, 4)
    n = len(gt)
    absent = None if seq.absent is None else np.asarray(seq.absent, dtype=bool)
    nan = float("nan")
    no_speed = SpeedStats(nan, nan, nan, 0)

    def failed(status: str, message: str) -> SequenceResult:
        # GOT frames of a failed sequence count as IoU 0
        scored = int(np.count_nonzero(gt_mask(gt, absent)[1:])) if n else 0
        return SequenceResult(
            tracker, seq.name, status, message, failed_curves(), np.zeros(scored), no_speed, n
        )

    if paths.error.exists():
        return failed("failed", _first_line(paths.error))
    if not paths.boxes.exists():
        return failed("missing", f"no result file {paths.boxes}")
    try:
        boxes = read_boxes(paths.boxes)
    except (AnnotationError, OSError) as exc:
        return failed("unreadable", str(exc))
    truncated_from = None
    if len(boxes) < n:
        return failed("incomplete", f"{paths.boxes}: {len(boxes)} boxes for {n} frames")
    if len(boxes) > n:
        truncated_from = len(boxes)
        boxes = boxes[:n]
    # back to fastcf's 0-based convention, as the ground truth is held
    boxes[:, :2] -= seq.offset
    try:
        scores = score_sequence(boxes, gt, absent)
    except ValueError as exc:
        raise DatasetError(f"sequence {seq.name!r}: {exc}") from None
    times = read_times(paths.times)
    speed = speed_stats([times]) if len(times) else no_speed
    return SequenceResult(
        tracker=tracker,
        sequence=seq.name,
        status=STATUS_OK,
        message=(f"truncated from {truncated_from} boxes" if truncated_from else ""),
        curves=scores.curves,
        got_ious=got_ious(boxes, gt, absent),
        speed=speed,
        num_frames=n,
        truncated_from=truncated_from,
        times=times,
    )


def score_tracker(
    results_root: str | Path, dataset: Dataset, tracker: str, sequences: Sequence[str]
) -> TrackerResult:
    seqs = [score_result(results_root, dataset.name, tracker, dataset[name]) for name in sequences]
    got = got_scores([s.got_ious for s in seqs])
    return TrackerResult(
        name=tracker,
        sequences=seqs,
        curves=mean_curves(s.curves for s in seqs),
        speed=speed_stats(s.times for s in seqs if s.ok),
        ao=got.ao,
        sr50=got.sr50,
        sr75=got.sr75,
    )


def _attribute_table(
    dataset: Dataset, sequences: Sequence[str], trackers: Sequence[TrackerResult]
) -> dict[str, tuple[list[str], dict[str, dict[str, float]]]]:
    chosen = set(sequences)
    seq_attrs = {s.name: s.attributes for s in dataset if s.name in chosen}
    if not any(seq_attrs.values()):
        return {}
    names: Iterable[str] | None = dataset.attribute_names or None
    table: dict[str, tuple[list[str], dict[str, dict[str, float]]]] = {}
    for t in trackers:
        per_seq = t.by_sequence()
        means = {
            key: attribute_means(
                {s: getattr(per_seq[s].curves, key) for s in per_seq}, seq_attrs, names
            )
            for key in ("auc", "precision_20", "norm_precision_20")
        }
        for attr, (count, _) in means["auc"].items():
            if count == 0:
                continue
            members = [s for s in sequences if attr in seq_attrs.get(s, ())]
            entry = table.setdefault(attr, (members, {}))
            entry[1][t.name] = {key: float(means[key][attr][1]) for key in means}
    return table


def score_results(
    results_root: str | Path,
    dataset: Dataset,
    trackers: Sequence[str] | None = None,
    sequences: Sequence[str] | None = None,
) -> Report:
    """Score every tracker on the dataset's sequences (or a subset); writes nothing."""
    results_dir = Path(results_root) / dataset.name
    names = list(trackers) if trackers else discover_trackers(results_dir)
    for name in names:
        if not (results_dir / name).is_dir():
            raise DatasetError(f"{results_dir / name}: no results for tracker {name!r}")
    skipped: list[str] = []
    if sequences:
        seq_names = list(sequences)
        for s in seq_names:
            dataset[s]  # raises DatasetError naming an unknown sequence
    else:
        # sequences that no tracker was run on (no result, no error file) are skipped
        seq_names = []
        for s in dataset.names():
            ran = any(
                result_paths(results_root, dataset.name, t, s).boxes.exists()
                or result_paths(results_root, dataset.name, t, s).error.exists()
                for t in names
            )
            (seq_names if ran else skipped).append(s)
        if not seq_names:
            raise DatasetError(
                f"{results_dir}: none of the trackers {names} has a result for any of the "
                f"{len(dataset)} sequences of {dataset.name!r}"
            )
    scored = [score_tracker(results_root, dataset, t, seq_names) for t in names]
    return Report(
        dataset=dataset.name,
        results_dir=results_dir,
        out_dir=Path(),
        trackers=scored,
        sequences=seq_names,
        attributes=_attribute_table(dataset, seq_names, scored),
        skipped_sequences=skipped,
    )


# --- writing ----------------------------------------------------------------------


def _num(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _curves_json(c: Curves) -> dict[str, Any]:
    return {
        "success_thresholds": c.success_thresholds.tolist(),
        "success": c.success.tolist(),
        "precision_thresholds": c.precision_thresholds.tolist(),
        "precision": c.precision.tolist(),
        "norm_precision_thresholds": c.norm_precision_thresholds.tolist(),
        "norm_precision": c.norm_precision.tolist(),
    }


def _speed_json(s: SpeedStats) -> dict[str, Any]:
    return {
        "median_fps": _num(s.median_fps),
        "mean_fps": _num(s.mean_fps),
        "p95_latency_ms": _num(s.p95_latency_ms),
        "timed_frames": s.num_frames,
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    trackers: dict[str, Any] = {}
    for t in report.trackers:
        per_seq: dict[str, Any] = {}
        for s in t.sequences:
            entry: dict[str, Any] = {"status": s.status, "frames": s.num_frames}
            if s.message:
                entry["message"] = s.message
            if s.ok:
                g = got_scores(s.got_ious)
                entry.update(
                    auc=s.curves.auc,
                    precision_20=s.curves.precision_20,
                    norm_precision_20=s.curves.norm_precision_20,
                    success_rate_50=s.curves.success_rate_50,
                    ao=_num(g.ao),
                    sr50=_num(g.sr50),
                    sr75=_num(g.sr75),
                    **_speed_json(s.speed),
                    curves=_curves_json(s.curves),
                )
            if s.truncated_from is not None:
                entry["truncated_from"] = s.truncated_from
            per_seq[s.sequence] = entry
        trackers[t.name] = {
            "overall": {
                "auc": t.curves.auc,
                "precision_20": t.curves.precision_20,
                "norm_precision_20": t.curves.norm_precision_20,
                "success_rate_50": t.curves.success_rate_50,
                "ao": _num(t.ao),
                "sr50": _num(t.sr50),
                "sr75": _num(t.sr75),
                **_speed_json(t.speed),
                "sequences": len(t.sequences),
                "failed_sequences": len(t.failed),
                "failed": {s.sequence: s.status for s in t.failed},
                "curves": _curves_json(t.curves),
            },
            "sequences": per_seq,
        }
    attributes = {
        attr: {"sequences": members, "trackers": values}
        for attr, (members, values) in report.attributes.items()
    }
    return {
        "dataset": report.dataset,
        "results_dir": str(report.results_dir),
        "sequences": report.sequences,
        "skipped_sequences": report.skipped_sequences,
        "conventions": {
            "auc": "mean of the success curve over IoU thresholds 0:0.05:1 (IoU > t)",
            "precision_20": "fraction of frames with centre error <= 20 px",
            "norm_precision_20": "fraction with LaSOT normalized centre error <= 0.2",
            "ao_sr": "GOT-10k: frames 1.. with visible target pooled over sequences",
            "frame_0": "scored, result replaced by the ground truth (OTB / got10k)",
            "failed_sequences": "enter the averages with zero curves",
            "median_fps": "median of 1/time over all frames but frame 0 (init)",
        },
        "trackers": trackers,
        "attributes": attributes,
    }


def _fmt(v: float | None, digits: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}f}"


def report_markdown(report: Report) -> str:
    order = sorted(report.trackers, key=lambda t: (-t.curves.auc, t.name))
    lines = [f"# Tracking report: {report.dataset}", ""]
    lines += [
        f"{len(report.sequences)} sequences, results from `{report.results_dir}`. "
        "AUC: mean success over IoU thresholds 0:0.05:1; P@20: precision at 20 px; "
        "NP@0.2: normalized precision at 0.2; AO/SR: GOT-10k rules (frame 0 and absent "
        "frames excluded, frames pooled). FPS: median over frames after frame 0. Failed "
        "sequences count as zero in every average."
        + (
            f" Skipped (no tracker has a result): {', '.join(report.skipped_sequences)}."
            if report.skipped_sequences
            else ""
        ),
        "",
        "| Tracker | AUC | P@20 | NP@0.2 | AO | SR0.5 | SR0.75 | FPS (median) "
        "| p95 latency ms | failed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in order:
        lines.append(
            f"| {t.name} | {_fmt(t.curves.auc)} | {_fmt(t.curves.precision_20)} "
            f"| {_fmt(t.curves.norm_precision_20)} | {_fmt(t.ao)} | {_fmt(t.sr50)} "
            f"| {_fmt(t.sr75)} | {_fmt(t.speed.median_fps, 1)} "
            f"| {_fmt(t.speed.p95_latency_ms, 1)} | {len(t.failed)} |"
        )
    for title, key in (("AUC", "auc"), ("Precision at 20 px", "precision_20")):
        lines += ["", f"## {title} per sequence", ""]
        lines.append("| Sequence | " + " | ".join(t.name for t in order) + " |")
        lines.append("|---" * (len(order) + 1) + "|")
        for seq in report.sequences:
            cells = []
            for t in order:
                s = t.by_sequence()[seq]
                cells.append(_fmt(getattr(s.curves, key)) if s.ok else s.status)
            lines.append(f"| {seq} | " + " | ".join(cells) + " |")
    if report.attributes:
        lines += ["", "## AUC per attribute", ""]
        lines.append("| Attribute | sequences | " + " | ".join(t.name for t in order) + " |")
        lines.append("|---" * (len(order) + 2) + "|")
        for attr, (members, values) in report.attributes.items():
            cells = [_fmt(values[t.name]["auc"]) for t in order]
            lines.append(f"| {attr} | {len(members)} | " + " | ".join(cells) + " |")
    failures = [(t.name, s) for t in order for s in t.failed]
    if failures:
        lines += ["", "## Failed sequences", ""]
        for name, s in failures:
            lines.append(f"- {name} / {s.sequence}: {s.status}: {s.message}")
    truncated = [(t.name, s) for t in order for s in t.sequences if s.truncated_from]
    if truncated:
        lines += ["", "## Notes", ""]
        for name, s in truncated:
            lines.append(
                f"- {name} / {s.sequence}: result truncated from {s.truncated_from} "
                f"to the {s.num_frames} ground-truth frames"
            )
    return "\n".join(lines) + "\n"


def write_plots(report: Report, out_dir: Path) -> list[Path]:
    title = f"of OPE on {report.dataset}"
    written: list[Path] = []
    specs = (
        ("success", "Success plots", "Overlap threshold", "Success rate", "auc"),
        ("precision", "Precision plots", "Location error threshold (px)", "Precision", "p"),
        (
            "norm_precision",
            "Normalized precision plots",
            "Normalized location error threshold",
            "Normalized precision",
            "np",
        ),
    )
    for stem, head, xlabel, ylabel, which in specs:
        entries = []
        for t in report.trackers:
            c = t.curves
            if which == "auc":
                entries.append(CurveEntry(t.name, c.success_thresholds, c.success, c.auc))
            elif which == "p":
                entries.append(
                    CurveEntry(t.name, c.precision_thresholds, c.precision, c.precision_20)
                )
            else:
                entries.append(
                    CurveEntry(
                        t.name,
                        c.norm_precision_thresholds,
                        c.norm_precision,
                        c.norm_precision_20,
                    )
                )
        written += plot_curves(entries, out_dir / stem, f"{head} {title}", xlabel, ylabel)
    return written


def build_report(
    results_root: str | Path,
    dataset: Dataset,
    trackers: Sequence[str] | None = None,
    out_dir: str | Path = "reports",
    sequences: Sequence[str] | None = None,
) -> Report:
    """Score ``results_root/<dataset.name>/<tracker>/`` and write plots and tables.

    ``trackers=None`` takes every tracker folder found; ``sequences=None`` every sequence
    of the dataset. Returns the :class:`Report` (all numbers), with ``files`` listing
    what was written.
    """
    report = score_results(results_root, dataset, trackers, sequences)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report.out_dir = out
    files = write_plots(report, out)
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report_to_dict(report), indent=2, allow_nan=False) + "\n")
    md_path = out / "report.md"
    md_path.write_text(report_markdown(report))
    report.files = [*files, json_path, md_path]
    return report
