"""Old against new formulations of the hot primitives changed on 2026-12-07 (night), in one
process -> speed_primitives.md / .json.

    python benchmarks/speed_primitives.py [--frames 60] [--repeats 3]
                                          [--sequences Crossing,Dog,Vase,Girl,Biker,car16_1]

1. Each primitive, the previous formulation (the parts that changed kept here, or in fastcf as the
   reference) against the current one on the shapes the trackers use: thread CPU time,
   fastest of 5 batches, and the largest difference between their outputs.
2. The trackers ``eco-hc`` and ``feco`` with all previous formulations swapped back in
   (module attributes) against the current code, interleaved ``--repeats`` times on the
   first ``--frames`` frames of each sequence: init and update CPU ms (thread CPU time,
   which leaves out the time other processes held the core), and how far the boxes move.

One thread (``fastcf.threads.ThreadScope``); nothing else should run on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SEQUENCES = HERE.parent.parent / "shared" / "data" / "sequences"


# --- the previous formulations -------------------------------------------------------------


def bins_arctan2(gx: np.ndarray, gy: np.ndarray, nori: int) -> np.ndarray:
    """fHOG's orientation bins before: NumPy's float32 arctan2 on every pixel."""
    ori = np.arctan2(gy, gx)
    obin = (ori * np.float32(nori / (2 * math.pi)) + np.float32(nori + 0.5)).astype(np.intp)
    obin -= nori * (obin >= nori)
    return obin


def crop_by_indexing(img, top, left, height, width):
    """The crop ECO's sample_patch used before: every index clipped, by fancy indexing."""
    h_img, w_img = img.shape[:2]
    if top >= 0 and left >= 0 and top + height <= h_img and left + width <= w_img:
        return np.ascontiguousarray(img[top : top + height, left : left + width])
    ys = np.clip(np.arange(top, top + height), 0, h_img - 1)
    xs = np.clip(np.arange(left, left + width), 0, w_img - 1)
    return img[ys[:, None], xs[None, :]]


def eco_sample_patch_indexing(image, pos, sample_sz, output_sz):
    """ECO's sample_patch before: the current function with its crop by fancy indexing
    (the scale filter's patches, which already used the replicate-border crop, keep it)."""
    import fastcf.trackers.eco.patches as patches

    current = patches.replicate_crop
    patches.replicate_crop = crop_by_indexing
    try:
        return patches.sample_patch(image, pos, sample_sz, output_sz)
    finally:
        patches.replicate_crop = current


def swap_in_old(old: bool) -> None:
    """Point the trackers' module attributes at the previous (``old``) or current code."""
    import fastcf.cf.regularization as reg
    import fastcf.features.hog as hog
    import fastcf.trackers.eco.patches as patches
    import fastcf.trackers.eco.tracker as tracker
    import fastcf.trackers.eco.training as training

    cur = swap_in_old.__dict__.setdefault(
        "current", (hog._orientation_bins, training.apply_reg_filter, patches.sample_patch)
    )
    hog._orientation_bins = bins_arctan2 if old else cur[0]
    training.apply_reg_filter = reg._apply_reg_filter_numpy if old else cur[1]
    tracker.sample_patch = eco_sample_patch_indexing if old else cur[2]


# --- timing ------------------------------------------------------------------------------


def cpu_ms(fn: Callable[..., Any], args: tuple[Any, ...], n: int) -> float:
    """Thread CPU ms per ``fn(*args)``: the fastest of 5 batches of ``n`` calls."""
    best = math.inf
    for _ in range(5):
        t = time.thread_time()
        for _ in range(n):
            fn(*args)
        best = min(best, (time.thread_time() - t) / n)
    return best * 1e3


