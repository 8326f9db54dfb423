"""Score result files against a dataset's ground truth and write plots and tables.

Reads ``<results_root>/<dataset.name>/<tracker>/<seq>.txt`` (boxes in the dataset's own
convention), ``times/<seq>_time.txt``, ``errors/<seq>.txt`` and ``meta/<seq>.json`` (the
layout of :mod:`fastcf.io.results`, which the runner writes) and writes into ``out_dir``:

* ``success.png|svg``, ``precision.png|svg``, ``norm_precision.png|svg``: OTB-style
  plots, legend sorted by score with the score in it;
* ``report.json``: every number, per tracker, per tracker x sequence, per attribute;
* ``report.md``: the same as markdown tables;
* with ``per_sequence=True``: ``per_sequence.png|svg``, a bar plot of the AUC of every
  tracker on every sequence.

Rules (``docs/metrics.md``):

* Sequences that none of the trackers was run on (no result and no error file) are
  skipped and listed, unless ``sequences`` names them. Sequences the dataset reader could
  not read (``Dataset.broken``) are listed with their reason and not scored.
* A sequence without ground truth beyond frame 0 (``video:`` / ``folder:`` specs, the
  GOT-10k test split) is **"no ground truth"**: no AUC, not in any average; its speed is
  still reported.
* Frames whose ground truth is unknown (NaN) or absent are excluded from scoring; the
  report says how many, per sequence.
* A result that is missing, failed (``errors/<seq>.txt``: the recorded error is shown),
  unreadable or shorter than the ground truth counts as failed: it enters every average
  with zero curves (all frames failures), so all trackers are averaged over the same
  sequences. A result whose ``meta`` says it was run on another sequence of the same name
  (other length or first box) is a **mismatch**: failed, and flagged. A result longer
  than the ground truth without such a record is truncated to it (as the LaSOT toolkit
  does; needed for OTB's Human3, whose published results cover 1698 frames but whose
  ground truth has 199), and flagged.
* Each tracker lists the fingerprints (:mod:`fastcf.evaluation.identity`) its sequences
  were run with; a tracker whose sequences have different ones is marked
  **mixed settings**.
* Speed: :mod:`fastcf.metrics.speed` on the time files (throughput = frames / tracking
  time per sequence, mean over sequences; latency; init; decode from the meta records).
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
from fastcf.evaluation.plots import CurveEntry, plot_bars, plot_curves
from fastcf.evaluation.store import first_box
from fastcf.io.results import (
    error_message,
    read_boxes,
    read_meta,
    read_times,
    result_paths,
)
from fastcf.metrics import (
    Curves,
    attribute_means,
    failed_curves,
    got_ious,
    got_scores,
    gt_mask,
    mean_curves,
    score_sequence,
)
from fastcf.metrics.speed import (
    DEFINITIONS,
    SequenceSpeed,
    SpeedSummary,
    sequence_speed,
    summarize_speed,
)

STATUS_OK = "ok"
NO_GROUND_TRUTH = "no ground truth"
FAILED_STATUSES = ("failed", "missing", "unreadable", "incomplete", "mismatch")


def nan_curves() -> Curves:
    """Curves of NaN: a tracker with no sequence to score (AUC etc. are NaN)."""
    c = failed_curves()
    nan = np.full_like
    return Curves(
        c.success_thresholds,
        nan(c.success, np.nan),
        c.precision_thresholds,
        nan(c.precision, np.nan),
        c.norm_precision_thresholds,
        nan(c.norm_precision, np.nan),
    )


@dataclass
class SequenceResult:
    """One tracker on one sequence."""

    tracker: str
    sequence: str
    status: str  # ok | no ground truth | failed | missing | unreadable | incomplete | mismatch
    message: str
    curves: Curves  # zero curves when failed; NaN curves when there is no ground truth
    got_ious: npt.NDArray[np.float64]  # IoUs of the frames GOT-10k scores (zeros if failed)
    speed: SequenceSpeed
    num_frames: int
    truncated_from: int | None = None
    times: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    decode_times: npt.NDArray[np.float64] | None = None
    fingerprint: str | None = None  # of the settings the result was run with (meta)
    fastcf_version: str | None = None

    @property
    def ok(self) -> bool:
        """A usable result (scored, or timed only when there is no ground truth)."""
        return self.status in (STATUS_OK, NO_GROUND_TRUTH)

    @property
    def scored(self) -> bool:
        """In the accuracy averages (as a result or as a failure)."""
        return self.status != NO_GROUND_TRUTH


@dataclass
class TrackerResult:
    name: str
    sequences: list[SequenceResult]
    curves: Curves
    speed: SpeedSummary
    ao: float
    sr50: float
    sr75: float

    @property
    def failed(self) -> list[SequenceResult]:
        return [s for s in self.sequences if s.status in FAILED_STATUSES]

    def by_sequence(self) -> dict[str, SequenceResult]:
        return {s.sequence: s for s in self.sequences}

    @property
    def fingerprints(self) -> dict[str, list[str]]:
        """Fingerprint (``"unrecorded"`` when a result has none) -> sequences, of results."""
        out: dict[str, list[str]] = {}
        for s in self.sequences:
            if s.ok:
                out.setdefault(s.fingerprint or "unrecorded", []).append(s.sequence)
        return out

    @property
    def mixed_settings(self) -> bool:
        """True when this tracker's results were run with different settings."""
        return len(self.fingerprints) > 1

    @property
    def versions(self) -> list[str]:
        return sorted({s.fastcf_version for s in self.sequences if s.ok and s.fastcf_version})


