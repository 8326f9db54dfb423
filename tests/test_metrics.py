"""Hand-computed checks of fastcf.metrics on tiny boxes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastcf.metrics import (
    attribute_means,
    auc,
    center_error,
    failed_curves,
    got_ious,
    got_scores,
    iou,
    mean_curves,
    norm_precision_curve,
    normalized_center_error,
    precision_curve,
    score_sequence,
    sequence_speed,
    success_curve,
    success_thresholds,
    summarize_speed,
    valid_boxes,
    value_at,
)


def _brute_iou(a: np.ndarray, b: np.ndarray, step: float = 0.25) -> float:
    """IoU by counting cells of a fine grid (boxes on a 0.25 px lattice)."""
    xs = np.arange(-20, 40, step) + step / 2
    X, Y = np.meshgrid(xs, xs)

    def inside(r: np.ndarray) -> np.ndarray:
        return (X > r[0]) & (X < r[0] + r[2]) & (Y > r[1]) & (Y < r[1] + r[3])

    ia, ib = inside(a), inside(b)
    return float((ia & ib).sum() / (ia | ib).sum())


def test_iou_known_overlaps() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [10, 0, 10, 10], [2, 2, 5, 5]], float)
    np.testing.assert_allclose(iou(a, b), [1.0, 50 / 150, 0.0, 25 / 100])
    # symmetric
    np.testing.assert_allclose(iou(b, a), iou(a, b))
    # a single box works too
    assert iou([0, 0, 2, 2], [1, 1, 2, 2])[0] == pytest.approx(1 / 7)


def test_iou_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    a = np.round(rng.uniform([-5, -5, 1, 1], [15, 15, 20, 20], (30, 4)) * 4) / 4
    b = np.round(rng.uniform([-5, -5, 1, 1], [15, 15, 20, 20], (30, 4)) * 4) / 4
    got = iou(a, b)
    want = [_brute_iou(x, y) for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_invalid_boxes_fail_everywhere() -> None:
    gt = np.array([[0, 0, 10, 10]] * 4, float)
    pred = np.array([[np.nan, 0, 10, 10], [0, 0, 0, 10], [0, 0, 10, -1], [0, 0, np.inf, 5]])
    assert valid_boxes(pred).tolist() == [False] * 4
    np.testing.assert_array_equal(iou(pred, gt), 0.0)
    assert np.all(np.isinf(center_error(pred, gt)))
    assert np.all(np.isinf(normalized_center_error(pred, gt)))


def test_iou_bound_clips_to_image() -> None:
    # GOT rule: the part outside a 10x10 image is cut before the IoU
    pred = np.array([[5, 5, 10, 10]], float)
    gt = np.array([[5, 5, 5, 5]], float)
    assert iou(pred, gt)[0] == pytest.approx(25 / 100)
    assert iou(pred, gt, bound=(10, 10))[0] == pytest.approx(1.0)
    # entirely outside: clipped to zero size -> IoU 0
    assert iou([[20, 20, 5, 5]], [[20, 20, 5, 5]], bound=(10, 10))[0] == 0.0


def test_center_errors() -> None:
    gt = np.array([[0, 0, 10, 20]], float)
    pred = np.array([[3, 4, 10, 20]], float)
    assert center_error(pred, gt)[0] == pytest.approx(5.0)
    # size change moves the centre by half the change
    assert center_error([[0, 0, 14, 20]], gt)[0] == pytest.approx(2.0)
    # normalized by the GT size: dx/w = 3/10, dy/h = 4/20
    assert normalized_center_error(pred, gt)[0] == pytest.approx(math.hypot(0.3, 0.2))


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="lengths must match"):
        score_sequence(np.zeros((3, 4)) + 1, np.ones((4, 4)))
    with pytest.raises(ValueError, match="rows"):
        iou(np.ones((3, 4)), np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        iou(np.ones((3, 3)), np.ones((3, 3)))


def test_success_curve_strictly_greater_and_auc() -> None:
    ious = np.array([0.0, 0.5, 1.0, 0.25])
    t = success_thresholds(5)  # 0, .25, .5, .75, 1
    # > t: at 0 -> 3 of 4; .25 -> 2; .5 -> 1; .75 -> 1; 1 -> 0
    np.testing.assert_allclose(success_curve(ious, t), [0.75, 0.5, 0.25, 0.25, 0.0])
    assert auc(success_curve(ious, t)) == pytest.approx((0.75 + 0.5 + 0.25 + 0.25) / 5)
    # default: 21 OTB thresholds
    c = success_curve(ious)
    assert c.shape == (21,)
    # IoU 0.5 at threshold 0.5 is not a success; 1.0 never succeeds at threshold 1
    assert value_at(c, success_thresholds(), 0.5) == pytest.approx(0.25)
    assert c[-1] == 0.0


def test_auc_converges_to_average_overlap() -> None:
    rng = np.random.default_rng(1)
    ious = rng.uniform(0, 1, 500)
    fine = auc(success_curve(ious, success_thresholds(10001)))
    assert fine == pytest.approx(ious.mean(), abs=1e-3)


def test_precision_curves_less_or_equal() -> None:
    errs = np.array([0.0, 20.0, 20.5, np.inf])
    c = precision_curve(errs)
    assert c.shape == (51,)
    assert c[0] == 0.25 and c[20] == 0.5 and c[21] == 0.75 and c[50] == 0.75
    nc = norm_precision_curve(np.array([0.2, 0.21, 0.0]))
    assert nc.shape == (51,)
    assert nc[20] == pytest.approx(2 / 3) and nc[21] == 1.0


def test_score_sequence_first_frame_and_nan_gt() -> None:
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [np.nan] * 4, [0, 0, 10, 10]], float)
    pred = np.array([[50, 50, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [5, 0, 10, 10]], float)
    s = score_sequence(pred, gt)
    # frame 0 replaced by GT (IoU 1); frame 2 (unknown GT) excluded
    assert s.scored.tolist() == [True, True, False, True]
    np.testing.assert_allclose(s.ious, [1.0, 1.0, 1 / 3])
    np.testing.assert_allclose(s.center_errors, [0.0, 0.0, 5.0])
    assert s.precision_20 == 1.0
    assert s.curves.success_rate_50 == pytest.approx(2 / 3)
    # keep the file's first box instead
    r = score_sequence(pred, gt, first_frame="result")
    np.testing.assert_allclose(r.ious, [0.0, 1.0, 1 / 3])
    # GOT-style: drop frame 0
    e = score_sequence(pred, gt, first_frame="exclude")
    np.testing.assert_allclose(e.ious, [1.0, 1 / 3])
    # LaSOT toolkit: unknown frames stay in the denominator as failures
    f = score_sequence(pred, gt, absent_policy="fail")
    assert f.scored.all()
    np.testing.assert_allclose(f.ious, [1.0, 1.0, 0.0, 1 / 3])
    assert f.precision_20 == 0.75


def test_score_sequence_absent_flags_and_auc_by_hand() -> None:
    gt = np.array([[0, 0, 10, 10]] * 4, float)
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 5], [100, 0, 10, 10], [0, 0, 10, 10]], float)
    absent = np.array([False, False, False, True])
    s = score_sequence(pred, gt, absent)
    np.testing.assert_allclose(s.ious, [1.0, 0.5, 0.0])
    # success over 21 thresholds: IoU 1 > t for t < 1 (20 of 21), 0.5 > t for t < .5 (10)
    assert s.auc == pytest.approx((20 + 10 + 0) / 21 / 3)
    with pytest.raises(ValueError, match="no frame"):
        score_sequence(pred, gt, np.ones(4, bool))


def test_normalized_precision_of_sequence() -> None:
    gt = np.array([[0, 0, 100, 10]] * 3, float)
    # offsets: dx 15 (0.15 of w), dy 3 (0.3 of h), dx 50 (0.5 of w)
    pred = gt + np.array([[0, 0, 0, 0], [15, 0, 0, 0], [0, 3, 0, 0]], float)
    pred[0] = [50, 0, 100, 10]
    s = score_sequence(pred, gt, first_frame="result")
    np.testing.assert_allclose(s.norm_center_errors, [0.5, 0.15, 0.3])
    assert s.norm_precision_20 == pytest.approx(1 / 3)
    # in pixels: 50, 15, 3 -> two within 20 px
    assert s.precision_20 == pytest.approx(2 / 3)


def test_got_ao_sr_with_absent_frames() -> None:
    gt = np.array([[0, 0, 10, 10]] * 5, float)
    pred = np.array(
        [[90, 90, 5, 5], [0, 0, 10, 10], [0, 0, 10, 5], [0, 0, 10, 8], [99, 99, 1, 1]], float
    )
    absent = np.array([False, False, False, False, True])
    ious = got_ious(pred, gt, absent)
    # frame 0 and the absent frame 4 are not scored
    np.testing.assert_allclose(ious, [1.0, 0.5, 0.8])
    g = got_scores(ious)
    assert g.ao == pytest.approx((1 + 0.5 + 0.8) / 3)
    assert g.sr50 == pytest.approx(2 / 3)  # 0.5 is not > 0.5
    assert g.sr75 == pytest.approx(2 / 3)
    assert g.num_frames == 3
    # pooled over sequences: frame weighted
    g2 = got_scores([ious, np.array([0.0])])
    assert g2.ao == pytest.approx(2.3 / 4) and g2.num_frames == 4
    # NaN ground truth counts as absent too
    gt[2] = np.nan
    np.testing.assert_allclose(got_ious(pred, gt), [1.0, 0.8, 0.0])


def test_mean_curves_and_failed() -> None:
    gt = np.array([[0, 0, 10, 10]] * 2, float)
    a = score_sequence(gt, gt).curves
    m = mean_curves([a, failed_curves()])
    np.testing.assert_allclose(m.success, a.success / 2)
    assert m.auc == pytest.approx(a.auc / 2)
    with pytest.raises(ValueError):
        mean_curves([a, score_sequence(gt, gt, success_bins=101).curves])


def test_attribute_means() -> None:
    values = {"a": 1.0, "b": 0.5, "c": 0.0}
    attrs = {"a": ("OCC", "SV"), "b": ("SV",), "c": ()}
    out = attribute_means(values, attrs, ["SV", "OCC", "IV"])
    assert out["SV"][0] == 2 and float(out["SV"][1]) == pytest.approx(0.75)
    assert out["OCC"][0] == 1 and float(out["OCC"][1]) == 1.0
    assert out["IV"][0] == 0 and np.isnan(out["IV"][1])
    curves = attribute_means({"a": [1.0, 0.0], "b": [0.0, 0.0]}, {"a": ["X"], "b": ["X"]})
    np.testing.assert_allclose(curves["X"][1], [0.5, 0.0])
    with pytest.raises(KeyError, match="'b'"):
        attribute_means({"a": 1.0}, {"a": ["X"], "b": ["X"]})


def test_speed_vocabulary_hand_computed() -> None:
    # one sequence: init 0.1 s + updates 0.01, 0.02, 0.04 s
    s = sequence_speed([0.1, 0.01, 0.02, 0.04], decode_times=[0.002] * 4)
    assert s.frames == 4 and s.tracking_seconds == pytest.approx(0.17)
    assert s.throughput_fps == pytest.approx(4 / 0.17)  # init frame and init time included
    assert s.init_ms == pytest.approx(100.0)
    assert s.latency_median_ms == pytest.approx(20.0)  # update frames only
    assert s.latency_p95_ms == pytest.approx(np.percentile([10, 20, 40], 95))
    assert s.latency_max_ms == pytest.approx(40.0)
    assert s.decode_ms == pytest.approx(2.0)  # separate, never in the throughput
    # two sequences: the headline is the mean of the per-sequence throughputs
    t1, t2 = [0.1, 0.01, 0.02, 0.04], [0.5, 0.1, 0.1]
    m = summarize_speed([t1, t2])
    assert m.sequences == 2 and m.frames == 7
    assert m.throughput_fps == pytest.approx((4 / 0.17 + 3 / 0.7) / 2)
    assert m.throughput_fps_pooled == pytest.approx(7 / 0.87)
    assert m.init_ms_median == pytest.approx(300.0)
    assert m.latency_median_ms == pytest.approx(np.median([10, 20, 40, 100, 100]))
    assert m.latency_max_ms == pytest.approx(100.0)
    assert math.isnan(m.decode_ms)
    d = m.to_dict()
    assert d["throughput_fps"] == m.throughput_fps and d["latency_ms"]["max"] == 100.0
    assert d["decode_ms"] is None


def test_speed_unknown_times_are_left_out() -> None:
    assert not sequence_speed([0.5, np.nan, 0.1]).known
    assert not sequence_speed([0.5, -0.1]).known
    assert not sequence_speed([]).known
    assert not sequence_speed([0.1, 0.1], frames=3).known  # times of another length
    assert sequence_speed([0.5]).throughput_fps == pytest.approx(2.0)  # init only
    assert math.isnan(sequence_speed([0.5]).latency_median_ms)
    m = summarize_speed([[0.1, 0.1], [np.nan, 0.1], None])
    assert m.sequences == 1 and m.throughput_fps == pytest.approx(10.0)
    empty = summarize_speed([])
    assert empty.sequences == 0 and math.isnan(empty.throughput_fps)
