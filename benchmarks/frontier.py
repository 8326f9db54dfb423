"""The accuracy / speed frontier between ``feco`` and ``eco`` -> frontier.md / .json / .png.

    python benchmarks/frontier.py [--variants all|NAME,NAME] [--cnn PATH] [--bench-frames 60]
                                  [--sequences A,B] [--workers 2] [--name frontier]

Every variant is ``feco`` (the shipped student unless ``--cnn``) with a few config fields
changed: one knob at a time from the ``feco`` default, plus the ``eco`` settings and the
combinations that looked best. For each: the mean success AUC over the development
sequences (``fastcf eval`` in ``--workers`` parallel single-threaded processes) and the
single-core throughput (``fastcf bench``: all variants one after the other in one fresh
process, decoding excluded, on the first ``--bench-frames`` frames of each sequence;
throughput = frames / tracking time per sequence, init included, mean over sequences).
The plot puts AUC against throughput, with the 40 FPS line of the default preset.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from devset import HERE, Variant, dev_dataset, evaluate, speed_columns

# name -> feco overrides (strings, as on the command line)
KNOBS: dict[str, dict[str, str]] = {
    "feco": {},
    # projected dimensions of the CNN blocks (feco 3/12, eco 16/64)
    "dims-8-32": {"cnn_compressed_dims": "8,32"},
    "dims-16-64": {"cnn_compressed_dims": "16,64"},
    # CNN layers: relu3 as a third block
    "layers-norm1-relu3-relu5": {
        "cnn_layers": "norm1,relu3,relu5", "cnn_downsample": "2,1,1",
        "cnn_compressed_dims": "3,12,12",
    },
    # scale: the CNN on 3 or 5 scales instead of the fDSST filter
    "scales-3": {"use_scale_filter": "false", "number_of_scales": "3"},
    "scales-5": {"use_scale_filter": "false", "number_of_scales": "5"},
    # search area and sample area
    "search-5.5": {"search_area_scale": "5.5"},
    "sample-150-250": {"min_image_sample_size": "22500", "max_image_sample_size": "62500"},
    "sample-250-350": {"min_image_sample_size": "62500", "max_image_sample_size": "122500"},
    # the ECO-HC sample range (150^2..200^2 px): 0.44-1x the pixels of feco's 200^2..300^2
    "sample-150-200": {"min_image_sample_size": "22500", "max_image_sample_size": "40000"},
    # fHOG cell 6 (ECO-HC's) instead of 4: 0.44x the fHOG cells
    "hog-cell-6": {"hog_cell_size": "6"},
    # the sample-space memory: feco 30 (ECO-HC's number) since 2026-12-07, 50 before (ECO's
    # deep settings); frontier.md was measured with 50, where samples-30 was the knob
    "samples-30": {"n_samples": "30"},
    "samples-50": {"n_samples": "50"},
    # the ECO-HC sample range and 30 stored samples together: aimed at the 40 FPS line
    "budget": {
        "min_image_sample_size": "22500", "max_image_sample_size": "40000", "n_samples": "30",
    },
    # the two cost knobs that kept feco's accuracy when tried alone (a combination chosen
    # after seeing their results on the development sequences)
    "lean": {"n_samples": "30", "hog_cell_size": "6"},
    # CG iterations per update, update interval
    "cg-3": {"cg_iter": "3"},
    "cg-10": {"cg_iter": "10"},
    "gap-2": {"train_gap": "2"},
    "gap-10": {"train_gap": "10"},
    # the update schedule: CG spread over the frames between training steps (no spike)
    "spread-cg": {"spread_cg": "true"},
    # the first frame's Gauss-Newton x CG iterations (ECO's deep reference: 10 x 20):
    # shorter ones for the init time, longer ones to see whether 10 x 20 has converged
    "init-3x10": {"init_gn_iter": "3", "init_cg_iter": "30"},
    "init-5x10": {"init_gn_iter": "5", "init_cg_iter": "50"},
    "init-10x10": {"init_gn_iter": "10", "init_cg_iter": "100"},
    "init-5x20": {"init_gn_iter": "5", "init_cg_iter": "100"},
    "init-10x30": {"init_gn_iter": "10", "init_cg_iter": "300"},
    "init-20x20": {"init_gn_iter": "20", "init_cg_iter": "400"},
    # online adaptation
    "no-adaptation": {"online_adaptation": "false"},
    "adapt-later": {"adapt_interval": "10"},
    # the eco deep settings (dims 16/64, 5 CNN scales) on the same student
    "eco-settings": {
        "cnn_compressed_dims": "16,64", "use_scale_filter": "false", "number_of_scales": "5",
        "online_adaptation": "false",
    },
}  # fmt: skip


def variants(names: list[str], cnn: str | None) -> list[Variant]:
    """The variants ``names``; each one's config is built (and so checked) before any run."""
    from fastcf.errors import FastCFError
    from fastcf.registry import get_config

    out = []
    for name in names:
        if name not in KNOBS:
            raise SystemExit(f"unknown variant {name!r}; known: {', '.join(KNOBS)}")
        over = dict(KNOBS[name])
        if cnn:
            over["cnn_path"] = cnn
        try:
            get_config("feco", **over)
        except FastCFError as exc:
            raise SystemExit(f"variant {name!r}: {exc}") from None
        out.append(Variant(f"fr-{name}" if name != "feco" or cnn else "feco", "feco", over))
    return out


