"""Fit the found/lost score on the per-frame data of ``confidence_data.py``.

    python benchmarks/confidence_fit.py [--trackers feco,eco-hc] [--per-tracker]
        [--ok-threshold 0.3] [--name confidence_fit]

Features per update frame (``fastcf.trackers.confidence``): log(peak / ref_peak),
log(APCE / ref_APCE), log(PSR), where the references are exponential moving averages
(``confidence_memory`` 0.1) over the frames the model itself reports as found, i.e. with a
score >= ``--ok-threshold``, simulated exactly as the tracker runs them (the first pass
uses the frames with IoU >= 0.5, then three passes with the model's own decisions).
Labels: found = IoU >= 0.5, lost = IoU == 0 or target absent; frames in between are left
out of the fit. Logistic regression with balanced classes; one set of weights over all
trackers, or with ``--per-tracker`` one set per tracker (for per-preset defaults).

Prints and writes ``benchmarks/results/<name>.md`` / ``.json``: the weights, the ROC AUC of
the score, the flag rates the issue asks for (ok on found >= 0.97, not ok on lost >= 0.70)
over a threshold sweep, and the range of thresholds that meets both (if any). The data
are the development sequences, so these are in-sample numbers; the tracker defaults are
set from this output and then measured by ``benchmarks/lost_target.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np
from devset import HERE
from scipy.optimize import minimize

MEMORY = 0.1
MEMORY_FLOOR = 0.01  # the memory feature is log(max(memory ratio, MEMORY_FLOOR))
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.05))
OK_FOUND, NOTOK_LOST = 0.97, 0.70


def sequences(path):
    data = np.load(path)
    rows, lengths = data["rows"], data["lengths"]
    out, start = [], 0
    for name, n in zip(data["sequences"], lengths, strict=True):
        out.append((str(name), rows[start : start + n]))
        start += n
    return out


def labels(rows: np.ndarray) -> np.ndarray:
    """1 found (IoU >= 0.5), 0 lost (IoU 0 or absent), -1 in between."""
    iou = rows[:, 6]
    lab = np.full(len(rows), -1)
    lab[np.isnan(iou) | (iou <= 0)] = 0
    lab[iou >= 0.5] = 1
    return lab


def score(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(x @ w[:-1] + w[-1], -60, 60)))


def memory_feature(rows: np.ndarray) -> np.ndarray:
    """log(max(memory ratio, MEMORY_FLOOR)); 0 where the data have none (NaN)."""
    m = rows[:, 7] if rows.shape[1] > 7 else np.full(len(rows), np.nan)
    out = np.log(np.maximum(np.nan_to_num(m, nan=1.0), MEMORY_FLOOR))
    return np.where(np.isfinite(m), out, 0.0)


def features(
    rows: np.ndarray, found_by, memory: float = MEMORY, use_memory: bool = False
) -> np.ndarray:
    """Per-frame features; the references follow the frames ``found_by(i, x_i)`` calls
    found (frame ``i`` and its features), as the tracker's ``Confidence.found``."""
    eps = 1e-12
    mem = memory_feature(rows) if use_memory else None
    x = np.zeros((len(rows), 4 if use_memory else 3))
    rp = ra = math.nan
    for i in range(len(rows)):
        p, a = max(rows[i, 0], eps), max(rows[i, 1], eps)
        bp = rp if math.isfinite(rp) else p
        ba = ra if math.isfinite(ra) else a
        x[i, :3] = (math.log(p / max(bp, eps)), math.log(a / max(ba, eps)),
                    math.log(max(rows[i, 2], eps)))  # fmt: skip
        if mem is not None:
            x[i, 3] = mem[i]
        if found_by(i, x[i]):
            if not math.isfinite(rp):
                rp, ra = p, a
            else:
                rp, ra = (1 - memory) * rp + memory * p, (1 - memory) * ra + memory * a
    return x


def build(
    seqs, w: np.ndarray | None, ok_threshold: float, use_memory: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for _, rows in seqs:
        lab = labels(rows)
        if w is None:
            x = features(rows, lambda i, _x, lab=lab: lab[i] == 1, use_memory=use_memory)
        else:  # the model's own decision, frame by frame
            x = features(
                rows,
                lambda _i, xi: score(xi[None], w)[0] >= ok_threshold,
                use_memory=use_memory,
            )
        xs.append(x)
        ys.append(lab)
    return np.concatenate(xs), np.concatenate(ys)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Logistic regression (weights..., bias) by L-BFGS, classes balanced."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    sw = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -60, 60)))
        ll = -(sw * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))).mean()
        g = xb.T @ (sw * (p - y)) / len(y)
        return ll + l2 * float(w[:-1] @ w[:-1]), g + np.r_[2 * l2 * w[:-1], 0.0]

    return minimize(loss, np.zeros(xb.shape[1]), jac=True, method="L-BFGS-B").x


