"""The identity of stored results: what each result was run with, and whether it may be
resumed.

Written beside each sequence's result (layout in :mod:`fastcf.io.results`):

* ``meta/<seq>.json`` (:func:`sequence_record`): the tracker's fingerprint, fastcf's
  version, the sequence's length and first box (dataset convention), the dataset's
  name / layout / spec / root, the threads, the tracking and decode seconds, the date;
* ``configs/<fingerprint>.json`` (:func:`save_identity`): the full resolved config and
  the network weights' sha256 behind a fingerprint.

:func:`inspect_result` tells the runner what an existing result is: absent, complete
with the same settings (resume skips it), incomplete (re-run), or a *conflict*: run with
other settings, with no recorded settings, or on another sequence of the same name.
:func:`conflict_error` turns the conflicts into one clear message.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastcf.datasets.base import Dataset, Sequence
from fastcf.errors import AnnotationError, ConfigError
from fastcf.evaluation.identity import TrackerIdentity, config_differences
from fastcf.io.results import (
    ResultPaths,
    config_path,
    read_boxes,
    read_json,
    read_meta,
    write_json,
)

ABSENT = "absent"  # no result: run
SAME = "same"  # complete, same settings, same sequence: resume skips it
INCOMPLETE = "incomplete"  # a box file of the wrong length or unreadable: run again
OTHER_SETTINGS = "other settings"  # conflict
UNRECORDED = "no recorded settings"  # conflict (another tool, or fastcf before 0.1 meta)
OTHER_SEQUENCE = "another sequence"  # conflict (same name, other length or first box)
CONFLICTS = (OTHER_SETTINGS, UNRECORDED, OTHER_SEQUENCE)


def first_box(seq: Sequence) -> list[float]:
    """The sequence's first box in the dataset's convention (as written in row 0)."""
    return [round(float(v), 3) for v in seq.to_dataset_convention(seq.ground_truth[:1])[0]]


def sequence_record(
    identity: TrackerIdentity,
    seq: Sequence,
    dataset: Dataset,
    *,
    frames: int,
    threads: int | None,
    tracking_seconds: float,
    decode_seconds: float | None,
    source: str = "eval",
) -> dict[str, Any]:
    """The ``meta/<seq>.json`` record of one result."""
    return {
        "fingerprint": identity.fingerprint,
        "tracker": identity.tracker,
        "fastcf_version": identity.fastcf_version,
        "sequence": seq.name,
        "frames": int(frames),
        "sequence_frames": len(seq),
        "first_box": first_box(seq),
        "dataset": dataset.name,
        "dataset_layout": dataset.layout,
        "dataset_spec": dataset.spec,
        "dataset_root": os.path.abspath(dataset.root),
        "threads": threads,
        "tracking_seconds": float(tracking_seconds),
        "decode_seconds": None if decode_seconds is None else float(decode_seconds),
        "written_by": source,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def save_identity(tracker_dir: Path, identity: TrackerIdentity) -> Path:
    """Write ``configs/<fingerprint>.json`` (once; an existing one is kept)."""
    path = config_path(tracker_dir, identity.fingerprint)
    if not path.is_file():
        write_json(path, identity.to_dict())
    return path


def stored_config(tracker_dir: Path, fingerprint: str) -> dict[str, Any] | None:
    """The config stored for ``fingerprint`` (None when not stored)."""
    data = read_json(config_path(tracker_dir, fingerprint))
    config = None if data is None else data.get("config")
    return config if isinstance(config, dict) else None


@dataclass(frozen=True)
class Existing:
    state: str  # one of ABSENT, SAME, INCOMPLETE, OTHER_SETTINGS, UNRECORDED, OTHER_SEQUENCE
    detail: str = ""
    fingerprint: str | None = None  # the stored one, when recorded

    @property
    def conflict(self) -> bool:
        return self.state in CONFLICTS


def _same_sequence(meta: dict[str, Any], seq: Sequence) -> str:
    """'' when ``meta`` was written for this sequence, else what differs."""
    frames = meta.get("sequence_frames", meta.get("frames"))
    box = meta.get("first_box")
    want = first_box(seq)
    problems = []
    if frames != len(seq):
        problems.append(f"{frames} frames, this one has {len(seq)}")
    if not (isinstance(box, list) and len(box) == 4 and np.allclose(box, want, atol=1e-3)):
        problems.append(f"first box {box}, this one {want}")
    return "; ".join(problems)


def inspect_result(paths: ResultPaths, identity: TrackerIdentity, seq: Sequence) -> Existing:
    """What the stored result of ``seq`` is, compared with a run of ``identity``."""
    if not paths.boxes.exists():
        return Existing(ABSENT)
    try:
        n = len(read_boxes(paths.boxes))
    except (AnnotationError, OSError):
        return Existing(INCOMPLETE, "unreadable box file")
    meta = read_meta(paths)
    fp = meta.get("fingerprint") if meta is not None else None
    if n != len(seq):
        if meta is not None and _same_sequence(meta, seq):
            return Existing(OTHER_SEQUENCE, _same_sequence(meta, seq), fp)
        return Existing(INCOMPLETE, f"{n} boxes for {len(seq)} frames", fp)
    if meta is None or not isinstance(fp, str):
        return Existing(UNRECORDED, "no meta file (written by another tool or an older fastcf)")
    if fp != identity.fingerprint:
        return Existing(OTHER_SETTINGS, "", fp)
    other = _same_sequence(meta, seq)
    if other:
        return Existing(OTHER_SEQUENCE, other, fp)
    return Existing(SAME, "", fp)


def conflict_error(
    conflicts: SequenceABC[tuple[str, Path, TrackerIdentity, str, Existing]],
) -> ConfigError:
    """One message for every conflict: ``(folder, tracker_dir, identity, seq, existing)``."""
    by_folder: dict[str, list[tuple[Path, TrackerIdentity, str, Existing]]] = {}
    for folder, tdir, ident, seq, ex in conflicts:
        by_folder.setdefault(folder, []).append((tdir, ident, seq, ex))
    parts = []
    for items in by_folder.values():
        tdir, ident = items[0][0], items[0][1]
        lines = []
        for state in CONFLICTS:
            seqs = [(s, ex) for _, _, s, ex in items if ex.state == state]
            if not seqs:
                continue
            names = ", ".join(s for s, _ in seqs[:6]) + (" ..." if len(seqs) > 6 else "")
            text = f"{len(seqs)} sequence(s) with {state} ({names})"
            if state == OTHER_SETTINGS:
                old = sorted({ex.fingerprint or "" for _, ex in seqs})
                diffs: list[str] = []
                for fp in old:
                    diffs += config_differences(stored_config(tdir, fp), ident.config)
                text += f": stored fingerprint {', '.join(f[:12] for f in old)}, "
                text += f"this run {ident.short}"
                if diffs:
                    text += "; changed: " + ", ".join(diffs[:8])
                    text += " ..." if len(diffs) > 8 else ""
            elif state == OTHER_SEQUENCE:
                text += f": {seqs[0][1].detail}"
            lines.append(text)
        parts.append(f"{tdir} holds results this run would not reproduce: " + "; ".join(lines))
    folders = ", ".join(by_folder)
    return ConfigError(
        " | ".join(parts) + f". Refusing to resume into them: re-run {folders} with "
        "--no-resume (resume=False) to overwrite, --overwrite-changed (overwrite_changed=True) "
        "to overwrite only these sequences, or write next to them with --tag T (tag=); "
        "results of another dataset with the same folder name: give it --name"
    )
