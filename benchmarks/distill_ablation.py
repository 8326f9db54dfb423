"""Distillation ablation: which loss makes the student a good tracking feature, and what
does online adaptation add?

    python benchmarks/distill_ablation.py --train --cache runs/cache-hed   # train 3 students
    python benchmarks/distill_ablation.py                                  # evaluate in feco

Students (same data, seed, taps, 25 epochs, 6000 pairs as the shipped one; the teacher
cache is shared through ``--cache``):

* ``both, beta 1``: fidelity + tracking loss: the shipped student (``fastcf/nets/weights``);
* ``fidelity only``: ``--beta 0``;
* ``tracking only``: ``--alphas 0,0``;
* ``both, beta 0.3``: ``--beta 0.3``;
* every student without online adaptation and with first-frame adaptation (the ``feco``
  default), and the shipped one also with adaptation on the first frame plus confident
  later frames (``adapt_interval=10``, ``adapt_confidence=1``: at most every 10th frame,
  when the peak is at least the sequence's mean peak so far).

Each is evaluated as ``feco`` on the development sequences (``fastcf eval`` with two worker
processes, then ``fastcf report``); writes ``benchmarks/results/distill_ablation.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from distill_recipe import distill  # benchmarks/ is on sys.path when run as a script

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data"
VARIANTS = {  # training folder -> (row label, extra distill flags)
    "fidelity-only": ("fidelity only", ["--beta", "0"]),
    "tracking-only": ("tracking only", ["--alphas", "0,0"]),
    "beta-0.3": ("both, beta 0.3", ["--beta", "0.3"]),
}
ONLINE = ["--set", "online_adaptation=true"]
OFF = ["--set", "online_adaptation=false"]
LATER = ["--set", "adapt_interval=10", "--set", "adapt_confidence=1.0"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", default="runs/ablation", help="training output root")
    ap.add_argument("--cache", default=None, help="shared teacher cache folder")
    ap.add_argument("--train", action="store_true", help="train the ablation students first")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    runs = Path(args.runs)
    if args.train:
        for folder, (_, extra) in VARIANTS.items():
            if (runs / folder / "student.pt").is_file():
                continue
            distill("vggm-64x", runs / folder, args.cache, extra)
    shipped = ["--set", f"cnn_path={ROOT / 'src' / 'fastcf' / 'nets' / 'weights' / 'student.pt'}"]
    rows: dict[str, tuple[str, list[str]]] = {  # label -> (result tag, eval flags)
        "both, beta 1 (shipped)": ("shipped", [*shipped, *OFF]),
        "both, beta 1 + online (first frame; the feco default)": ("online1", [*shipped, *ONLINE]),
        "both, beta 1 + online (first + confident later frames)": (
            "online-later", [*shipped, *ONLINE, *LATER]
        ),
    }  # fmt: skip
    for folder, (label, _) in VARIANTS.items():
        student = ["--set", f"cnn_path={runs / folder / 'student.pt'}"]
        rows[label] = (folder, [*student, *OFF])
        rows[f"{label} + online (first frame)"] = (f"{folder}-online1", [*student, *ONLINE])
    results = HERE / "raw" / "distill_ablation"
    spec = f"otb:{DATA / 'sequences'}"
    for tag, sets in rows.values():
        cmd = ["fastcf", "eval", spec, "--trackers", "feco", "--results", str(results)]
        cmd += ["--workers", str(args.workers), "--tag", tag, "--quiet", *sets]
        subprocess.run(cmd, check=True)
    from fastcf.datasets import open_dataset
    from fastcf.evaluation.report import build_report

    dataset = open_dataset(spec)
    tags = [f"feco_{tag}" for tag, _ in rows.values()]
    report = build_report(results, dataset, tags, out_dir=results / "report")
    lines = [
        "# Distillation ablation: the student inside `feco` on the 11 development sequences",
        "",
        "Regenerate: `python benchmarks/distill_ablation.py --train` (trains three students, "
        "~25 min each on one core here), then `python benchmarks/distill_ablation.py`.",
        "",
        "| student | AUC | P@20 |",
        "|---|---:|---:|",
    ]
    out = {}
    for name, tag in zip(rows, tags, strict=True):
        curves = report.tracker(tag).curves
        out[name] = {"auc": curves.auc, "precision20": curves.precision_20}
        lines.append(f"| {name} | {curves.auc:.3f} | {curves.precision_20:.3f} |")
    seqs = ["", "AUC per sequence:", "", "| sequence | " + " | ".join(rows) + " |"]
    seqs.append("|---|" + "---:|" * len(rows))
    for seq in dataset.names():
        cells = [f"{report.tracker(t).by_sequence()[seq].curves.auc:.3f}" for t in tags]
        seqs.append(f"| {seq} | " + " | ".join(cells) + " |")
    text = "\n".join(lines + seqs) + "\n"
    (HERE / "results" / "distill_ablation.md").write_text(text)
    (HERE / "results" / "distill_ablation.json").write_text(json.dumps(out, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