def roc_auc(s_pos: np.ndarray, s_neg: np.ndarray) -> float:
    """P(score of a found frame > score of a lost one), ties count half (Mann-Whitney)."""
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([s_pos, s_neg]))
    r_pos = ranks[: len(s_pos)].sum()
    return float((r_pos - len(s_pos) * (len(s_pos) + 1) / 2) / (len(s_pos) * len(s_neg)))


def fit_group(data: dict, names: list[str], ok_threshold: float, use_memory: bool) -> np.ndarray:
    w = None
    for _ in range(4):
        x, y = zip(*(build(data[n], w, ok_threshold, use_memory) for n in names), strict=True)
        xa, ya = np.concatenate(x), np.concatenate(y)
        keep = ya >= 0
        w = fit(xa[keep], ya[keep].astype(float))
    return w


def evaluate(seqs, w: np.ndarray, ok_threshold: float, use_memory: bool) -> dict:
    x, y = build(seqs, w, ok_threshold, use_memory)
    s = score(x, w)
    pos, neg = s[y == 1], s[y == 0]
    sweep = {t: (float((pos >= t).mean()), float((neg < t).mean())) for t in THRESHOLDS}
    meets = [t for t, (a, b) in sweep.items() if a >= OK_FOUND and b >= NOTOK_LOST]
    return {"found": int(len(pos)), "lost": int(len(neg)), "auc": roc_auc(pos, neg),
            "sweep": sweep, "meets_both": meets}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trackers", default="feco,eco-hc")
    ap.add_argument("--per-tracker", action="store_true")
    ap.add_argument("--ok-threshold", type=float, default=0.3)
    ap.add_argument(
        "--memory", action="store_true", help="4th feature: the first frame's filter (ECO)"
    )
    ap.add_argument("--raw", default=str(HERE / "raw" / "confidence"))
    ap.add_argument("--name", default="confidence_fit")
    ap.add_argument("--note", default="", help="a line under the title (what became of it)")
    args = ap.parse_args()
    names = args.trackers.split(",")
    data = {n: sequences(f"{args.raw}/{n}.npz") for n in names}
    groups = [[n] for n in names] if args.per_tracker else [names]
    out: dict = {"ok_threshold_simulated": args.ok_threshold, "fits": []}
    cmd = f"python benchmarks/confidence_fit.py --trackers {args.trackers}"
    cmd += (" --per-tracker" if args.per_tracker else "") + (" --memory" if args.memory else "")
    cmd += f" --raw {args.raw}" if args.raw != str(HERE / "raw" / "confidence") else ""
    cmd += f" --name {args.name}"
    lines = ["# Found/lost score fit", "", f"Regenerate: `{cmd}` (data: `confidence_data.py`)", ""]
    lines += [args.note, ""] if args.note else []
    for group in groups:
        w = fit_group(data, group, args.ok_threshold, args.memory)
        entry = {"trackers": group, "weights": w[:-1].tolist(), "bias": float(w[-1])}
        lines += [f"## Fit on {', '.join(group)}", "",
                  f"weights {np.round(w[:-1], 3).tolist()}, bias {w[-1]:.3f}", ""]  # fmt: skip
        for n in group:
            ev = evaluate(data[n], w, args.ok_threshold, args.memory)
            entry[n] = ev
            meets = ", ".join(f"{t:.2f}" for t in ev["meets_both"]) or "none"
            lines += [
                f"`{n}`: {ev['found']} found and {ev['lost']} lost frames, ROC AUC "
                f"{ev['auc']:.3f}; thresholds meeting both targets: {meets}",
                "",
                "| threshold | ok on found | not ok on lost |",
                "|---:|---:|---:|",
            ]
            lines += [f"| {t:.2f} | {a:.3f} | {b:.3f} |" for t, (a, b) in ev["sweep"].items()]
            lines.append("")
        out["fits"].append(entry)
    text = "\n".join(lines)
    print(text)
    (HERE / "results" / f"{args.name}.md").write_text(text)
    (HERE / "results" / f"{args.name}.json").write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
