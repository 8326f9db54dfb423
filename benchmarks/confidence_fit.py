"""Fit the found/lost score on the per-frame data of ``confidence_data.py`` -> confidence_fit.md.

    python benchmarks/confidence_fit.py [--trackers feco,eco-hc]

Features per update frame (``fastcf.trackers.confidence``): log(peak / ref_peak),
log(APCE / ref_APCE), log(PSR), where the references are exponential moving averages over
the frames the model itself reports as found (simulated here exactly as the tracker runs
them; the first pass uses the frames with IoU >= 0.5). Labels: found = IoU >= 0.5, lost =
IoU == 0 or target absent; frames in between are left out of the fit. One logistic
regression over both trackers' frames (so one set of weights serves every preset), then
the decision threshold. Prints and writes the weights, the ROC AUC of the score and the
flag rates the issue asks for; the tracker defaults are set from this output.
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


def sequences(path):
    data = np.load(path)
    rows, lengths = data["rows"], data["lengths"]
    out, start = [], 0
    for name, n in zip(data["sequences"], lengths, strict=True):
        out.append((str(name), rows[start : start + n]))
        start += n
    return out


def features(rows: np.ndarray, found: np.ndarray, memory: float = MEMORY) -> np.ndarray:
    """Per-frame features with references over the frames flagged ``found`` so far."""
    peak, apce, psr = rows[:, 0], rows[:, 1], rows[:, 2]
    eps = 1e-12
    out = np.zeros((len(rows), 3))
    rp = ra = math.nan
    for i in range(len(rows)):
        p, a = max(peak[i], eps), max(apce[i], eps)
        bp = rp if math.isfinite(rp) else p
        ba = ra if math.isfinite(ra) else a
        out[i] = (
            math.log(p / max(bp, eps)),
            math.log(a / max(ba, eps)),
            math.log(max(psr[i], eps)),
        )
        if found[i]:
            if not math.isfinite(rp):
                rp, ra = p, a
            else:
                rp, ra = (1 - memory) * rp + memory * p, (1 - memory) * ra + memory * a
    return out


def labels(rows: np.ndarray) -> np.ndarray:
    """1 found (IoU >= 0.5), 0 lost (IoU 0 or absent), -1 in between."""
    iou = rows[:, 6]
    lab = np.full(len(rows), -1)
    lab[np.isnan(iou) | (iou <= 0)] = 0
    lab[iou >= 0.5] = 1
    return lab


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Logistic regression (weights..., bias) by L-BFGS, classes balanced."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    wpos = 0.5 / max(y.mean(), 1e-9)
    wneg = 0.5 / max(1 - y.mean(), 1e-9)
    sw = np.where(y == 1, wpos, wneg)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = xb @ w
        p = 1 / (1 + np.exp(-z))
        ll = -(sw * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))).mean()
        g = xb.T @ (sw * (p - y)) / len(y)
        return ll + l2 * float(w[:-1] @ w[:-1]), g + np.r_[2 * l2 * w[:-1], 0.0]

    return minimize(loss, np.zeros(xb.shape[1]), jac=True, method="L-BFGS-B").x


def score(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ w[:-1] + w[-1])))


def roc_auc(s_pos: np.ndarray, s_neg: np.ndarray) -> float:
    """P(score of a found frame > score of a lost one), ties count half."""
    allv = np.concatenate([s_pos, s_neg])
    ranks = np.argsort(np.argsort(allv, kind="stable"), kind="stable").astype(float) + 1
    # average ranks of ties
    order = np.argsort(allv, kind="stable")
    sorted_v = allv[order]
    i = 0
    while i < len(sorted_v):
        j = i
        while j + 1 < len(sorted_v) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        if j > i:
            ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r_pos = ranks[: len(s_pos)].sum()
    return float((r_pos - len(s_pos) * (len(s_pos) + 1) / 2) / (len(s_pos) * len(s_neg)))


def build(seqs, w: np.ndarray | None):
    xs, ys = [], []
    for _, rows in seqs:
        lab = labels(rows)
        if w is None:
            found = lab == 1
        else:  # the model's own decision, frame by frame
            found = np.zeros(len(rows), bool)
            peak, apce = rows[:, 0], rows[:, 1]
            eps = 1e-12
            rp = ra = math.nan
            x = np.zeros((len(rows), 3))
            for i in range(len(rows)):
                p, a = max(peak[i], eps), max(apce[i], eps)
                bp = rp if math.isfinite(rp) else p
                ba = ra if math.isfinite(ra) else a
                x[i] = (math.log(p / bp), math.log(a / ba), math.log(max(rows[i, 2], eps)))
                found[i] = score(x[i : i + 1], w)[0] >= 0.5
                if found[i]:
                    if not math.isfinite(rp):
                        rp, ra = p, a
                    else:
                        rp, ra = 0.9 * rp + 0.1 * p, 0.9 * ra + 0.1 * a
            xs.append(x)
            ys.append(lab)
            continue
        xs.append(features(rows, found))
        ys.append(lab)
    return np.concatenate(xs), np.concatenate(ys)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trackers", default="feco,eco-hc")
    ap.add_argument("--raw", default=str(HERE / "raw" / "confidence"))
    args = ap.parse_args()
    names = args.trackers.split(",")
    data = {n: sequences(f"{args.raw}/{n}.npz") for n in names}
    w = None
    for _ in range(3):
        x, y = zip(*(build(data[n], w) for n in names), strict=True)
        xa, ya = np.concatenate(x), np.concatenate(y)
        keep = ya >= 0
        w = fit(xa[keep], ya[keep].astype(float))
    out = {"weights": w[:-1].tolist(), "bias": float(w[-1]), "trackers": {}}
    lines = [
        "# Found/lost score fit",
        "",
        f"weights {np.round(w[:-1], 3).tolist()}, bias {w[-1]:.3f}",
        "",
    ]
    lines += [
        "| tracker | frames | found | lost | ROC AUC | ok on found (t=0.5) | not ok on lost |"
    ]
    lines += ["|---|---:|---:|---:|---:|---:|---:|"]
    for n in names:
        x, y = build(data[n], w)
        s = score(x, w)
        pos, neg = s[y == 1], s[y == 0]
        auc = roc_auc(pos, neg)
        rec = float((pos >= 0.5).mean())
        spec = float((neg < 0.5).mean())
        out["trackers"][n] = {"frames": len(y), "auc": auc, "ok_found": rec, "notok_lost": spec}
        lines.append(
            f"| {n} | {len(y)} | {len(pos)} | {len(neg)} | {auc:.3f} | {rec:.3f} | {spec:.3f} |"
        )
        for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            lines.append(f"|  t={t} | | | | | {(pos >= t).mean():.3f} | {(neg < t).mean():.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "results" / "confidence_fit.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
