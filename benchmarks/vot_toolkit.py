"""fastcf inside the real VOT toolkit, and fastcf's own VOT protocol on the same workspace.

    python benchmarks/vot_toolkit.py [--sequences Biker,ball1,Crossing,MotorRolling]
                                     [--trackers feco,eco-hc] [--workspace DIR]

1. builds a VOT workspace in ``--workspace`` (default: a fresh temporary folder; it holds
   copies of the frames, so it is never committed) from ``../shared/data/sequences``
   (OTB layout, 1-based boxes -> VOT layout, 0-based), with a supervised stack whose EAO
   interval is VOT's rule on these sequence lengths, and ``trackers.ini`` entries that
   start ``python -m fastcf.cli.main trax --tracker NAME --threads 1``;
2. runs the real toolkit (``vot-toolkit`` 0.9.0 with ``attributee`` 0.1.9, installed on
   first use into its own environment under ``$FASTCF_CACHE``, see docs/vot.md):
   ``vot evaluate``, ``vot analysis --format json`` and ``vot report --format html``;
3. runs fastcf's own supervised protocol on the same workspace sequences (read with
   fastcf's VOT reader) and scores it; also scores the toolkit's own trajectories with
   fastcf's measures;
4. compares: the same failure frames, accuracy within 0.01, EAO within 0.01;
5. keeps the toolkit's report (analysis JSON, HTML report, log, stack, trackers.ini and
   its trajectories) under ``benchmarks/results/vot/toolkit/`` and writes
   ``benchmarks/results/vot/comparison.md`` / ``.json``.

Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "sequences"
OUT = HERE / "results" / "vot"
DEFAULT_SEQUENCES = "Biker,ball1,Crossing,MotorRolling"
TOLERANCE = 0.01


def failure_frames(path: Path) -> list[int]:
    lines = path.read_text().splitlines()
    return [i for i, line in enumerate(lines) if line.strip() == "2"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="OTB-layout sequences folder")
    ap.add_argument("--sequences", default=DEFAULT_SEQUENCES)
    ap.add_argument("--trackers", default="feco,eco-hc")
    ap.add_argument("--workspace", default=None, help="new workspace folder (default: temp)")
    ap.add_argument("--out", default=str(OUT), help="where the report and comparison go")
    ap.add_argument("--no-install", action="store_true", help="fail if the toolkit is missing")
    args = ap.parse_args(argv)

    from fastcf.datasets import open_dataset
    from fastcf.evaluation.vot import SupervisedSettings
    from fastcf.evaluation.vot_eval import run_vot, score_vot
    from fastcf.evaluation.vot_toolkit import (
        EXPERIMENT,
        TOOLKIT_REQUIREMENTS,
        build_workspace,
        find_toolkit,
        install_toolkit,
        read_toolkit_analysis,
        run_toolkit,
        toolkit_environment,
        toolkit_results,
        toolkit_trajectory,
    )
    from fastcf.io.vot_results import trajectory_path

    trackers = [t.strip() for t in args.trackers.split(",") if t.strip()]
    names = [s.strip() for s in args.sequences.split(",") if s.strip()]
    vot = find_toolkit()
    if vot is None:
        if args.no_install:
            print("the VOT toolkit is not installed (run without --no-install)", file=sys.stderr)
            return 2
        vot = install_toolkit(log=print)
    root = Path(args.workspace) if args.workspace else Path(tempfile.mkdtemp(prefix="vot-ws-"))
    out = Path(args.out)

    dataset = open_dataset(f"otb:{args.data}")
    ws = build_workspace(dataset, names, root, trackers)
    print(f"workspace {root}: {ws.frames}, EAO interval {ws.interval}")
    if ws.cut:
        print(f"cut before unknown ground truth: {ws.cut}")

    t0 = time.perf_counter()
    tk = run_toolkit(vot, ws, name="fastcf", log=print)
    report_html = None
    import subprocess

    cmd = [str(vot), "report", "--workspace", str(root), "--format", "html", "--name", "fastcf"]
    proc = subprocess.run(
        [*cmd, *ws.trackers],
        capture_output=True,
        text=True,
        env=toolkit_environment(root),
        cwd=root,
    )
    if proc.returncode == 0 and (root / "reports" / "fastcf" / "report.html").is_file():
        report_html = root / "reports" / "fastcf" / "report.html"
    toolkit_seconds = time.perf_counter() - t0
    toolkit = read_toolkit_analysis(tk.analysis)

    # fastcf's own protocol on the same workspace sequences
    vot_data = open_dataset(f"vot:{root / 'sequences'}")
    own_root = root / "fastcf-results"
    t1 = time.perf_counter()
    outcomes = run_vot(trackers, vot_data, own_root, SupervisedSettings(), resume=False)
    fastcf_seconds = time.perf_counter() - t1
    bad = [o for o in outcomes if o.status != "done"]
    if bad:
        print(f"fastcf runs failed: {[(o.tracker, o.sequence, o.error) for o in bad]}")
        return 1
    own = score_vot(own_root / vot_data.name, vot_data, "vot-supervised", interval=ws.interval)
    # fastcf's measures on the toolkit's own trajectories
    on_tk = score_vot(
        toolkit_results(root),
        vot_data,
        EXPERIMENT,
        trackers=list(ws.trackers),
        interval=ws.interval,
    )

    rows: list[dict[str, Any]] = []
    checks: list[tuple[str, bool]] = []
    for tid, name in ws.trackers.items():
        t = toolkit[tid]
        f = next(s for s in own.scores if s.tracker == name)
        g = next(s for s in on_tk.scores if s.tracker == tid)
        per_seq = []
        for q in f.sequences:
            tf = failure_frames(toolkit_trajectory(root, tid, q.sequence))
            ff = failure_frames(
                trajectory_path(own_root / vot_data.name, name, "vot-supervised", q.sequence)
            )
            ts = t["sequences"][q.sequence]
            per_seq.append(
                {
                    "sequence": q.sequence,
                    "frames": q.frames,
                    "toolkit_accuracy": ts["accuracy"],
                    "fastcf_accuracy": q.accuracy,
                    "toolkit_failures": int(ts["failures"]),
                    "fastcf_failures": q.failures,
                    "toolkit_failure_frames": tf,
                    "fastcf_failure_frames": ff,
                }
            )
            checks.append((f"{name}/{q.sequence}: same failure frames", tf == ff))
            checks.append(
                (
                    f"{name}/{q.sequence}: accuracy within {TOLERANCE}",
                    abs(ts["accuracy"] - q.accuracy) <= TOLERANCE,
                )
            )
        checks.append(
            (f"{name}: accuracy within {TOLERANCE}", abs(t["accuracy"] - f.accuracy) <= TOLERANCE)
        )
        checks.append((f"{name}: EAO within {TOLERANCE}", abs(t["eao"] - f.eao) <= TOLERANCE))
        rows.append(
            {
                "tracker": name,
                "toolkit_id": tid,
                "toolkit": {
                    "accuracy": t["accuracy"],
                    "robustness": t["robustness"],
                    "eao": t["eao"],
                    "failures": int(sum(s["failures"] for s in t["sequences"].values())),
                },
                "fastcf_protocol": {
                    "accuracy": f.accuracy,
                    "robustness": f.robustness,
                    "eao": f.eao,
                    "failures": f.failures,
                },
                "fastcf_measures_on_toolkit_trajectories": {
                    "accuracy": g.accuracy,
                    "robustness": g.robustness,
                    "eao": g.eao,
                    "failures": g.failures,
                },
                "sequences": per_seq,
            }
        )

    # keep the toolkit's own report and the run's inputs
    kept = out / "toolkit"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    shutil.copyfile(tk.analysis, kept / "analysis.json")
    shutil.copyfile(tk.log, kept / "toolkit.log")
    for f_ in ("stack.yaml", "trackers.ini", "config.yaml"):
        shutil.copyfile(root / f_, kept / f_)
    if report_html is not None:
        shutil.copytree(report_html.parent, kept / "report")
    shutil.copytree(toolkit_results(root), kept / "results")

    low, high = ws.interval
    summary = {
        "command": "python benchmarks/vot_toolkit.py " + " ".join(argv or sys.argv[1:]),
        "toolkit": list(TOOLKIT_REQUIREMENTS),
        "sequences": ws.frames,
        "eao_interval": [low, high],
        "toolkit_seconds": toolkit_seconds,
        "fastcf_seconds": fastcf_seconds,
        "trackers": rows,
        "checks": {name: ok for name, ok in checks},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.json").write_text(json.dumps(summary, indent=2) + "\n")

    def fmt(v: float) -> str:
        return f"{v:.4f}" if isinstance(v, float) and math.isfinite(v) else str(v)

    md = [
        "# fastcf in the VOT toolkit vs fastcf's own VOT protocol",
        "",
        f"Command: `{summary['command'].strip()}` (frames are copied from ../shared into a "
        "temporary workspace). Toolkit: "
        + ", ".join(f"`{r}`" for r in TOOLKIT_REQUIREMENTS)
        + f", supervised experiment, 1 repetition (the trackers are deterministic), "
        f"EAO interval {low}..{high} (VOT's rule on these lengths). "
        f"Toolkit evaluate + analysis + report: {toolkit_seconds:.0f} s; fastcf's own "
        f"protocol: {fastcf_seconds:.0f} s.",
        "",
        "Sequences: " + ", ".join(f"{k} ({v} frames)" for k, v in ws.frames.items()) + ".",
        "",
        "| tracker | source | accuracy | robustness | failures | EAO |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        for key, label in (
            ("toolkit", "vot-toolkit (TraX)"),
            ("fastcf_protocol", "fastcf --protocol vot-supervised"),
            ("fastcf_measures_on_toolkit_trajectories", "fastcf measures on the toolkit's runs"),
        ):
            v = r[key]
            md.append(
                f"| {r['tracker']} | {label} | {fmt(v['accuracy'])} | {fmt(v['robustness'])} "
                f"| {v['failures']} | {fmt(v['eao'])} |"
            )
    md += ["", "Per sequence (toolkit / fastcf):", ""]
    md += [
        "| tracker | sequence | accuracy | failures | failure frames (0-based) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        for q in r["sequences"]:
            same = "same" if q["toolkit_failure_frames"] == q["fastcf_failure_frames"] else "DIFFER"
            md.append(
                f"| {r['tracker']} | {q['sequence']} | {q['toolkit_accuracy']:.4f} / "
                f"{q['fastcf_accuracy']:.4f} | {q['toolkit_failures']} / {q['fastcf_failures']} "
                f"| {q['toolkit_failure_frames']} ({same}) |"
            )
    md += ["", "Checks:", ""]
    md += [f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks]
    md += [
        "",
        "The toolkit's own report is in `toolkit/` (`analysis.json` from `vot analysis`, "
        "`report/report.html` from `vot report`, `toolkit.log`, the stack, `trackers.ini` and "
        "the toolkit's trajectories). Differences are explained in docs/vot.md.",
    ]
    (out / "comparison.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
