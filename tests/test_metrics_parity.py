"""Parity of fastcf.metrics with the got10k toolkit on published OTB results.

The published per-frame results of real trackers (../shared/data/results/OTB100) are
scored against the shared OTB ground truth with fastcf and with got10k's own functions
(``rect_iou``, ``center_error``, ``ExperimentOTB._calc_curves``, the overall average of
``ExperimentOTB.report``, and ``ExperimentGOT10k._evaluate``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import require, shared_path
from fastcf.io.results import read_boxes
from fastcf.metrics import (
    got_ious,
    got_scores,
    mean_curves,
    score_sequence,
)

got10k_metrics = require("got10k.utils.metrics")
got10k_otb = require("got10k.experiments.otb")
got10k_got = require("got10k.experiments.got10k")

TOL = 1e-3


def _pairs() -> list[tuple[str, list[str]]]:
    results = shared_path("results", "OTB100")
    seqs = shared_path("sequences")
    out = []
    for tdir in sorted(p for p in results.iterdir() if p.is_dir()):
        names = sorted(
            p.stem for p in tdir.glob("*.txt") if (seqs / p.stem / "groundtruth_rect.txt").exists()
        )
        if names:
            out.append((tdir.name, names))
    assert out, "no published results found"
    return out


def _gt(seq: str) -> np.ndarray:
    return np.loadtxt(shared_path("sequences", seq, "groundtruth_rect.txt"), delimiter=",")


def _otb_experiment():  # ExperimentOTB without its dataset download: only the curve code
    exp = object.__new__(got10k_otb.ExperimentOTB)
    exp.nbins_iou = 21
    exp.nbins_ce = 51
    return exp


def _got10k_sequence(exp, res: np.ndarray, anno: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    boxes = res.copy()
    boxes[0] = anno[0]  # as ExperimentOTB.report does
    ious, ces = exp._calc_metrics(boxes, anno)
    return exp._calc_curves(ious, ces)


def test_otb_parity_with_got10k() -> None:
    exp = _otb_experiment()
    results = shared_path("results", "OTB100")
    checked = 0
    for tracker, seqs in _pairs():
        ours, theirs_s, theirs_p = [], [], []
        for seq in seqs:
            anno = _gt(seq)
            raw = np.loadtxt(results / tracker / f"{seq}.txt", delimiter=",")
            assert len(raw) >= len(anno), (tracker, seq)
            res = raw[: len(anno)]  # Human3: results cover 1698 frames, GT the first 199
            succ, prec = _got10k_sequence(exp, res, anno)
            mine = score_sequence(
                read_boxes(results / tracker / f"{seq}.txt")[: len(anno)],
                read_boxes(shared_path("sequences", seq, "groundtruth_rect.txt")),
            )
            np.testing.assert_allclose(mine.curves.success, succ, atol=TOL, err_msg=seq)
            np.testing.assert_allclose(mine.curves.precision, prec, atol=TOL, err_msg=seq)
            assert mine.auc == pytest.approx(np.mean(succ), abs=TOL), (tracker, seq)
            assert mine.precision_20 == pytest.approx(prec[20], abs=TOL), (tracker, seq)
            ours.append(mine.curves)
            theirs_s.append(succ)
            theirs_p.append(prec)
            checked += 1
        overall = mean_curves(ours)
        succ_curve = np.mean(theirs_s, axis=0)
        prec_curve = np.mean(theirs_p, axis=0)
        assert overall.auc == pytest.approx(np.mean(succ_curve), abs=TOL), tracker
        assert overall.precision_20 == pytest.approx(prec_curve[20], abs=TOL), tracker
        assert overall.success_rate_50 == pytest.approx(succ_curve[10], abs=TOL), tracker
    assert checked >= 100


def test_per_frame_parity_and_scores_are_not_trivial() -> None:
    """Per-frame IoU / centre error match got10k; results differ between trackers."""
    results = shared_path("results", "OTB100")
    aucs = {}
    for tracker, seqs in _pairs():
        seq = seqs[0]
        anno = _gt(seq)
        res = np.loadtxt(results / tracker / f"{seq}.txt", delimiter=",")[: len(anno)]
        s = score_sequence(res, anno, first_frame="result")
        np.testing.assert_allclose(s.ious, got10k_metrics.rect_iou(res, anno), atol=1e-9)
        np.testing.assert_allclose(s.center_errors, got10k_metrics.center_error(res, anno))
        aucs[tracker] = s.auc
    assert len(set(np.round(list(aucs.values()), 6))) > 1
    assert 0.0 < min(aucs.values()) and max(aucs.values()) < 1.0


def _lasot_norm_errors(res: np.ndarray, anno: np.ndarray) -> np.ndarray:
    """Independent re-derivation of calc_seq_err_robust.m with norm_dst (1-based centres)."""
    rect = res.copy()
    rect[0] = anno[0]
    c_gt = anno[:, :2] + (anno[:, 2:] - 1) / 2
    c = rect[:, :2] + (rect[:, 2:] - 1) / 2
    return np.sqrt(np.sum(((c / anno[:, 2:]) - (c_gt / anno[:, 2:])) ** 2, axis=1))


def test_normalized_precision_matches_lasot_formula() -> None:
    results = shared_path("results", "OTB100")
    thr = np.arange(51) / 100
    for tracker, seqs in _pairs()[:3]:
        for seq in seqs:
            anno = _gt(seq)
            res = np.loadtxt(results / tracker / f"{seq}.txt", delimiter=",")[: len(anno)]
            err = _lasot_norm_errors(res, anno)
            s = score_sequence(res, anno)
            np.testing.assert_allclose(s.norm_center_errors, err, rtol=1e-9, atol=1e-12)
            # integer boxes put errors exactly on thresholds (1 px / 50 px = 0.02): the
            # toolkit's c/w - c_gt/w rounds those ties either way, fastcf's (c - c_gt)/w
            # does not; compare with ties counted as the exact arithmetic says
            curve = np.array([np.sum(err <= t + 1e-12) for t in thr]) / len(anno)
            np.testing.assert_allclose(s.curves.norm_precision, curve, atol=TOL)
            assert s.norm_precision_20 == pytest.approx(curve[20], abs=TOL)


def test_got10k_ao_sr_parity_with_absent_frames() -> None:
    """AO/SR as ExperimentGOT10k.report computes them, with synthetic absent frames."""
    results = shared_path("results", "OTB100")
    exp = object.__new__(got10k_got.ExperimentGOT10k)
    tracker, seqs = _pairs()[0]
    ours, theirs = [], []
    for seq in seqs:
        anno = _gt(seq)
        res = np.loadtxt(results / tracker / f"{seq}.txt", delimiter=",")[: len(anno)]
        cover = np.ones(len(anno), int)
        cover[::7] = 0  # every 7th frame "absent" (frame 0 is dropped anyway)
        theirs.append(got10k_metrics.rect_iou(res[1:], anno[1:])[cover[1:] > 0])
        ours.append(got_ious(res, anno, absent=cover == 0))
        np.testing.assert_allclose(ours[-1], theirs[-1], atol=1e-9)
    ao, sr, _, _ = exp._evaluate(np.concatenate(theirs), np.zeros(0))
    mine = got_scores(ours)
    assert mine.ao == pytest.approx(ao, abs=TOL)
    assert mine.sr50 == pytest.approx(sr, abs=TOL)
    pooled = np.concatenate(theirs)
    assert mine.sr75 == pytest.approx(np.mean(pooled > 0.75), abs=TOL)


def test_shared_results_layout_is_as_documented() -> None:
    results = Path(shared_path("results", "OTB100"))
    assert (results / "ATOM" / "Human3.txt").exists()
    assert len(read_boxes(results / "ATOM" / "Human3.txt")) == 1698