@dataclass
class Report:
    dataset: str
    results_dir: Path
    out_dir: Path
    trackers: list[TrackerResult]
    sequences: list[str]  # every sequence reported (scored and "no ground truth")
    # attribute -> (sequences having it, tracker -> {"auc", "precision_20", ...})
    attributes: dict[str, tuple[list[str], dict[str, dict[str, float]]]] = field(
        default_factory=dict
    )
    files: list[Path] = field(default_factory=list)
    skipped_sequences: list[str] = field(default_factory=list)  # no tracker ran them
    no_ground_truth: list[str] = field(default_factory=list)  # nothing to score after frame 0
    unreadable_sequences: dict[str, str] = field(default_factory=dict)  # Dataset.broken
    excluded_frames: dict[str, int] = field(default_factory=dict)  # seq -> frames w/o GT
    layout: str = ""

    def tracker(self, name: str) -> TrackerResult:
        for t in self.trackers:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def scored_sequences(self) -> list[str]:
        return [s for s in self.sequences if s not in self.no_ground_truth]

    def warnings(self) -> list[str]:
        """What a reader must not miss: mismatched lengths, truncations, mixed settings,
        unreadable sequences, sequences without ground truth."""
        out = []
        for t in self.trackers:
            for s in t.sequences:
                if s.status == "mismatch" or s.truncated_from is not None:
                    out.append(f"{t.name} / {s.sequence}: {s.message}")
            if t.mixed_settings:
                parts = [f"{fp[:12]} ({len(seqs)})" for fp, seqs in t.fingerprints.items()]
                out.append(f"{t.name}: sequences run with different settings: {', '.join(parts)}")
        for name, reason in self.unreadable_sequences.items():
            out.append(f"sequence {name} cannot be read, not scored: {reason}")
        if self.no_ground_truth:
            out.append(
                "no ground truth beyond frame 0 (speed only, no accuracy): "
                + ", ".join(self.no_ground_truth)
            )
        return out


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


def has_ground_truth(seq: DatasetSequence) -> bool:
    """True when some frame after frame 0 has a ground-truth box to score against."""
    gt = np.asarray(seq.ground_truth, dtype=np.float64).reshape(-1, 4)
    return bool(gt_mask(gt, seq.absent)[1:].any())


def excluded_frame_count(seq: DatasetSequence) -> int:
    """Frames after frame 0 whose ground truth is unknown (NaN) or absent."""
    gt = np.asarray(seq.ground_truth, dtype=np.float64).reshape(-1, 4)
    return int(np.count_nonzero(~gt_mask(gt, seq.absent)[1:]))