def plot(rows: dict[str, dict], path: Path, min_fps: float = 40.0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, r in rows.items():
        ax.scatter(r["fps"], r["auc"], s=30, color="C3" if name.endswith("feco") else "C0")
        ax.annotate(name.removeprefix("fr-"), (r["fps"], r["auc"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")  # fmt: skip
    ax.axvline(min_fps, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("throughput, frames / s (one core, decoding excluded)")
    ax.set_ylabel("success AUC (mean over sequences)")
    ax.set_title("feco knobs: accuracy against speed")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--variants", default="all")
    ap.add_argument("--cnn", default=None, help="network file for every variant (cnn_path)")
    ap.add_argument("--sequences", default=None, help="comma list (default: all 34)")
    ap.add_argument("--frames", type=int, default=None, help="cut every sequence (accuracy)")
    ap.add_argument("--bench-frames", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--name", default="frontier")
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--raw", default=None, help="result files (default benchmarks/raw/NAME)")
    ap.add_argument(
        "--list", action="store_true", help="check and print the variants' overrides, then stop"
    )
    ap.add_argument(
        "--accuracy-only",
        action="store_true",
        help="run (or resume) the accuracy runs and stop: no speed run, no files",
    )
    args = ap.parse_args(argv)
    names = list(KNOBS) if args.variants == "all" else args.variants.split(",")
    vs = variants(names, args.cnn)
    if args.list:
        for v in vs:
            print(f"{v.name}: " + (", ".join(f"{k}={x}" for k, x in v.overrides.items()) or "-"))
        return 0
    seqs = args.sequences.split(",") if args.sequences else ()
    dataset = dev_dataset(args.frames, names=seqs)
    raw = Path(args.raw) if args.raw else HERE / "raw" / args.name
    acc = evaluate(vs, dataset, raw, workers=args.workers)
    if args.accuracy_only:
        for v in vs:
            print(f"{v.name}: AUC {acc[v.name]['auc']:.3f}  P@20 {acc[v.name]['p20']:.3f}")
        return 0
    from fastcf.evaluation import benchmark

    speed = benchmark([v.name for v in vs], dev_dataset(names=seqs), frames=args.bench_frames,
                      quiet=True)  # fmt: skip
    rows: dict[str, dict] = {}
    for v in vs:
        rows[v.name] = {
            "overrides": dict(v.overrides),
            "auc": acc[v.name]["auc"],
            "p20": acc[v.name]["p20"],
            "families": acc[v.name]["families"],
            **speed_columns(speed["results"][v.name]["overall"]),
        }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot(rows, out / f"{args.name}.png")
    lines = [
        f"# Frontier: feco knobs, AUC against single-core throughput ({len(dataset)} sequences)",
        "",
        f"Regenerate: `python benchmarks/frontier.py --variants {args.variants}"
        + (f" --cnn {args.cnn}" if args.cnn else "")
        + (f" --sequences {args.sequences}" if args.sequences else "")
        + (f" --frames {args.frames}" if args.frames else "")
        + f" --bench-frames {args.bench_frames} --name {args.name}"
        + (f" --raw {args.raw}" if args.raw else "")
        + "`",
        "",
        f"Throughput: `fastcf bench` on the first {args.bench_frames} frames of each sequence, "
        "one thread, decoding excluded (frames / tracking time per sequence, mean). "
        f"Plot: `{args.name}.png`.",
        "",
        "| variant | changes | AUC | P@20 | throughput FPS | median ms | p95 ms | init ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["fps"]):
        changes = ", ".join(f"{k}={v}" for k, v in r["overrides"].items() if k != "cnn_path")
        lines.append(
            f"| {name} | {changes or '(default)'} | {r['auc']:.3f} | {r['p20']:.3f} "
            f"| {r['fps']:.1f} | {r['latency_median_ms']:.1f} | {r['latency_p95_ms']:.1f} "
            f"| {r['init_ms']:.0f} |"
        )
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    (out / f"{args.name}.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
