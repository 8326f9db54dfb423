"""Accuracy of the deep ECO variants on the development sequences -> deep_accuracy.md.

    python benchmarks/deep_accuracy.py [--runs eco-vgg16,feco-student] [--workers 2]

Runs ``fastcf eval`` for every run below that has its inputs (complete sequences are
kept: ``fastcf eval`` resumes; ``--fresh`` re-runs them), scores all of them with
``fastcf report`` and writes ``benchmarks/results/deep_accuracy.md`` (+ ``.json``): success
AUC per run and per sequence, P@20, and the throughput of the evaluation runs (frames /
tracking time per sequence, mean over sequences). Those come from parallel processes on a
shared machine: preliminary, not the speed benchmark.

Runs (name: tracker + overrides):

* ``eco-vgg16``: ECO deep settings on the VGG16-HED teacher, conv2_2 (pooled x2) +
  conv4_3 (the final taps);
* ``eco-vgg16-conv3``: the same with conv3_3 + conv4_3 (tap selection);
* ``eco-vgg16-conv2-fdsst`` / ``eco-vgg16-conv3-fdsst``: both tap pairs with the fDSST
  scale filter instead of the 5-scale search (cheaper tap selection);
* ``eco-cfvggm``: ``eco`` with the paper's student CF_VGGM.mat (norm1 + relu5);
* ``feco-cfvggm``: ``feco`` (fECO settings) with CF_VGGM.mat;
* ``feco-student``: ``feco`` with a distilled student (default: the one shipped in the package).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fastcf.datasets.base import dataset_name

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "sequences"
CF_VGGM = ROOT.parent / "shared" / "data" / "models" / "CF_VGGM.mat"
STUDENT = ROOT / "src" / "fastcf" / "nets" / "weights" / "student.pt"  # the shipped one


@dataclass(frozen=True)
class Run:
    name: str
    tracker: str
    tag: str
    overrides: tuple[str, ...] = ()
    needs: tuple[Path, ...] = field(default_factory=tuple)
    note: str = ""

    @property
    def folder(self) -> str:
        return f"{self.tracker}_{self.tag}" if self.tag else self.tracker


def runs(student: Path, cf_vggm: Path) -> list[Run]:
    conv2 = ("cnn_layers=conv2_2,conv4_3", "cnn_downsample=2,1")
    conv3 = ("cnn_layers=conv3_3,conv4_3", "cnn_downsample=1,1")
    fdsst = ("use_scale_filter=true",)
    return [
        Run("eco-vgg16", "eco-vgg16", "", (), (), "final taps conv2_2/2 + conv4_3, 5 scales"),
        Run("eco-vgg16-conv3", "eco-vgg16", "conv3", conv3, (), "conv3_3 + conv4_3, 5 scales"),
        Run(
            "eco-vgg16-conv2-fdsst",
            "eco-vgg16",
            "conv2fdsst",
            conv2 + fdsst,
            (),
            "conv2_2/2 + conv4_3, fDSST",
        ),
        Run(
            "eco-vgg16-conv3-fdsst",
            "eco-vgg16",
            "conv3fdsst",
            conv3 + fdsst,
            (),
            "conv3_3 + conv4_3, fDSST",
        ),
        Run(
            "eco-cfvggm",
            "eco",
            "cfvggm",
            (f"cnn_path={cf_vggm}",),
            (cf_vggm,),
            "eco (5 scales) + CF_VGGM.mat",
        ),
        Run(
            "feco-cfvggm",
            "feco",
            "cfvggm",
            (f"cnn_path={cf_vggm}",),
            (cf_vggm,),
            "feco (fDSST) + CF_VGGM.mat",
        ),
        Run(
            "feco-student",
            "feco",
            "vggm64hed",
            (f"cnn_path={student}",),
            (student,),
            f"feco (fDSST) + new student {student}",
        ),
    ]


def fastcf(*args: str) -> None:
    cmd = [sys.executable, "-m", "fastcf.cli.main", *args]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--raw", default=str(HERE / "raw" / "deep_accuracy"))
    ap.add_argument("--out", default=str(HERE / "results" / "deep_accuracy"))
    ap.add_argument("--runs", default="", help="comma-separated run names (default: all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--student", default=str(STUDENT))
    ap.add_argument("--cf-vggm", default=str(CF_VGGM))
    ap.add_argument("--fresh", action="store_true", help="re-run complete sequences")
    ap.add_argument("--report-only", action="store_true", help="score existing results only")
    args = ap.parse_args()

    all_runs = runs(Path(args.student), Path(args.cf_vggm))
    wanted = [r for r in args.runs.split(",") if r] or [r.name for r in all_runs]
    unknown = set(wanted) - {r.name for r in all_runs}
    if unknown:
        ap.error(f"unknown runs {sorted(unknown)}; known: {[r.name for r in all_runs]}")
    selected = [r for r in all_runs if r.name in wanted]
    dataset = f"otb:{args.data}"
    raw = Path(args.raw)
    if not args.report_only:
        for run in selected:
            missing = [str(p) for p in run.needs if not p.is_file()]
            if missing:
                print(f"skip {run.name}: missing {', '.join(missing)}", flush=True)
                continue
            cmd = ["eval", dataset, "--trackers", run.tracker, "--results", str(raw)]
            cmd += ["--workers", str(args.workers), "--quiet"]
            cmd += ["--tag", run.tag] if run.tag else []
            cmd += ["--no-resume"] if args.fresh else []
            for o in run.overrides:
                cmd += ["--set", o]
            fastcf(*cmd)

    # score every run that has complete results (all runs, not only the selected ones)
    seq_names = sorted(p.name for p in Path(args.data).iterdir() if p.is_dir())
    name = dataset_name(args.data)  # fastcf eval's results folder: the dataset's folder name
    result_root = raw / name
    done = [
        r
        for r in all_runs
        if all((result_root / r.folder / f"{s}.txt").is_file() for s in seq_names)
    ]
    if not done:
        print("no complete runs to report")
        return 1
    out = Path(args.out)

    def score(selected: list[Run], folder: Path) -> dict:
        trackers = ",".join(r.folder for r in selected)
        fastcf("report", "--results", str(raw), "--dataset", dataset, "--trackers", trackers,
               "--out", str(folder))  # fmt: skip
        return json.loads((folder / name / "report.json").read_text())

    report = score(done, out)
    # runs with results on only some sequences (the tap-selection subsets)
    partial = [r for r in all_runs if r not in done and any((result_root / r.folder).glob("*.txt"))]
    partial_report = None
    if partial:
        partial_report = score(partial, out / "partial")
    write_markdown(done, report, HERE / "results" / "deep_accuracy.md", partial, partial_report)
    return 0


def write_markdown(
    done: list[Run],
    report: dict,
    path: Path,
    partial: list[Run] | None = None,
    partial_report: dict | None = None,
) -> None:
    trackers = report["trackers"]
    seqs = report["sequences"]
    lines = [
        f"# Deep ECO variants: accuracy on the {len(seqs)} development sequences",
        "",
        "Generated by `python benchmarks/deep_accuracy.py` (`fastcf eval --workers 2` + "
        "`fastcf report`). AUC: mean success over IoU thresholds 0:0.05:1, OTB protocol "
        "(frame 0 = ground truth). Throughput: frames / tracking time per sequence (init "
        "included, decoding excluded), mean over sequences, of the evaluation runs: two "
        "processes on a shared, contended 2-core machine: **preliminary**, not the speed "
        "benchmark.",
        "",
        "| Run | Tracker / settings | AUC | P@20 | throughput FPS (prelim.) |",
        "|---|---|---|---|---|",
    ]
    for r in done:
        o = trackers[r.folder]["overall"]
        fps = o["speed"]["throughput_fps"]
        lines.append(
            f"| {r.name} | `{r.tracker}` {r.note} | {o['auc']:.3f} | {o['precision_20']:.3f} "
            f"| {'n/a' if fps is None else f'{fps:.1f}'} |"
        )
    lines += ["", "## AUC per sequence", ""]
    lines.append("| Sequence | " + " | ".join(r.name for r in done) + " |")
    lines.append("|---" * (len(done) + 1) + "|")
    for s in seqs:
        cells = [f"{trackers[r.folder]['sequences'][s]['auc']:.3f}" for r in done]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    means = [f"**{trackers[r.folder]['overall']['auc']:.3f}**" for r in done]
    lines.append("| mean | " + " | ".join(means) + " |")
    if partial and partial_report:
        lines += [
            "",
            "## Runs on a subset of the sequences (tap selection)",
            "",
            "AUC per sequence where the run has results; the mean is over those sequences "
            "only (compare runs on the same sequences). These runs chose the taps of "
            "`eco-vgg16` and are not re-run when the code changes: they come from the code of "
            "their date (result files' timestamps), e.g. before ECO's default CG schedule "
            "became the reference one.",
            "",
            "| Sequence | " + " | ".join(r.name for r in partial) + " |",
            "|---" * (len(partial) + 1) + "|",
        ]
        ptr = partial_report["trackers"]
        for s in seqs:
            cells = []
            for r in partial:
                q = ptr[r.folder]["sequences"].get(s, {})
                cells.append(f"{q['auc']:.3f}" if q.get("status") == "ok" else "-")
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        for r in partial:
            ok = {s: q["auc"] for s, q in ptr[r.folder]["sequences"].items() if q["status"] == "ok"}
            lines.append(
                f"- {r.name} ({r.note}): mean AUC {sum(ok.values()) / len(ok):.3f} over "
                f"{', '.join(ok)}"
            )
    lines += ["", "Overrides per run:", ""]
    for r in done + list(partial or []):
        sets = " ".join(f"`--set {o}`" for o in r.overrides) or "(preset as is)"
        lines.append(f"- {r.name}: `{r.tracker}` {sets}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    summary = {
        r.name: {
            "tracker": r.tracker,
            "overrides": list(r.overrides),
            "auc": trackers[r.folder]["overall"]["auc"],
            "precision_20": trackers[r.folder]["overall"]["precision_20"],
            "throughput_fps_preliminary": trackers[r.folder]["overall"]["speed"]["throughput_fps"],
            "auc_per_sequence": {s: trackers[r.folder]["sequences"][s]["auc"] for s in seqs},
        }
        for r in done
    }
    path.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
