"""Run fastcf's trackers inside the real VOT toolkit: workspace, trackers.ini, toolkit.

The VOT toolkit (``vot-toolkit`` 0.9 on PyPI) evaluates trackers it starts as TraX
processes (:mod:`fastcf.io.trax`, ``fastcf trax``). This module

* builds a **workspace** from any fastcf dataset (:func:`build_workspace`):
  ``sequences/<name>/`` in the VOT layout (``color/00000001.jpg ...``, a ``sequence``
  metadata file, ``groundtruth.txt`` with 0-based ``x,y,w,h`` rectangles, fastcf's and
  VOT's convention; OTB's 1-based boxes are shifted by the dataset reader) and
  ``sequences/list.txt``; a ``stack.yaml`` with the supervised experiment (VOT's
  settings: 5 frames skipped after a failure, burn-in 10, the EAO interval given) and
  no dataset URL, so the toolkit downloads nothing. The experiment is the toolkit's own,
  through a single-object runtime adapter (:mod:`fastcf.evaluation.vot_toolkit_adapter`,
  copied into the workspace) that works around a 0.9.0 bug: its supervised experiment
  and its TraX runtime disagree on one object versus a list of objects; ``trackers.ini``
  entries that start ``python -m fastcf.cli.main trax --tracker NAME``; ``config.yaml``.
  A sequence with unknown (NaN) ground truth is cut before its first unknown frame: the
  toolkit would count such a frame as a failure;
* finds or installs the toolkit (:func:`find_toolkit`, :func:`install_toolkit`) in its
  **own virtual environment** under ``$FASTCF_CACHE`` (``~/.cache/fastcf``):
  ``vot-toolkit`` requires ``opencv-python``, whose ``cv2`` would overwrite the
  ``opencv-contrib-python-headless`` one fastcf needs (CSRT, KCF) if both were installed
  in one environment, and ``attributee`` must be pinned to 0.1.9 for ``vot-toolkit`` 0.9.0
  to import at all. The toolkit only talks to fastcf over TraX, so the environments stay
  apart: fastcf runs in the interpreter named in ``trackers.ini``;
* runs ``vot evaluate`` and ``vot analysis`` (:func:`run_toolkit`) with text results
  (``VOT_RESULTS_BINARY=false``) and reads the toolkit's analysis JSON
  (:func:`read_toolkit_analysis`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fastcf.datasets.base import Dataset
from fastcf.datasets.base import Sequence as DatasetSequence
from fastcf.errors import ConfigError, DatasetError

TOOLKIT_VERSION = "0.9.0"
TOOLKIT_REQUIREMENTS = (f"vot-toolkit=={TOOLKIT_VERSION}", "attributee==0.1.9")
EXPERIMENT = "baseline"  # the supervised experiment's name in the stack file
TOOLKIT_ENV = "FASTCF_VOT_TOOLKIT"  # path of a `vot` executable to use instead
ADAPTER_MODULE = "fastcf_vot_adapter"  # vot_toolkit_adapter.py, copied into the workspace

Log = Callable[[str], None]


def _cache_dir() -> Path:
    from fastcf.nets.teacher import cache_dir

    return cache_dir()


def toolkit_env_dir() -> Path:
    """The virtual environment :func:`install_toolkit` creates."""
    return _cache_dir() / f"vot-toolkit-{TOOLKIT_VERSION}"


def _venv_vot(env: Path) -> Path:
    return env / ("Scripts/vot.exe" if os.name == "nt" else "bin/vot")


def _marker(env: Path) -> Path:
    return env / "fastcf-installed.txt"


def find_toolkit() -> Path | None:
    """The ``vot`` executable: ``$FASTCF_VOT_TOOLKIT``, else the one of the environment
    :func:`install_toolkit` completed; None when there is neither."""
    given = os.environ.get(TOOLKIT_ENV)
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise ConfigError(f"{TOOLKIT_ENV}={given}: no such file (a `vot` executable)")
        return path
    env = toolkit_env_dir()
    vot = _venv_vot(env)
    return vot if vot.is_file() and _marker(env).is_file() else None


def install_toolkit(log: Log | None = None) -> Path:
    """Create the toolkit's virtual environment and pip-install the pinned toolkit there
    (needs PyPI; about 600 MB on disk). Returns the ``vot`` executable;
    :class:`ConfigError` with pip's last lines when the install fails."""
    found = find_toolkit()
    if found is not None:
        return found
    env = toolkit_env_dir()
    if log:
        log(f"installing {' '.join(TOOLKIT_REQUIREMENTS)} into {env} (its own environment)")
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    python = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *TOOLKIT_REQUIREMENTS],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise ConfigError(f"cannot install the VOT toolkit ({TOOLKIT_REQUIREMENTS}): {tail}")
    _marker(env).write_text("\n".join(TOOLKIT_REQUIREMENTS) + "\n")
    return _venv_vot(env)


