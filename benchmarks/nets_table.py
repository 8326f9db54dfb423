"""Regenerate benchmarks/results/nets_table.{md,json}: size, cost and speed of every network.

For every student and the teachers: parameters, MACs at 224x224 (counted analytically),
and single-thread milliseconds per 224x224 patch with PyTorch (NCHW and channels-last)
and, when ``onnxruntime`` is installed, ONNX Runtime (one thread). A second table times
the multi-scale use in a tracker: 5 patches in one batch, truncated after the taps ECO /
DeepSTRCF use.

    python benchmarks/nets_table.py [--reps 10] [--quick] [--out benchmarks/results]

Timings depend on the machine and on other load: the script prints ``os.getloadavg()``
with the results; rerun it on an idle machine for numbers to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from fastcf.nets import (
    TapNetwork,
    build_student,
    build_vgg16,
    build_vggm,
    count_macs,
    count_params,
    load_matconvnet,
    student_names,
)
from fastcf.nets.onnx import OrtNetwork, onnxruntime_available
from fastcf.nets.students import VGG16_STUDENTS, VGGM_2048_WIDTHS, VGGM_STUDENTS

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FASTCF_SHARED", REPO.parent / "shared")).resolve()


def time_ms(fn: Callable[[torch.Tensor], object], x: torch.Tensor, reps: int) -> dict:
    with torch.inference_mode():
        for _ in range(2):
            fn(x)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(x)
            ts.append((time.perf_counter() - t0) * 1e3)
    return {"median": statistics.median(ts), "min": min(ts)}


def widths_of(name: str) -> str:
    if name in VGGM_STUDENTS:
        return "/".join(str(c) for c in VGGM_STUDENTS[name])
    if name in VGG16_STUDENTS:
        return "/".join(str(b[0]) for b in VGG16_STUDENTS[name])
    return ""


def networks(include_mat: bool) -> list[tuple[str, str, TapNetwork, int]]:
    """(name, widths, network, params of the family teacher)."""
    vgg16 = build_vgg16(name="vgg16 (teacher)")
    vggm = build_vggm(VGGM_2048_WIDTHS, name="vgg-m-2048 (teacher)")
    p16, pm = count_params(vgg16), count_params(vggm)
    out = [
        ("vgg16 (teacher)", "64/128/256/512/512", vgg16, p16),
        ("vgg-m-2048 (teacher)", "96/256/512/512/512", vggm, pm),
    ]
    mat = SHARED / "data" / "models" / "CF_VGGM.mat"
    if include_mat and mat.is_file():
        out.append(("CF_VGGM.mat (imported)", "12/32/64/64/64", load_matconvnet(mat), pm))
    for name in student_names():
        out.append((name, widths_of(name), build_student(name), pm if "vggm" in name else p16))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="3 repetitions, no ONNX Runtime")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    reps = 3 if args.quick else args.reps
    use_ort = onnxruntime_available() and not args.quick
    x224 = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(0)) * 255
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="fastcf-nets-"))
    for name, widths, net, base in networks(include_mat=True):
        net.eval()
        big = "teacher" in name
        r = max(2, reps // 3) if big else reps
        default_cl = net.channels_last
        net.use_channels_last(False)
        row: dict[str, Any] = {
            "name": name,
            "widths": widths,
            "params": count_params(net),
            "ratio": base / count_params(net),
            "gmacs_224": count_macs(net, (224, 224)) / 1e9,
            "default_layout": "channels-last" if default_cl else "NCHW",
            "torch_ms": time_ms(net, x224, r),
        }
        net.use_channels_last(True)
        row["torch_cl_ms"] = time_ms(net, x224, r)
        net.use_channels_last(default_cl)
        if use_ort:
            ort = OrtNetwork.from_network(net, tmp / "net.onnx", (net.layer_names[-1],))
            row["ort_ms"] = time_ms(ort, x224, r)
        rows.append(row)
        print(
            f"{name:24s} {row['params']:>10,d} {row['gmacs_224']:7.3f} GMAC "
            f"torch {row['torch_ms']['median']:8.2f} ms",
            file=sys.stderr,
        )

    # multi-scale batch as a tracker uses it
    batch = []
    five = torch.rand(5, 3, 224, 224, generator=torch.Generator().manual_seed(1)) * 255
    cases = [
        ("vggm-64x", ("norm1", "relu5"), "fECO taps (layers 3, 14)"),
        ("vggm-64x", ("relu3",), "fDeepSTRCF tap (layer 10)"),
        ("vgg16-slim-64x", ("conv3_3", "conv4_3"), "slim VGG16 taps"),
    ]
    for name, taps, what in cases:
        net = build_student(name).eval()
        default_cl = net.channels_last
        entry: dict[str, Any] = {"name": name, "taps": list(taps), "what": what}
        sub = net.use_channels_last(False).truncated(taps)
        entry["torch_batch5_ms"] = time_ms(sub, five, reps)

        def one_by_one(t: torch.Tensor, n: Any = sub) -> object:
            return [n(t[i : i + 1]) for i in range(5)]

        entry["torch_5x1_ms"] = time_ms(one_by_one, five, reps)
        entry["torch_cl_batch5_ms"] = time_ms(
            net.use_channels_last(True).truncated(taps), five, reps
        )
        net = net.use_channels_last(default_cl).truncated(taps)
        if use_ort:
            ort = OrtNetwork.from_network(net, tmp / "b.onnx")
            entry["ort_batch5_ms"] = time_ms(ort, five, reps)
        batch.append(entry)

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": _ort_version(),
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "loadavg": os.getloadavg(),
        "reps": reps,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nets_table.json").write_text(
        json.dumps({"env": env, "networks": rows, "batch": batch}, indent=1) + "\n"
    )
    (args.out / "nets_table.md").write_text(render(env, rows, batch))
    print(f"wrote {args.out / 'nets_table.md'} and nets_table.json", file=sys.stderr)
    return 0


def _ort_version() -> str | None:
    try:
        import onnxruntime

        return str(onnxruntime.__version__)
    except ImportError:
        return None


def _ms(d: dict | None) -> str:
    return "-" if d is None else f"{d['median']:.2f} ({d['min']:.2f})"


def render(env: dict, rows: list[dict], batch: list[dict]) -> str:
    lines = [
        "# Networks: size, cost, single-thread speed",
        "",
        "Generated by `python benchmarks/nets_table.py`. "
        f"{env['date']}, torch {env['torch']}, onnxruntime {env['onnxruntime']}, "
        f"{env['threads']} thread, load average {env['loadavg'][0]:.2f} "
        f"({env['reps']} repetitions; teachers fewer).",
        "Times: median (min) milliseconds per 224x224 patch, whole trunk. Ratio: parameters "
        "of the family's teacher trunk / parameters. MACs of the convolutions, counted "
        "analytically.",
        "",
        "| network | widths | params | ratio | GMAC@224 | default layout | torch NCHW ms "
        "| torch channels-last ms | ONNX Runtime ms |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['widths']} | {r['params']:,} | {r['ratio']:.1f}x | "
            f"{r['gmacs_224']:.3f} | {r['default_layout']} | {_ms(r['torch_ms'])} | "
            f"{_ms(r['torch_cl_ms'])} | {_ms(r.get('ort_ms'))} |"
        )
    lines += [
        "",
        "## Multi-scale extraction: 5 patches of 224x224, truncated after the taps",
        "",
        "| network | taps | use | torch batch of 5 | torch 5 x batch 1 | torch channels-last "
        "batch 5 | ONNX Runtime batch 5 |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for b in batch:
        lines.append(
            f"| {b['name']} | {', '.join(b['taps'])} | {b['what']} | {_ms(b['torch_batch5_ms'])} "
            f"| {_ms(b['torch_5x1_ms'])} | {_ms(b['torch_cl_batch5_ms'])} | "
            f"{_ms(b.get('ort_batch5_ms'))} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
