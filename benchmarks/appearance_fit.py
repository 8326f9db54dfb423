"""Fit the colour check of the reported score -> appearance_fit.md / .json.

    python benchmarks/appearance_fit.py [--trackers feco,eco-hc] [--workers 2]

The reported score of fastcf's CF trackers is (``fastcf.trackers.confidence``)

    sigmoid(w0 * logit(response score) + w1 * log(similarity) + w2 * log(likelihood) + w3)

with ``similarity`` and ``likelihood`` the colour features of the reported box against the
first frame (``fastcf.trackers.appearance.ColourModel``). Learning and the lost state
follow the response score alone, so the boxes do not depend on the check, and the check can
be fitted on the trackers' own output with the check off:

1. each tracker runs with ``appearance_check=false`` (and neutral weights) on the calibration set of
   ``lost_target.py`` (the 34 development sequences and 68 synthetic blackout / occlusion
   variants; results under ``raw/appearance_fit``);
2. the colour features of every reported box, with the colour model built from the first
   frame and box exactly as the tracker builds it;
3. labels as in ``lost_target.py``: found (IoU >= 0.5) or lost (IoU = 0 or the target
   absent), other frames left out;
4. a logistic regression over the frames of all trackers together (classes balanced,
   ``confidence_fit.fit``): ROC AUC, the flag rates per threshold, and for each tracker
   the *band*, the thresholds at which both flag targets hold (>= 0.97 ok on found
   frames, >= 0.70 not ok on lost ones);
5. the shipped weights: the fitted ones with the bias moved so that the middle of the
   first tracker's band falls on its ``ok_threshold`` (0.3 for ``feco``), so the
   presets' thresholds need not change; evaluated in-sample and 5-fold cross-validated by
   sequence (a sequence and its synthetic variants in the same fold, folds drawn with
   seed 0, each fold's bias moved by the same amount).
"""

from __future__ import annotations

import argparse
import json
import math
from multiprocessing import get_context

import numpy as np
from confidence_fit import fit, roc_auc
from devset import HERE, Variant, dev_dataset
from lost_target import lost_clips, per_frame

OK_FOUND, NOTOK_LOST = 0.97, 0.70
GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
RAW = HERE / "raw" / "appearance_fit"
NEUTRAL = "1,0,0,0"  # weights that report the response score itself (unused: the check is off)


def _features(job: tuple[str, np.ndarray, np.ndarray, np.ndarray]) -> tuple[str, np.ndarray]:
    """(response score, similarity, likelihood, label) of each update frame of one
    sequence; label 1 found, 0 lost, -1 left out."""
    from fastcf.metrics import iou
    from fastcf.trackers.appearance import ColourModel
    from fastcf.trackers.eco.tracker import as_bgr

    name, boxes, scores, gt = job
    rows = []
    model = None
    for i, frame in enumerate(CALIB[name].frames):
        image = as_bgr(frame)
        if i == 0:
            model = ColourModel(image, CALIB[name].init_box)
            continue
        assert model is not None
        similarity, likelihood = model.features(image, boxes[i])
        absent = not np.all(np.isfinite(gt[i]))
        overlap = 0.0 if absent else float(iou(boxes[i : i + 1], gt[i : i + 1])[0])
        label = 0 if absent or overlap <= 0 else (1 if overlap >= 0.5 else -1)
        rows.append((scores[i], similarity, likelihood, label))
    return name, np.asarray(rows, dtype=np.float64).reshape(-1, 4)


CALIB = None  # the calibration dataset, set before the workers fork


def design(rows: np.ndarray) -> np.ndarray:
    """The regression's inputs: logit of the response score, log similarity, log
    likelihood, clipped as ``fastcf.trackers.appearance.appearance_logit`` clips them."""
    from fastcf.trackers.appearance import FEATURE_FLOOR, SCORE_EPS

    s = np.clip(rows[:, 0], SCORE_EPS, 1 - SCORE_EPS)
    return np.column_stack(
        [
            np.log(s / (1 - s)),
            np.log(np.maximum(rows[:, 1], FEATURE_FLOOR)),
            np.log(np.maximum(rows[:, 2], FEATURE_FLOOR)),
        ]
    )


def scores_of(rows: np.ndarray, w: np.ndarray) -> np.ndarray:
    z = design(rows) @ w[:3] + w[3]
    # a response score of 0 (no finite response) is reported as 0 (Confidence.report)
    return np.where(rows[:, 0] <= 0, 0.0, 1 / (1 + np.exp(-np.clip(z, -60, 60))))


def flags(score: np.ndarray, label: np.ndarray) -> dict:
    pos, neg = score[label == 1], score[label == 0]
    sweep = {f"{t:.2f}": [float((pos >= t).mean()), float((neg < t).mean())] for t in GRID}
    band = [float(t) for t, (a, b) in sweep.items() if a >= OK_FOUND and b >= NOTOK_LOST]
    return {"found": int(len(pos)), "lost": int(len(neg)), "roc_auc": roc_auc(pos, neg),
            "sweep": sweep, "band": [min(band), max(band)] if band else None}  # fmt: skip