# --- the workspace ---------------------------------------------------------------------


@dataclass
class Workspace:
    root: Path
    sequences: list[str]
    frames: dict[str, int]  # frames written per sequence
    cut: dict[str, int] = field(default_factory=dict)  # sequence -> original length, if cut
    trackers: dict[str, str] = field(default_factory=dict)  # toolkit id -> fastcf tracker
    interval: tuple[int, int] = (1, 1)


def export_sequence(seq: DatasetSequence, dest: Path, max_frames: int | None = None) -> int:
    """Write ``seq`` in the VOT layout into ``dest``; returns the frames written.

    Frames are copied when the sequence is a list of image files, else encoded as PNG.
    The sequence is cut before its first frame with unknown ground truth."""
    gt = np.asarray(seq.ground_truth, dtype=np.float64).reshape(-1, 4)
    unknown = np.flatnonzero(np.isnan(gt).any(axis=1))
    n = len(gt) if len(unknown) == 0 else int(unknown[0])
    if max_frames is not None:
        n = min(n, int(max_frames))
    if n < 2:
        raise DatasetError(f"sequence {seq.name!r}: fewer than 2 frames with known ground truth")
    color = dest / "color"
    color.mkdir(parents=True, exist_ok=True)
    paths = getattr(seq.frames, "paths", None)
    ext = ".jpg"
    if paths is not None and all(Path(p).suffix.lower() in (".jpg", ".jpeg") for p in paths[:n]):
        for i, src in enumerate(paths[:n]):
            shutil.copyfile(src, color / f"{i + 1:08d}.jpg")
    else:
        import cv2

        ext = ".png"
        for i, frame in enumerate(seq.iter_frames()):
            if i >= n:
                break
            cv2.imwrite(str(color / f"{i + 1:08d}.png"), frame)
    lines = [",".join(format(float(v), ".10g") for v in row) for row in gt[:n]]
    (dest / "groundtruth.txt").write_text("\n".join(lines) + "\n")
    (dest / "sequence").write_text(
        f"name={seq.name}\nformat=default\nfps=30\nchannels.color=color/%08d{ext}\n"
    )
    return n


def stack_yaml(interval: tuple[int, int], repetitions: int = 1) -> str:
    """A supervised-experiment stack (VOT's settings) with the given EAO interval."""
    low, high = interval
    return (
        "title: fastcf supervised (VOT protocol)\n"
        "experiments:\n"
        f"  {EXPERIMENT}:\n"
        f"    type: {ADAPTER_MODULE}.SupervisedExperiment\n"
        f"    repetitions: {repetitions}\n"
        "    skip_initialize: 5\n"
        "    analyses:\n"
        "      - type: supervised_ar\n"
        "        sensitivity: 30\n"
        "      - type: supervised_average_ar\n"
        "        sensitivity: 30\n"
        "      - type: supervised_eao_score\n"
        f"        low: {low}\n"
        f"        high: {high}\n"
        "      - type: supervised_eao_curve\n"
    )