def _decode_array(meta: dict[str, Any] | None, frames: int) -> npt.NDArray[np.float64] | None:
    value = None if meta is None else meta.get("decode_seconds")
    if not isinstance(value, int | float) or frames <= 0:
        return None
    return np.full(frames, float(value) / frames)


def _other_sequence(meta: dict[str, Any] | None, seq: DatasetSequence) -> str:
    """'' when the meta record (if any) was written for this sequence, else the difference."""
    if meta is None:
        return ""
    problems = []
    frames = meta.get("sequence_frames", meta.get("frames"))
    if isinstance(frames, int) and frames != len(seq.ground_truth):
        problems.append(f"{frames} frames")
    box = meta.get("first_box")
    if isinstance(box, list) and len(box) == 4:
        if not np.allclose(box, first_box(seq), atol=1e-3):
            problems.append(f"first box {box}")
    if not problems:
        return ""
    return (
        f"the result was run on a sequence with {' and '.join(problems)}, but "
        f"{seq.name!r} here has {len(seq.ground_truth)} frames and first box {first_box(seq)} "
        "(another dataset with the same folder name? keep them apart with --name)"
    )


def score_result(
    results_root: str | Path, dataset_name: str, tracker: str, seq: DatasetSequence
) -> SequenceResult:
    """Read and score one tracker's result files on one sequence."""
    paths = result_paths(results_root, dataset_name, tracker, seq.name)
    gt = np.asarray(seq.ground_truth, dtype=np.float64).reshape(-1, 4)
    n = len(gt)
    absent = None if seq.absent is None else np.asarray(seq.absent, dtype=bool)
    with_gt = has_ground_truth(seq)
    meta = read_meta(paths)
    fingerprint = meta.get("fingerprint") if meta is not None else None
    version = meta.get("fastcf_version") if meta is not None else None

    def failed(status: str, message: str) -> SequenceResult:
        # GOT frames of a failed sequence count as IoU 0
        scored = int(np.count_nonzero(gt_mask(gt, absent)[1:])) if n else 0
        return SequenceResult(
            tracker,
            seq.name,
            status,
            message,
            failed_curves() if with_gt else nan_curves(),
            np.zeros(scored),
            SequenceSpeed.unknown(),
            n,
        )

    if paths.error.exists():
        return failed("failed", error_message(paths.error))
    if not paths.boxes.exists():
        return failed("missing", f"no result file {paths.boxes}")
    try:
        boxes = read_boxes(paths.boxes)
    except (AnnotationError, OSError) as exc:
        return failed("unreadable", str(exc))
    times = read_times(paths.times)
    decode = _decode_array(meta, len(boxes))
    speed = sequence_speed(times, decode, frames=len(boxes))
    common = dict(
        num_frames=n,
        times=times,
        decode_times=decode,
        fingerprint=fingerprint if isinstance(fingerprint, str) else None,
        fastcf_version=version if isinstance(version, str) else None,
    )
    if not with_gt:
        # nothing to score after frame 0; the result still gives the speed
        return SequenceResult(
            tracker,
            seq.name,
            NO_GROUND_TRUTH,
            "no ground truth beyond frame 0: speed only",
            nan_curves(),
            np.zeros(0),
            speed,
            **common,  # type: ignore[arg-type]
        )
    other = _other_sequence(meta, seq)
    if other:
        result = failed("mismatch", f"{paths.boxes}: {other}")
        result.fingerprint = common["fingerprint"]  # type: ignore[assignment]
        return result
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
    message = (
        f"{paths.boxes}: result truncated from {truncated_from} boxes to the {n} "
        "ground-truth frames"
        if truncated_from
        else ""
    )
    return SequenceResult(
        tracker=tracker,
        sequence=seq.name,
        status=STATUS_OK,
        message=message,
        curves=scores.curves,
        got_ious=got_ious(boxes, gt, absent),
        speed=speed,
        truncated_from=truncated_from,
        **common,  # type: ignore[arg-type]
    )


