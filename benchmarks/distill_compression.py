"""Compression table (like Wang et al.'s): VGG-M students at 16/32/64/96x inside ``feco``.

    python benchmarks/distill_compression.py --train --cache runs/cache-hed   # train 16/32/96x
    python benchmarks/distill_compression.py                                  # evaluate

Every student is trained with the shipped student's recipe (docs/model_card.md: same data,
seed, taps, losses, 25 epochs, 6000 pairs; only ``--student`` differs); the 64x row is the
shipped student itself. Each is then run as ``feco`` (default settings, so with its
first-frame online adaptation) on the development sequences through
``benchmarks/otb_dev.py`` (accuracy, then single-thread speed with ``fastcf bench``: run it
on an otherwise idle machine), and the table joins the network's size, parameters and MACs.
Writes ``benchmarks/results/distill_compression.md`` / ``.json``.
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
TRAINED = ("vggm-16x", "vggm-32x", "vggm-96x")  # 64x: the shipped student
ORDER = ("vggm-16x", "vggm-32x", "vggm-64x", "vggm-96x")
NAME = "distill_compression"


def student_files(runs: Path) -> dict[str, Path]:
    shipped = ROOT / "src" / "fastcf" / "nets" / "weights" / "student.pt"
    out = {s: runs / s / "student.pt" for s in TRAINED}
    out["vggm-64x"] = shipped
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", default="runs/compression", help="training output root")
    ap.add_argument("--cache", default=None, help="shared teacher cache folder")
    ap.add_argument(
        "--train",
        action="store_true",
        help="first train the 16/32/96x students that have no student.pt yet (an\n"
        "interrupted one resumes from its checkpoint.pt)",
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-bench", action="store_true", help="accuracy only")
    args = ap.parse_args()
    runs = Path(args.runs)
    if args.train:
        for s in TRAINED:
            out = runs / s
            if not (out / "student.pt").is_file():
                resume = ["--resume"] if (out / "checkpoint.pt").is_file() else []
                distill(s, out, args.cache, resume)
    files = student_files(runs)
    present = [s for s in ORDER if files[s].is_file()]
    missing = [s for s in ORDER if s not in present]
    if missing:
        print(f"not trained (no {', '.join(str(files[s]) for s in missing)}): rows left empty")
    trackers = [f"feco-{s.split('-')[1]}" for s in present]
    cmd = [sys.executable, str(HERE / "otb_dev.py"), "--name", f"{NAME}_runs"]
    cmd += ["--trackers", ",".join(trackers), "--workers", str(args.workers)]
    for t, s in zip(trackers, present, strict=True):
        cmd += ["--alias", f"{t}=feco:cnn_path={files[s]}"]
    if args.no_bench:
        cmd.append("--no-bench")
    subprocess.run(cmd, check=True)
    runs_json = json.loads((HERE / "results" / f"{NAME}_runs.json").read_text())

    import torch

    from fastcf.nets import build_vggm, count_macs, count_params, load_student
    from fastcf.nets.students import VGGM_2048_WIDTHS

    teacher_params = count_params(build_vggm(VGGM_2048_WIDTHS))
    lines = [
        "# Compression: VGG-M students inside `feco` on the 11 development sequences",
        "",
        "Regenerate: `python benchmarks/distill_compression.py --train` (three students, "
        "~25-80 min each on one core here), then `python benchmarks/distill_compression.py`. "
        f"Per-tracker details: `{NAME}_runs.md`.",
        "",
        "Ratio: VGG-M-2048 conv1-5 parameters / student parameters. Size: the fp32 state-dict "
        "file. MACs: convolutions of the whole trunk on a 224x224 patch. Throughput / p95: the "
        "whole `feco` tracker (student + fHOG + filter), `fastcf bench`, one thread, decoding "
        "excluded; throughput = frames / tracking time per sequence (init included), mean "
        "over sequences; p95 = update latency.",
        "",
        "| student | ratio | params | size kB | MMAC@224 | AUC | P@20 | throughput FPS | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    table = {}
    for s in missing:
        lines.append(f"| {s} | not trained | | | | | | | |")
    for t, s in zip(trackers, present, strict=True):
        net = load_student(files[s])
        params = count_params(net)
        with torch.no_grad():
            macs = count_macs(net, (224, 224))
        r = runs_json["trackers"][t]
        row = {
            "student": s,
            "file": str(files[s]),
            "ratio": teacher_params / params,
            "params": params,
            "size_kb": files[s].stat().st_size / 1024,
            "mmac_224": macs / 1e6,
            "auc": r["auc"],
            "precision20": r["precision20"],
            "throughput_fps": r.get("throughput_fps"),
            "p95_ms": r.get("p95_ms"),
        }
        table[s] = row
        fps = (
            f"{row['throughput_fps']:.1f} | {row['p95_ms']:.1f}"
            if "throughput_fps" in r
            else "- | -"
        )
        label = f"{s} (shipped)" if s == "vggm-64x" else s
        lines.append(
            f"| {label} | {row['ratio']:.1f}x | {params:,d} | {row['size_kb']:.0f} "
            f"| {row['mmac_224']:.1f} | {row['auc']:.3f} | {row['precision20']:.3f} | {fps} |"
        )
    text = "\n".join(lines) + "\n"
    (HERE / "results" / f"{NAME}.md").write_text(text)
    (HERE / "results" / f"{NAME}.json").write_text(json.dumps(table, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