def primitives() -> list[dict[str, Any]]:
    from fastcf.cf.regularization import _apply_reg_filter_numpy, apply_reg_filter, reg_filter
    from fastcf.features.hog import _orientation_bins
    from fastcf.trackers.eco.patches import sample_patch

    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for shape in [(1, 212, 212), (17, 24, 68)]:  # feco's sample, a scale-filter batch
        gx = rng.normal(0, 20, shape).astype(np.float32)
        gy = rng.normal(0, 20, shape).astype(np.float32)
        gx[:, ::7] = 0  # exact 90-degree boundaries, as on flat image columns
        a, b = bins_arctan2(gx, gy, 18), _orientation_bins(gx, gy, 18)
        rows.append(
            {
                "primitive": f"fHOG orientation bins {shape}",
                "old": cpu_ms(bins_arctan2, (gx, gy, 18), 20),
                "new": cpu_ms(_orientation_bins, (gx, gy, 18), 20),
                "max_diff": float(np.abs(a - b).max()),
            }
        )
    filt = reg_filter((60, 60), (20, 14))
    for shape in [(10, 53, 27), (3, 53, 27), (12, 13, 7)]:  # feco's hog, norm1, relu5 blocks
        hf = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
        ref = _apply_reg_filter_numpy(hf, filt)
        got = apply_reg_filter(hf, filt)
        rows.append(
            {
                "primitive": f"reg filter W^H W h {shape} complex64",
                "old": cpu_ms(_apply_reg_filter_numpy, (hf, filt), 50),
                "new": cpu_ms(apply_reg_filter, (hf, filt), 50),
                "max_diff": float(np.abs(ref - got).max() / np.abs(ref).max()),
            }
        )
    img = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    for pos, sz in [((120, 160), (200, 200)), ((120, 160), (500, 500)), ((20, 30), (300, 300))]:
        a = eco_sample_patch_indexing(img, pos, sz, (250, 250))
        b = sample_patch(img, pos, sz, (250, 250))
        rows.append(
            {
                "primitive": f"ECO sample_patch 320x240 frame, window {sz} at {pos}",
                "old": cpu_ms(eco_sample_patch_indexing, (img, pos, sz, (250, 250)), 30),
                "new": cpu_ms(sample_patch, (img, pos, sz, (250, 250)), 30),
                "max_diff": float(np.abs(a.astype(int) - b.astype(int)).max()),
            }
        )
    return rows


def trackers(
    names: list[str],
    seqs: list[str],
    frames: int,
    repeats: int,
    swap: Callable[[bool], None] = swap_in_old,
) -> dict[str, Any]:
    """``names`` with the previous formulations (``swap(True)``) against the current ones
    (``swap(False)``): init / update CPU ms and how far the boxes move.

    The two run back to back on each sequence, ``repeats`` times, and each sequence keeps
    its fastest run of each: the shared machine's core changes speed within minutes, so
    pairs measured seconds apart compare better than whole passes minutes apart."""
    import fastcf
    from fastcf.datasets import open_dataset
    from fastcf.metrics import iou

    ds = open_dataset(f"otb:{SEQUENCES}", sequences=seqs)
    data = [([*s.frames][:frames], s.init_box) for s in ds]
    out: dict[str, Any] = {}
    for name in names:
        # per variant and sequence: the init ms and update seconds of every repeat
        init_ms: dict[bool, list[list[float]]] = {o: [[] for _ in data] for o in (True, False)}
        upd_s: dict[bool, list[list[float]]] = {o: [[] for _ in data] for o in (True, False)}
        boxes: dict[bool, list[np.ndarray]] = {o: [np.empty(0)] * len(data) for o in (True, False)}
        for _ in range(repeats):
            for i, (fr, box) in enumerate(data):
                for old in (True, False):
                    swap(old)
                    t = fastcf.create(name)
                    c = time.thread_time()
                    t.init(fr[0], box)
                    init_ms[old][i].append((time.thread_time() - c) * 1e3)
                    c = time.thread_time()
                    boxes[old][i] = np.array([t.update(f).box for f in fr[1:]])
                    upd_s[old][i].append(time.thread_time() - c)
        swap(False)
        n = sum(len(fr) - 1 for fr, _ in data)
        ious = np.concatenate([iou(a, b) for a, b in zip(boxes[True], boxes[False], strict=True)])
        out[name] = {
            "init_ms_old": float(np.median([min(v) for v in init_ms[True]])),
            "init_ms_new": float(np.median([min(v) for v in init_ms[False]])),
            "update_ms_old": sum(min(v) for v in upd_s[True]) / n * 1e3,
            "update_ms_new": sum(min(v) for v in upd_s[False]) / n * 1e3,
            "box_iou_old_new_mean": float(ious.mean()),
            "box_iou_old_new_min": float(ious.min()),
        }
    return out