def score_tracker(
    results_root: str | Path, dataset: Dataset, tracker: str, sequences: Sequence[str]
) -> TrackerResult:
    seqs = [score_result(results_root, dataset.name, tracker, dataset[name]) for name in sequences]
    scored = [s for s in seqs if s.scored]
    got = got_scores([s.got_ious for s in scored])
    timed = [s for s in seqs if s.ok]
    return TrackerResult(
        name=tracker,
        sequences=seqs,
        curves=mean_curves(s.curves for s in scored) if scored else nan_curves(),
        speed=summarize_speed([s.times for s in timed], [s.decode_times for s in timed]),
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
        per_seq = {s: r for s, r in t.by_sequence().items() if s in chosen}
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
    unreadable = dict(dataset.broken)
    if sequences:
        seq_names = []
        for s in sequences:
            if s in dataset.broken:
                continue
            dataset[s]  # raises DatasetError naming an unknown sequence
            seq_names.append(s)
        unreadable = {s: r for s, r in dataset.broken.items() if s in sequences}
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
                f"{len(dataset)} readable sequences of {dataset.name!r}"
            )
    no_gt = [s for s in seq_names if not has_ground_truth(dataset[s])]
    excluded = {
        s: excluded_frame_count(dataset[s])
        for s in seq_names
        if s not in no_gt and excluded_frame_count(dataset[s])
    }
    scored = [score_tracker(results_root, dataset, t, seq_names) for t in names]
    with_gt = [s for s in seq_names if s not in no_gt]
    return Report(
        dataset=dataset.name,
        results_dir=results_dir,
        out_dir=Path(),
        trackers=scored,
        sequences=seq_names,
        attributes=_attribute_table(dataset, with_gt, scored),
        skipped_sequences=skipped,
        no_ground_truth=no_gt,
        unreadable_sequences=unreadable,
        excluded_frames=excluded,
        layout=dataset.layout,
    )


