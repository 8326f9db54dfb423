"""fastcf's VOT protocols and measures, on cases small enough to work out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastcf.api import TrackResult
from fastcf.errors import ConfigError
from fastcf.evaluation.vot import (
    FAILURE,
    INITIALIZATION,
    NOT_RUN,
    TRACKED,
    RealtimeSettings,
    Segment,
    SupervisedSettings,
    VOTRun,
    eao_curve,
    eao_interval,
    eao_score,
    run_supervised,
    score_runs,
    segments,
    sequence_accuracy,
    vot_overlap,
    vot_overlaps,
)
from fastcf.io.vot_results import read_run, write_run

GT_BOX = (10.0, 10.0, 10.0, 10.0)
FAR = (100.0, 100.0, 10.0, 10.0)  # no overlap with GT_BOX
HALF = (15.0, 10.0, 10.0, 10.0)  # pixels 15..24 vs 10..19: 50 / 150 = 1/3


def frames(n: int) -> list[np.ndarray]:
    """Tiny frames that carry their index in pixel (0, 0)."""
    out = []
    for k in range(n):
        f = np.zeros((200, 200, 3), np.uint8)
        f[0, 0, 0] = k
        out.append(f)
    return out


class ScriptedTracker:
    """Returns ``script[k]`` (default: the ground truth) on frame ``k``; records calls.
    ``costs[k]`` seconds are added to ``clock`` on each call (a fake clock)."""

    def __init__(self, script: dict[int, tuple[float, ...]], costs=None, clock=None):
        self.script = script
        self.costs = costs or {}
        self.clock = clock
        self.inits: list[int] = []
        self.updates: list[int] = []

    def _spend(self, k: int) -> None:
        if self.clock is not None:
            self.clock[0] += self.costs.get(k, 0.0)

    def init(self, frame, box) -> None:
        k = int(frame[0, 0, 0])
        self.inits.append(k)
        self._spend(k)

    def update(self, frame) -> TrackResult:
        k = int(frame[0, 0, 0])
        self.updates.append(k)
        self._spend(k)
        return TrackResult(True, self.script.get(k, GT_BOX), 0.5)  # type: ignore[arg-type]


# --- overlap ---------------------------------------------------------------------------


def test_overlap_by_hand():
    assert vot_overlap(GT_BOX, GT_BOX) == 1.0
    assert vot_overlap(HALF, GT_BOX) == pytest.approx(1 / 3)
    assert vot_overlap(FAR, GT_BOX) == 0.0
    # clipped to a 22-px-wide image: HALF covers 15..21 (70 px), GT 10..19; 50 / 120
    assert vot_overlap(HALF, GT_BOX, (22, 100)) == pytest.approx(50 / 120)
    # rounding: 10.4 -> 10 and 9.6 -> 10 cover the same pixels as 10
    assert vot_overlap((10.4, 9.6, 10.2, 9.8), GT_BOX) == 1.0
    # entirely outside the image: no pixel left -> 0
    assert vot_overlap((300.0, 10.0, 10.0, 10.0), GT_BOX, (200, 200)) == 0.0
    o = vot_overlaps([GT_BOX, (math.nan,) * 4, GT_BOX], [GT_BOX, GT_BOX, (math.nan,) * 4])
    assert o[0] == 1.0 and o[1] == 0.0 and math.isnan(o[2])


# --- supervised ------------------------------------------------------------------------


def test_supervised_failures_skip_and_accuracy_by_hand():
    n = 30
    gt = np.tile(GT_BOX, (n, 1))
    script = {10: HALF, 12: FAR, 25: FAR}
    tracker = ScriptedTracker(script)
    run = run_supervised(tracker, frames(n), gt)
    # failure at 12: frames 13..16 skipped, re-initialised on 17 (12 + 5); failure at 25:
    # the re-initialisation would be on 30, past the end
    assert tracker.inits == [0, 17]
    assert run.failures == 2
    assert list(np.flatnonzero(run.states == FAILURE)) == [12, 25]
    assert list(run.initializations) == [0, 17]
    assert list(np.flatnonzero(run.states == NOT_RUN)) == [13, 14, 15, 16, 26, 27, 28, 29]
    assert tracker.updates == [*range(1, 13), *range(18, 26)]
    # accuracy: burn-in hides 0..9 and 17..26, so frames 10 (1/3) and 11 (1) remain
    acc, used = sequence_accuracy(run, gt, (200, 200), burnin=10)
    assert used == 2
    assert acc == pytest.approx((1 / 3 + 1) / 2)
    # without burn-in: 1..9, 10 (1/3), 11, 18..24 -> 18 frames, one of them at 1/3
    acc0, used0 = sequence_accuracy(run, gt, (200, 200), burnin=0)
    assert used0 == 18
    assert acc0 == pytest.approx((17 + 1 / 3) / 18)


def test_supervised_unknown_ground_truth_is_never_a_failure():
    n = 12
    gt = np.tile(GT_BOX, (n, 1))
    gt[3] = np.nan  # target out of view: the tracker's FAR box there is no failure
    gt[7] = np.nan  # the re-initialisation due on 7 moves to 8
    tracker = ScriptedTracker({3: FAR, 2: FAR})
    run = run_supervised(tracker, frames(n), gt, SupervisedSettings(skip=5))
    assert list(np.flatnonzero(run.states == FAILURE)) == [2]
    assert tracker.inits == [0, 8]
    acc, used = sequence_accuracy(run, gt, (200, 200), burnin=0)
    assert used == 1 + 3  # frame 1, then 9..11
    assert acc == 1.0


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="skip"):
        SupervisedSettings(skip=0)
    with pytest.raises(ConfigError, match="fps"):
        RealtimeSettings(fps=0)
    with pytest.raises(ConfigError, match="frames"):
        run_supervised(ScriptedTracker({}), frames(3), np.tile(GT_BOX, (4, 1)))


# --- EAO -------------------------------------------------------------------------------


def _run(states: list[int], boxes: list[tuple[float, ...]]) -> VOTRun:
    run = VOTRun.empty(len(states))
    run.states[:] = states
    run.boxes[:] = boxes
    return run


def test_eao_by_hand():
    half_rows = (10.0, 10.0, 10.0, 5.0)  # half of GT_BOX's rows: overlap 0.5
    nan = (math.nan,) * 4
    # A: 6 frames, never fails: overlaps 1, 0.5, 1, 1, 1 after the init
    a = _run([1, 3, 3, 3, 3, 3], [GT_BOX, GT_BOX, half_rows, GT_BOX, GT_BOX, GT_BOX])
    # B: 0.5, 0.5, then a failure on frame 3 (segment of 3 frames, then zeros)
    b = _run([1, 3, 3, 2, 0, 0], [GT_BOX, half_rows, half_rows, nan, nan, nan])
    gt = np.tile(GT_BOX, (6, 1))
    segs = segments(a, vot_overlaps(a.boxes, gt)) + segments(b, vot_overlaps(b.boxes, gt))
    assert [(len(s.overlaps), s.failed) for s in segs] == [(6, False), (3, True)]
    curve = eao_curve(segs)
    expected = {
        1: (1.0 + 0.5) / 2,
        2: (0.75 + 0.5) / 2,
        3: (2.5 / 3 + 1 / 3) / 2,
        4: (3.5 / 4 + 1 / 4) / 2,
        5: (4.5 / 5 + 1 / 5) / 2,
    }
    assert math.isnan(curve[0])
    assert len(curve) == 6  # up to the longest segment's 6 frames - 1, as the VOT toolkit
    for length, value in expected.items():
        assert curve[length] == pytest.approx(value), length
    assert eao_score(curve, 2, 4) == pytest.approx((expected[2] + expected[3] + expected[4]) / 3)
    # an interval reaching past the curve averages the covered part (the toolkit's way)
    assert eao_score(curve, 4, 9) == pytest.approx((expected[4] + expected[5]) / 2)
    # extended on request: only the failed segment has a 6-frame average
    assert eao_curve(segs, max_length=6)[6] == pytest.approx(1 / 6)
    # the same through score_runs, with the dataset-level aggregation
    scores = score_runs("t", [("a", a, gt, (200, 200)), ("b", b, gt, (200, 200))], (2, 4), 0)
    assert scores.eao == pytest.approx(eao_score(curve, 2, 4))
    assert scores.failures == 1
    assert scores.robustness == pytest.approx(0.5)  # (0 * 6 + 1 * 6) / 12
    with pytest.raises(ConfigError):
        eao_score(curve, 0, 3)


def test_eao_segment_without_known_frames_counts_nothing():
    seg = Segment(np.array([np.nan, np.nan, 0.8]), False)
    curve = eao_curve([seg])
    assert math.isnan(curve[1]) and curve[2] == pytest.approx(0.8)


def test_eao_interval():
    assert eao_interval([120, 120]) == (1, 120)  # one distinct length: the whole range
    rng = np.random.default_rng(0)
    lengths = rng.normal(300, 40, 60).round().astype(int)
    low, high = eao_interval(list(lengths))
    assert low < 300 < high  # around the mode
    assert 30 < high - low < 150  # about half the mass of a sd-40 bell (~2 x 0.67 sd + kde)
    with pytest.raises(ConfigError):
        eao_interval([0, 5])


# --- real-time ---------------------------------------------------------------------------


def test_realtime_holds_frames_that_arrive_while_busy():
    n = 10
    gt = np.tile(GT_BOX, (n, 1))
    clock = [0.0]
    shifted = (11.0, 10.0, 10.0, 10.0)
    # 20 fps: 0.05 s per frame. init 0.12 s: busy until 0.12, so frames 1 (0.05) and
    # 2 (0.10) keep the init box; frame 3 (0.15) runs. Frame 5 costs 0.07: busy until
    # 0.32, frame 6 (0.30) keeps frame 5's box, frame 7 (0.35) runs.
    costs = {0: 0.12, 5: 0.07}
    tracker = ScriptedTracker({5: shifted}, costs, clock)
    rt = RealtimeSettings(fps=20, grace=0)
    run = run_supervised(tracker, frames(n), gt, realtime=rt, clock=lambda: clock[0])
    assert list(np.flatnonzero(run.held)) == [1, 2, 6]
    assert tracker.updates == [3, 4, 5, 7, 8, 9]
    assert tuple(run.boxes[1]) == GT_BOX and tuple(run.boxes[6]) == shifted
    assert run.times[0] == pytest.approx(0.12) and run.times[1] == 0.0
    assert run.failures == 0
    # grace 1 forgives the slow init: frame 1 runs; frame 5's overrun still holds frame 6
    clock[0] = 0.0
    tracker = ScriptedTracker({5: shifted}, costs, clock)
    run = run_supervised(
        tracker, frames(n), gt, realtime=RealtimeSettings(20, 1), clock=lambda: clock[0]
    )
    assert list(np.flatnonzero(run.held)) == [6]


def test_realtime_held_box_can_fail():
    n = 12
    gt = np.tile(GT_BOX, (n, 1))
    gt[2:] = FAR  # the target jumps at frame 2, while the tracker is still busy
    clock = [0.0]
    tracker = ScriptedTracker({k: FAR for k in range(3, n)}, {0: 0.2}, clock)
    run = run_supervised(
        tracker, frames(n), gt, realtime=RealtimeSettings(20, 0), clock=lambda: clock[0]
    )
    assert run.held[1] and run.held[2]
    assert run.states[2] == FAILURE  # the held init box no longer overlaps
    assert tracker.inits == [0, 7]


# --- trajectory files ------------------------------------------------------------------


def test_trajectory_round_trip(tmp_path):
    n = 30
    gt = np.tile(GT_BOX, (n, 1))
    run = run_supervised(ScriptedTracker({10: HALF, 12: FAR}), frames(n), gt)
    path = tmp_path / "seq" / "seq_001.txt"
    write_run(path, run)
    lines = path.read_text().splitlines()
    assert lines[0] == "1" and lines[12] == "2" and lines[13] == "0" and lines[17] == "1"
    assert lines[10] == "15.0000,10.0000,10.0000,10.0000"
    back = read_run(path, gt)
    assert np.array_equal(back.states, run.states)
    tracked = run.states == TRACKED
    assert np.allclose(back.boxes[tracked], run.boxes[tracked])
    assert np.array_equal(back.states == INITIALIZATION, run.states == INITIALIZATION)
    assert sequence_accuracy(back, gt, (200, 200)) == sequence_accuracy(run, gt, (200, 200))