def compare(
    argv: list[str] | None,
    *,
    doc: str,
    stem: str,
    title: str,
    measure_primitives: Callable[[], list[dict[str, Any]]],
    swap: Callable[[bool], None],
    diff_note: str,
    boxes_note: str,
) -> int:
    """Parse the common options, time ``measure_primitives`` and the trackers with
    ``swap(True)`` (previous) against ``swap(False)`` (current) under one thread, and write
    ``<out>/<stem>.md`` / ``.json``."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sequences", default="Crossing,Dog,Vase,Girl,Biker,car16_1")
    ap.add_argument("--trackers", default="eco-hc,feco")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    from fastcf.evaluation.calibration import reference_speed
    from fastcf.threads import ThreadScope

    seqs = args.sequences.split(",")
    with ThreadScope(1):
        before = reference_speed()
        prim = measure_primitives()
        trk = trackers(args.trackers.split(","), seqs, args.frames, args.repeats, swap)
        after = reference_speed()
    core = (
        f"core speed (fixed reference workload, ms; `fastcf.evaluation.calibration`): "
        f"python loop {before['python_ms']:.1f} / numpy {before['numpy_ms']:.1f} before, "
        f"{after['python_ms']:.1f} / {after['numpy_ms']:.1f} after"
    )
    lines = [
        f"# {title}",
        "",
        f"Regenerate: `python benchmarks/{stem}.py --frames {args.frames} "
        f"--repeats {args.repeats} --sequences {args.sequences}`. One thread; thread CPU "
        f"time (leaves out the time other processes held the core). {core}.",
        "",
        "## Primitives (ms per call, fastest of 5 batches)",
        "",
        "| primitive | previous | current | speed-up | max difference |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in prim:
        lines.append(
            f"| {r['primitive']} | {r['old']:.3f} | {r['new']:.3f} | {r['old'] / r['new']:.1f}x "
            f"| {r['max_diff']:.2g} |"
        )
    lines += [
        "",
        diff_note,
        "",
        f"## Trackers ({len(seqs)} sequences x first {args.frames} frames; on each "
        f"sequence the two run back to back {args.repeats} times and keep their fastest "
        "run; init: median over the sequences)",
        "",
        "| tracker | init ms previous | init ms current | update ms/frame previous "
        "| update ms/frame current | box IoU previous vs current (mean / min) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in trk.items():
        lines.append(
            f"| {name} | {r['init_ms_old']:.0f} | {r['init_ms_new']:.0f} "
            f"| {r['update_ms_old']:.2f} | {r['update_ms_new']:.2f} "
            f"| {r['box_iou_old_new_mean']:.4f} / {r['box_iou_old_new_min']:.4f} |"
        )
    lines += ["", boxes_note]
    out = Path(args.out)
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    (out / f"{stem}.json").write_text(
        json.dumps({"core": core, "primitives": prim, "trackers": trk}, indent=1)
    )
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    return compare(
        argv,
        doc=__doc__ or "",
        stem="speed_primitives",
        title="Hot primitives: previous against current formulation (one process)",
        measure_primitives=primitives,
        swap=swap_in_old,
        diff_note="max difference: orientation bins and patches, the largest absolute "
        "difference (0 = identical); reg filter, relative to the largest output coefficient.",
        boxes_note="The previous formulations are swapped back in as module attributes "
        "(`swap_in_old`); the boxes differ only through the reg filter's float32 rounding "
        "(the bins and the patches are identical).",
    )


if __name__ == "__main__":
    sys.exit(main())