# --- writing ----------------------------------------------------------------------


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _curves_json(c: Curves) -> dict[str, Any]:
    def values(a: npt.NDArray[np.float64]) -> list[float | None]:
        return [_num(float(v)) for v in a]

    return {
        "success_thresholds": c.success_thresholds.tolist(),
        "success": values(c.success),
        "precision_thresholds": c.precision_thresholds.tolist(),
        "precision": values(c.precision),
        "norm_precision_thresholds": c.norm_precision_thresholds.tolist(),
        "norm_precision": values(c.norm_precision),
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    trackers: dict[str, Any] = {}
    for t in report.trackers:
        per_seq: dict[str, Any] = {}
        for s in t.sequences:
            entry: dict[str, Any] = {"status": s.status, "frames": s.num_frames}
            if s.message:
                entry["message"] = s.message
            if s.fingerprint:
                entry["fingerprint"] = s.fingerprint
            if s.ok:
                entry["speed"] = s.speed.to_dict()
            if s.status == STATUS_OK:
                g = got_scores(s.got_ious)
                entry.update(
                    auc=s.curves.auc,
                    precision_20=s.curves.precision_20,
                    norm_precision_20=s.curves.norm_precision_20,
                    success_rate_50=s.curves.success_rate_50,
                    ao=_num(g.ao),
                    sr50=_num(g.sr50),
                    sr75=_num(g.sr75),
                    curves=_curves_json(s.curves),
                )
            if s.truncated_from is not None:
                entry["truncated_from"] = s.truncated_from
            per_seq[s.sequence] = entry
        trackers[t.name] = {
            "overall": {
                "auc": _num(t.curves.auc),
                "precision_20": _num(t.curves.precision_20),
                "norm_precision_20": _num(t.curves.norm_precision_20),
                "success_rate_50": _num(t.curves.success_rate_50),
                "ao": _num(t.ao),
                "sr50": _num(t.sr50),
                "sr75": _num(t.sr75),
                "speed": t.speed.to_dict(),
                "sequences": len(t.sequences),
                "scored_sequences": sum(s.scored for s in t.sequences),
                "failed_sequences": len(t.failed),
                "failed": {s.sequence: s.status for s in t.failed},
                "fingerprints": t.fingerprints,
                "mixed_settings": t.mixed_settings,
                "fastcf_versions": t.versions,
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
        "layout": report.layout,
        "results_dir": str(report.results_dir),
        "sequences": report.sequences,
        "skipped_sequences": report.skipped_sequences,
        "no_ground_truth": report.no_ground_truth,
        "unreadable_sequences": report.unreadable_sequences,
        "excluded_frames": report.excluded_frames,
        "warnings": report.warnings(),
        "conventions": {
            "auc": "mean of the success curve over IoU thresholds 0:0.05:1 (IoU > t)",
            "precision_20": "fraction of frames with centre error <= 20 px",
            "norm_precision_20": "fraction with LaSOT normalized centre error <= 0.2",
            "ao_sr": "GOT-10k: frames 1.. with visible target pooled over sequences",
            "frame_0": "scored, result replaced by the ground truth (OTB / got10k)",
            "excluded_frames": "frames whose ground truth is unknown (NaN) or absent: not scored",
            "no_ground_truth": "no ground truth beyond frame 0: no accuracy, speed only",
            "failed_sequences": "enter the averages with zero curves",
            **{f"speed.{k}": v for k, v in DEFINITIONS.items()},
        },
        "trackers": trackers,
        "attributes": attributes,
    }


def _fmt(v: float | None, digits: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}f}"


def ordered(report: Report) -> list[TrackerResult]:
    """Trackers best AUC first (NaN last), then by name."""
    return sorted(
        report.trackers,
        key=lambda t: (math.isnan(t.curves.auc), -np.nan_to_num(t.curves.auc), t.name),
    )


def display_name(t: TrackerResult) -> str:
    return f"{t.name} (mixed settings)" if t.mixed_settings else t.name


def per_sequence_rows(report: Report, key: str = "auc") -> list[tuple[str, list[str]]]:
    """``(sequence, cells)`` for each sequence: the tracker's value or its status."""
    rows = []
    order = ordered(report)
    for seq in report.sequences:
        cells = []
        for t in order:
            s = t.by_sequence()[seq]
            if key == "throughput_fps":
                cells.append(_fmt(s.speed.throughput_fps, 1) if s.ok else s.status)
            else:
                cells.append(_fmt(getattr(s.curves, key)) if s.status == STATUS_OK else s.status)
        rows.append((seq, cells))
    return rows


def report_markdown(report: Report) -> str:
    order = ordered(report)
    scored = report.scored_sequences
    lines = [f"# Tracking report: {report.dataset}", ""]
    intro = (
        f"{len(scored)} scored sequences (layout {report.layout}), results from "
        f"`{report.results_dir}`. AUC: mean success over IoU thresholds 0:0.05:1; P@20: "
        "precision at 20 px; NP@0.2: normalized precision at 0.2; AO/SR: GOT-10k rules "
        "(frame 0 and absent frames excluded, frames pooled). Throughput: frames / tracking "
        "time per sequence (init included, decoding excluded), mean over sequences; pooled: "
        "all frames / all time; latency: per-frame update ms pooled. Failed sequences count "
        "as zero in every average."
    )
    if report.skipped_sequences:
        intro += f" Skipped (no tracker has a result): {', '.join(report.skipped_sequences)}."
    lines += [
        intro,
        "",
        "| Tracker | AUC | P@20 | NP@0.2 | AO | SR0.5 | SR0.75 | throughput FPS | pooled FPS "
        "| latency median / p95 / max ms | init ms | decode ms | failed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in order:
        sp = t.speed
        lines.append(
            f"| {display_name(t)} | {_fmt(t.curves.auc)} | {_fmt(t.curves.precision_20)} "
            f"| {_fmt(t.curves.norm_precision_20)} | {_fmt(t.ao)} | {_fmt(t.sr50)} "
            f"| {_fmt(t.sr75)} | {_fmt(sp.throughput_fps, 1)} "
            f"| {_fmt(sp.throughput_fps_pooled, 1)} | {_fmt(sp.latency_median_ms, 1)} / "
            f"{_fmt(sp.latency_p95_ms, 1)} / {_fmt(sp.latency_max_ms, 1)} "
            f"| {_fmt(sp.init_ms_median, 1)} | {_fmt(sp.decode_ms, 2)} | {len(t.failed)} |"
        )
    tables = (
        ("AUC", "auc"),
        ("Precision at 20 px", "precision_20"),
        ("Throughput FPS", "throughput_fps"),
    )
    for title, key in tables:
        lines += ["", f"## {title} per sequence", ""]
        lines.append("| Sequence | " + " | ".join(t.name for t in order) + " |")
        lines.append("|---" * (len(order) + 1) + "|")
        for seq, cells in per_sequence_rows(report, key):
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
    lines += ["", "## Settings", ""]
    for t in order:
        prints = t.fingerprints
        parts = [
            f"`{fp[:12]}` ({len(seqs)} sequences)" if fp != "unrecorded" else
            f"not recorded ({len(seqs)} sequences)"
            for fp, seqs in prints.items()
        ]  # fmt: skip
        versions = f"; fastcf {', '.join(t.versions)}" if t.versions else ""
        mark = " **mixed settings**" if t.mixed_settings else ""
        lines.append(f"- {t.name}:{mark} {', '.join(parts) or 'no results'}{versions}")
    notes = []
    if report.excluded_frames:
        total = sum(report.excluded_frames.values())
        each = ", ".join(f"{s} ({n})" for s, n in report.excluded_frames.items())
        notes.append(
            f"{total} frames whose ground truth is unknown (NaN) or absent are excluded from "
            f"scoring: {each}"
        )
    notes += [f"{w}" for w in report.warnings()]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_plots(report: Report, out_dir: Path) -> list[Path]:
    title = f"of OPE on {report.dataset}"
    written: list[Path] = []
    plotted = [t for t in report.trackers if math.isfinite(t.curves.auc)]
    if not plotted:  # nothing scored (e.g. only sequences without ground truth)
        return written
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
        for t in plotted:
            c = t.curves
            label = display_name(t)
            if which == "auc":
                entries.append(CurveEntry(label, c.success_thresholds, c.success, c.auc))
            elif which == "p":
                entries.append(
                    CurveEntry(label, c.precision_thresholds, c.precision, c.precision_20)
                )
            else:
                entries.append(
                    CurveEntry(
                        label,
                        c.norm_precision_thresholds,
                        c.norm_precision,
                        c.norm_precision_20,
                    )
                )
        written += plot_curves(entries, out_dir / stem, f"{head} {title}", xlabel, ylabel)
    return written


def write_per_sequence_plot(report: Report, out_dir: Path) -> list[Path]:
    """``per_sequence.png|svg``: AUC of every tracker on every scored sequence (bars;
    failed sequences at 0)."""
    seqs = report.scored_sequences
    order = ordered(report)
    if not seqs or not order:
        return []
    values = {
        display_name(t): [t.by_sequence()[s].curves.auc if t.by_sequence()[s].scored else 0.0
                          for s in seqs]
        for t in order
    }  # fmt: skip
    return plot_bars(
        seqs,
        values,
        out_dir / "per_sequence",
        f"AUC per sequence on {report.dataset}",
        "Success AUC",
    )


def build_report(
    results_root: str | Path,
    dataset: Dataset,
    trackers: Sequence[str] | None = None,
    out_dir: str | Path = "reports",
    sequences: Sequence[str] | None = None,
    per_sequence: bool = False,
) -> Report:
    """Score ``results_root/<dataset.name>/<tracker>/`` and write plots and tables.

    ``trackers=None`` takes every tracker folder found; ``sequences=None`` every sequence
    of the dataset that some tracker ran. ``per_sequence`` adds the bar plot of AUC per
    sequence. Returns the :class:`Report` (all numbers), with ``files`` listing what was
    written.
    """
    report = score_results(results_root, dataset, trackers, sequences)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report.out_dir = out
    files = write_plots(report, out)
    if per_sequence:
        files += write_per_sequence_plot(report, out)
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report_to_dict(report), indent=2, allow_nan=False) + "\n")
    md_path = out / "report.md"
    md_path.write_text(report_markdown(report))
    report.files = [*files, json_path, md_path]
    return report