def tracker_id(name: str) -> str:
    """The toolkit identifier of a fastcf tracker (letters, digits, ``-``, ``_``)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return f"fastcf_{safe}"


def trackers_ini(
    trackers: Sequence[str],
    python: str,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    timeout: int = 300,
) -> str:
    """``trackers.ini`` entries that start ``fastcf trax`` through TraX, one thread each.

    ``env_PYTHONPATH`` names the folder this fastcf was imported from, so the toolkit
    starts the same fastcf whatever its own environment is."""
    import fastcf

    package_parent = Path(fastcf.__file__).resolve().parents[1]
    blocks = []
    for name in trackers:
        sets = "".join(f" --set {k}={v}" for k, v in (overrides or {}).get(name, {}).items())
        blocks.append(
            f"[{tracker_id(name)}]\n"
            f"label = fastcf {name}\n"
            "protocol = trax\n"
            f'command = "{python}" -m fastcf.cli.main trax --tracker {name} --threads 1{sets}\n'
            f"timeout = {timeout}\n"
            f"env_PYTHONPATH = {package_parent}\n"
        )
    return "\n".join(blocks)


def build_workspace(
    dataset: Dataset,
    sequences: Sequence[str],
    root: str | Path,
    trackers: Sequence[str],
    *,
    interval: tuple[int, int] | None = None,
    max_frames: int | None = None,
    python: str | None = None,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> Workspace:
    """Create a VOT workspace in ``root`` (which must not hold one already).

    ``interval`` defaults to :func:`fastcf.evaluation.vot.eao_interval` of the written
    sequence lengths."""
    from fastcf.evaluation.vot import eao_interval

    base = Path(root)
    if (base / "config.yaml").exists():
        raise ConfigError(f"{base}: already a VOT workspace (remove it first)")
    seq_dir = base / "sequences"
    seq_dir.mkdir(parents=True, exist_ok=True)
    ws = Workspace(base, [], {})
    for name in sequences:
        seq = dataset[name]
        n = export_sequence(seq, seq_dir / name, max_frames)
        ws.sequences.append(name)
        ws.frames[name] = n
        if n < len(seq):
            ws.cut[name] = len(seq)
    (seq_dir / "list.txt").write_text("\n".join(ws.sequences) + "\n")
    ws.interval = interval or eao_interval(list(ws.frames.values()))
    shutil.copyfile(
        Path(__file__).with_name("vot_toolkit_adapter.py"), base / f"{ADAPTER_MODULE}.py"
    )
    (base / "stack.yaml").write_text(stack_yaml(ws.interval))
    (base / "trackers.ini").write_text(trackers_ini(trackers, python or sys.executable, overrides))
    (base / "config.yaml").write_text(
        "registry:\n- ./trackers.ini\nstack: stack.yaml\nsequences: sequences\n"
    )
    (base / "results").mkdir(exist_ok=True)
    ws.trackers = {tracker_id(t): t for t in trackers}
    return ws


# --- running the toolkit ------------------------------------------------------------------


@dataclass
class ToolkitRun:
    analysis: Path  # the toolkit's analysis JSON
    log: Path  # everything the toolkit printed
    seconds: dict[str, float]  # "evaluate" / "analysis" wall time


def toolkit_environment(workspace_root: Path) -> dict[str, str]:
    """The toolkit's environment: text results, and the workspace on ``PYTHONPATH`` for
    the supervised-experiment adapter (nothing of fastcf's own environment)."""
    env = dict(os.environ)
    env["VOT_RESULTS_BINARY"] = "false"  # text trajectories, readable by fastcf
    env["PYTHONPATH"] = str(workspace_root.resolve())
    return env


def run_toolkit(
    vot: str | Path,
    workspace: Workspace,
    name: str = "fastcf",
    log: Log | None = None,
    timeout: float = 3600.0,
) -> ToolkitRun:
    """``vot evaluate`` then ``vot analysis --format json`` on the workspace's trackers.

    The toolkit reports tracker errors in its log but exits 0, so every trajectory is
    checked afterwards; a missing one raises :class:`ConfigError` with the log's tail."""
    import time

    ids = list(workspace.trackers)
    log_path = workspace.root / "toolkit.log"
    seconds: dict[str, float] = {}
    with log_path.open("w") as out:
        for step, args in (
            ("evaluate", ["evaluate", "--workspace", str(workspace.root), *ids]),
            (
                "analysis",
                ["analysis", "--workspace", str(workspace.root), "--format", "json"]
                + ["--name", name, *ids],
            ),
        ):
            cmd = [str(vot), *args]
            out.write(f"$ {' '.join(cmd)}\n")
            out.flush()
            if log:
                log(f"running: vot {' '.join(args)}")
            t0 = time.perf_counter()
            proc = subprocess.run(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=toolkit_environment(workspace.root),
                timeout=timeout,
                cwd=workspace.root,
            )
            seconds[step] = time.perf_counter() - t0
            if proc.returncode != 0:
                raise ConfigError(f"vot {step} exited with {proc.returncode}: {_tail(log_path)}")
            if step == "evaluate":
                missing = [
                    f"{tid}/{s}"
                    for tid in ids
                    for s in workspace.sequences
                    if not toolkit_trajectory(workspace.root, tid, s).is_file()
                ]
                if missing:
                    raise ConfigError(
                        f"vot evaluate left no result for {', '.join(missing)}: {_tail(log_path)}"
                    )
    analysis = workspace.root / "analysis" / f"{name}.json"
    if not analysis.is_file():
        raise ConfigError(f"vot analysis wrote no {analysis}: {_tail(log_path)}")
    return ToolkitRun(analysis, log_path, seconds)


def _tail(path: Path, lines: int = 4) -> str:
    text = path.read_text(errors="replace").strip().splitlines()
    return " | ".join(t.strip() for t in text[-lines:])


def toolkit_results(workspace_root: str | Path) -> Path:
    """The folder holding the toolkit's trajectories: ``<tracker>/<experiment>/<seq>/``."""
    return Path(workspace_root) / "results"


def toolkit_trajectory(workspace_root: str | Path, tracker: str, sequence: str) -> Path:
    return toolkit_results(workspace_root) / tracker / EXPERIMENT / sequence / f"{sequence}_001.txt"


def read_toolkit_analysis(path: str | Path) -> dict[str, dict[str, Any]]:
    """The toolkit's analysis JSON as ``{tracker id: {"accuracy", "robustness", "eao",
    "sequences": {name: {"accuracy", "failures"}}}}`` (the supervised experiment)."""
    data = json.loads(Path(path).read_text())
    return parse_analysis(data)


def parse_analysis(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Pick the supervised experiment's analyses out of the toolkit's JSON.

    The toolkit serialises each analysis as its result grid flattened row by row
    (trackers x sequences for per-sequence analyses, trackers for aggregated ones), in
    the order of its ``trackers`` and ``sequences`` entries."""
    try:
        trackers = list(data["trackers"])
        sequences = list(data["sequences"])
        experiment = data["results"][EXPERIMENT]
        kinds = [a["type"].rsplit(".", 1)[-1] for a in experiment["parameters"]["analyses"]]
        results = experiment["results"]
    except (KeyError, TypeError, AttributeError) as exc:
        raise DatasetError(f"unexpected VOT analysis JSON layout (missing {exc})") from None
    out: dict[str, dict[str, Any]] = {t: {"sequences": {}} for t in trackers}
    for kind, grid in zip(kinds, results, strict=True):
        for i, t in enumerate(trackers):
            if kind == "AccuracyRobustness":
                for j, name in enumerate(sequences):
                    cell = grid[i * len(sequences) + j]
                    out[t]["sequences"][name] = {"accuracy": cell[0], "failures": cell[1]}
            elif kind == "AverageAccuracyRobustness":
                out[t]["accuracy"], out[t]["robustness"] = grid[i][0], grid[i][1]
            elif kind == "EAOScore":
                out[t]["eao"] = grid[i][0]
            elif kind == "EAOCurve":
                out[t]["eao_curve"] = grid[i][0]
    return out
