"""Which layers of the ImageNet VGG16 teacher to use inside ECO -> teacher_taps.md.

    python benchmarks/teacher_taps.py [--frames 100] [--workers 2]

Every candidate pair of taps runs in ECO's deep settings with the fDSST scale filter (one
CNN scale: 5x cheaper than the 5-scale search, so the candidates fit in an hour on this
machine), on the first ``--frames`` frames of all 34 development sequences, next to
``eco-hc`` and the HED teacher at its old taps. The winner becomes ``VGG16_TAPS`` of the
``eco-vgg16`` preset (docs/networks.md).
"""

from __future__ import annotations

import argparse
import json
import sys

from devset import HERE, Variant, dev_dataset, evaluate, table

FDSST = {"use_scale_filter": "true"}


def candidates() -> list[Variant]:
    def taps(name: str, layers: str, down: str, base: str = "eco-vgg16") -> Variant:
        return Variant(name, base, {**FDSST, "cnn_layers": layers, "cnn_downsample": down})

    return [
        Variant("eco-hc", "eco-hc"),
        taps("hed_c2p2_c4", "conv2_2,conv4_3", "2,1", "eco-vgg16-hed"),
        taps("vgg16_c2p2_c4", "conv2_2,conv4_3", "2,1"),
        taps("vgg16_c3_c4", "conv3_3,conv4_3", "1,1"),
        taps("vgg16_c3_c5", "conv3_3,conv5_3", "1,1"),
        taps("vgg16_c2p2_c5", "conv2_2,conv5_3", "2,1"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    variants = candidates()
    dataset = dev_dataset(args.frames)
    raw = HERE / "raw" / "teacher_taps"
    results = evaluate(variants, dataset, raw, workers=args.workers)
    notes = {
        v.name: f"`{v.base}` {' '.join(f'{k}={x}' for k, x in v.overrides.items())}"
        for v in variants
    }
    per_seq = ["| sequence | " + " | ".join(r for r in results) + " |"]
    per_seq.append("|---|" + "---:|" * len(results))
    for seq in dataset.names():
        per_seq.append(
            f"| {seq} | "
            + " | ".join(f"{r['per_sequence'][seq]:.3f}" for r in results.values())
            + " |"
        )
    text = "\n".join(
        [
            "# Teacher taps inside ECO (tap selection)",
            "",
            f"Regenerate: `python benchmarks/teacher_taps.py --frames {args.frames}`",
            "",
            f"First {args.frames} frames of each of the {len(dataset)} development sequences; "
            "ECO deep settings (OTB_DEEP_settings.m, dims 16/64 + fHOG) with the fDSST scale "
            "filter instead of the 5-scale search; `/2`: the map average-pooled x2. AUC = "
            "OTB success AUC, mean over sequences, and per benchmark family.",
            "",
            table(results, notes),
            "",
            "AUC per sequence:",
            "",
            *per_seq,
            "",
        ]
    )
    (HERE / "results" / "teacher_taps.md").write_text(text)
    (HERE / "results" / "teacher_taps.json").write_text(json.dumps(results, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