def base_name(seq: str) -> str:
    return seq.split("-black")[0].split("-occluded")[0]


def main() -> int:
    global CALIB
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--trackers", default="feco,eco-hc")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    import fastcf
    from fastcf.evaluation import run_experiment

    trackers = args.trackers.split(",")
    names = [f"{t}-colouroff" for t in trackers]
    for t, n in zip(trackers, names, strict=True):
        # the weights pinned too, so that the stored results do not depend on the
        # shipped weights (they are part of the config's fingerprint)
        Variant(n, t, {"appearance_check": "false", "appearance_weights": NEUTRAL}).register()
    CALIB = lost_clips(dev_dataset())
    run_experiment(names, CALIB, RAW, workers=args.workers, quiet=True)

    data: dict[str, dict[str, np.ndarray]] = {}
    for t, n in zip(trackers, names, strict=True):
        jobs = [(s.name, b, np.asarray(sc, float), s.ground_truth)
                for s, b, _, sc in per_frame(RAW, CALIB, n)]  # fmt: skip
        with get_context("fork").Pool(args.workers) as pool:
            data[t] = dict(pool.map(_features, jobs, chunksize=1))
    seqs = sorted(data[trackers[0]])
    stack = {t: np.concatenate([data[t][s] for s in seqs]) for t in trackers}
    groups = {t: np.concatenate([[base_name(s)] * len(data[t][s]) for s in seqs]) for t in trackers}
    rows = np.concatenate([stack[t] for t in trackers])
    keep = rows[:, 3] >= 0
    w = fit(design(rows[keep]), rows[keep, 3])

    result: dict = {"fitted": [float(v) for v in w], "trackers": {}}
    for t in trackers:
        lab = stack[t][:, 3]
        result["trackers"][t] = {
            "response score": flags(stack[t][:, 0], lab),
            "with colour, fitted bias": flags(scores_of(stack[t], w), lab),
        }
    # the shipped bias: the middle of the first tracker's in-sample band at its ok_threshold
    first = trackers[0]
    band = result["trackers"][first]["with colour, fitted bias"]["band"]
    ok = float(fastcf.get_config(first).ok_threshold)
    shift = 0.0
    if band is not None:
        mid = (band[0] + band[1]) / 2
        shift = math.log(ok / (1 - ok)) - math.log(mid / (1 - mid))
    shipped = np.round(w + np.array([0.0, 0.0, 0.0, shift]), 3)
    result["shipped"] = [float(v) for v in shipped]

    # 5-fold cross-validation by sequence (a sequence and its variants in the same fold),
    # each fold's bias moved by the same shift as the shipped one
    bases = sorted({base_name(s) for s in seqs})
    folds = np.array_split(np.random.default_rng(0).permutation(bases), 5)
    cv_scores = {t: np.zeros(len(stack[t])) for t in trackers}
    for fold in folds:
        train = np.concatenate([stack[t][~np.isin(groups[t], fold)] for t in trackers])
        train = train[train[:, 3] >= 0]
        wf = fit(design(train), train[:, 3]) + np.array([0.0, 0.0, 0.0, shift])
        for t in trackers:
            test = np.isin(groups[t], fold)
            cv_scores[t][test] = scores_of(stack[t][test], wf)
    for t in trackers:
        lab = stack[t][:, 3]
        result["trackers"][t]["shipped, in-sample"] = flags(scores_of(stack[t], shipped), lab)
        result["trackers"][t]["shipped, 5-fold CV"] = flags(cv_scores[t], lab)
        result["trackers"][t]["ok_threshold"] = float(fastcf.get_config(t).ok_threshold)

    (HERE / "results" / "appearance_fit.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# Colour check of the reported score: fit",
        "",
        "`python benchmarks/appearance_fit.py` (see its docstring). Frames: found = IoU >= 0.5,",
        "lost = IoU 0 or target absent, over the 34 development sequences and their 68",
        "synthetic variants; band = the thresholds (step 0.01) at which >= 0.97 of the found",
        "frames are ok and >= 0.70 of the lost ones are not.",
        "",
        f"Fitted (w0, w1, w2, bias): {tuple(round(float(v), 3) for v in w)}; shipped (bias moved "
        f"so the middle of `{first}`'s band is its ok_threshold {ok}): {tuple(result['shipped'])}.",
        "",
        "| tracker | score | found | lost | ROC AUC | band | at ok_threshold: ok / not ok |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for t in trackers:
        thr = f"{result['trackers'][t]['ok_threshold']:.2f}"
        for kind in (
            "response score",
            "with colour, fitted bias",
            "shipped, in-sample",
            "shipped, 5-fold CV",
        ):
            r = result["trackers"][t][kind]
            band = "none" if r["band"] is None else f"{r['band'][0]:.2f}-{r['band'][1]:.2f}"
            a, b = r["sweep"].get(thr, [math.nan, math.nan])
            lines.append(f"| {t} | {kind} | {r['found']} | {r['lost']} | {r['roc_auc']:.3f} | "
                         f"{band} | {a:.3f} / {b:.3f} |")  # fmt: skip
    (HERE / "results" / "appearance_fit.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
