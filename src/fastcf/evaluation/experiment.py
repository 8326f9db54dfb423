"""A Python experiment API in the got10k toolkit's style.

::

    from fastcf.evaluation import Experiment

    exp = Experiment("otb:../shared/data/sequences", results="results")
    exp.run("feco")                               # a registered name ...
    exp.run("eco-hc", tag="fast", number_of_scales_filter=9)  # ... with config overrides
    exp.run(my_tracker)                           # ... or any object with init / update
    report = exp.report(["feco", "eco-hc_fast"])  # plots, report.md, report.json
    print(report.tracker("feco").curves.auc, report.tracker("feco").speed.throughput_fps)

:meth:`Experiment.run` is :func:`fastcf.evaluation.runner.run_experiment` on one tracker
(same result layout, same settings fingerprint and resume rules, same checks before any
work); :meth:`Experiment.report` is :func:`fastcf.evaluation.report.build_report`;
:meth:`Experiment.show` writes a video of one sequence with every tracker's boxes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastcf.datasets.base import Dataset
from fastcf.evaluation.report import Report, build_report
from fastcf.evaluation.runner import ExperimentSummary, run_experiment
from fastcf.evaluation.show import ShowResult, render_sequence


class Experiment:
    """Trackers on one dataset, with results under ``results/<dataset name>/``.

    ``dataset``: a :class:`Dataset` or a spec for :func:`fastcf.datasets.open_dataset`
    (``name`` renames it, ``sequences`` reads only those). ``workers`` / ``threads`` are
    the defaults of :meth:`run`; reports go to ``reports/<dataset name>/`` unless ``out``
    is given to :meth:`report`.
    """

    def __init__(
        self,
        dataset: str | Path | Dataset,
        results: str | Path = "results",
        *,
        name: str | None = None,
        sequences: Sequence[str] | None = None,
        workers: int = 1,
        threads: int = 1,
        reports: str | Path = "reports",
        quiet: bool = True,
    ) -> None:
        if isinstance(dataset, Dataset):
            ds = dataset.subset(sequences) if sequences is not None else dataset
            if name is not None:  # a renamed copy: the caller's dataset is left as it is
                from fastcf.datasets.spec import check_name

                ds = dataclasses.replace(ds, name=check_name(name))
        else:
            from fastcf.datasets import open_dataset

            ds = open_dataset(dataset, sequences=sequences, name=name)
        self.dataset = ds
        self.results = Path(results)
        self.reports = Path(reports)
        self.workers = workers
        self.threads = threads
        self.quiet = quiet
        self.summaries: list[ExperimentSummary] = []

    @property
    def results_dir(self) -> Path:
        """``<results>/<dataset name>``: one folder per tracker (and tag) inside."""
        return self.results / self.dataset.name

    def run(
        self,
        tracker: Any,
        *,
        tag: str = "",
        resume: bool = True,
        overwrite_changed: bool = False,
        workers: int | None = None,
        threads: int | None = None,
        **overrides: Any,
    ) -> ExperimentSummary:
        """Run ``tracker`` (a registered name, or an object with ``init`` / ``update``,
        run in this process) on every sequence; keyword arguments override config
        fields of a named tracker. Complete results of the same settings are kept;
        results of other settings raise a ConfigError unless ``resume=False``,
        ``overwrite_changed=True`` or another ``tag``."""
        summary = run_experiment(
            [tracker],
            self.dataset,
            self.results,
            workers=self.workers if workers is None else workers,
            resume=resume,
            overrides=overrides,
            tag=tag,
            quiet=self.quiet,
            threads=self.threads if threads is None else threads,
            overwrite_changed=overwrite_changed,
        )
        self.summaries.append(summary)
        return summary

    def report(
        self,
        trackers: Sequence[str] | None = None,
        *,
        out: str | Path | None = None,
        sequences: Sequence[str] | None = None,
        per_sequence: bool = False,
    ) -> Report:
        """Score ``trackers`` (result folder names; default: every one found) and write
        the plots and tables into ``out`` (default ``<reports>/<dataset name>``)."""
        return build_report(
            self.results,
            self.dataset,
            trackers=trackers,
            out_dir=out if out is not None else self.reports / self.dataset.name,
            sequences=sequences,
            per_sequence=per_sequence,
        )

    def show(
        self,
        sequence: str,
        out: str | Path | None = None,
        trackers: Sequence[str] | None = None,
        max_frames: int | None = None,
    ) -> ShowResult:
        """Write an MP4 (or ``.gif``) of ``sequence`` with the ground truth and each
        tracker's boxes; default ``<reports>/<dataset name>/show/<sequence>.mp4``."""
        path = out if out is not None else self.reports / self.dataset.name / "show"
        path = Path(path)
        if path.suffix.lower() not in (".mp4", ".gif"):
            path = path / f"{sequence}.mp4"
        return render_sequence(
            self.results_dir, self.dataset, sequence, path, trackers, max_frames=max_frames
        )
