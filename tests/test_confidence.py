"""Found / lost: response statistics against hand-computed values, the score's state, the
re-detection grid, and the lost-target behaviour of fastcf's trackers on synthetic clips."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastcf
from fastcf.cf.confidence import ResponseStats, response_stats
from fastcf.datasets.synthetic import blackout, occlude, reappearing_clip
from fastcf.errors import ConfigError
from fastcf.metrics import iou
from fastcf.trackers.confidence import Confidence, SearchGrid
from synthetic import moving_object_clip


def test_response_stats_by_hand() -> None:
    r = np.zeros((7, 7))
    r[0, 0] = 4.0  # peak at the origin (fft order)
    r[3, 3] = 1.0  # a sidelobe far away
    st = response_stats(r, exclude=1)
    assert st.peak == 4.0
    # APCE = (max - min)^2 / mean((r - min)^2) = 16 / ((16 + 1) / 49)
    assert st.apce == pytest.approx(16 / (17 / 49))
    # sidelobe: every cell but the 3x3 around the (wrapped) peak: 40 cells, one of them 1
    side = np.zeros(40)
    side[0] = 1.0
    assert st.psr == pytest.approx((4 - side.mean()) / side.std())
    assert st.sidelobe == pytest.approx(0.25)
    # wrap-around: a peak in the corner excludes cells on the far side too
    assert response_stats(np.roll(r, (-1, -1), axis=(0, 1)), exclude=1).sidelobe == 0.25
    # a flat or broken map carries no confidence
    assert response_stats(np.full((5, 5), 2.0)).apce == 0.0
    assert response_stats(np.full((5, 5), np.nan)) == ResponseStats(0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="2-D"):
        response_stats(np.zeros(5))


def test_confidence_references_follow_found_frames_only() -> None:
    cfg = fastcf.get_config("feco")
    c = Confidence(cfg)
    strong = ResponseStats(peak=0.8, apce=40.0, psr=12.0, sidelobe=0.2)
    weak = ResponseStats(peak=0.1, apce=5.0, psr=3.0, sidelobe=0.9)
    assert c.score(strong) > cfg.ok_threshold  # the first frame is its own reference
    c.found(strong)
    assert c.ref_peak == 0.8 and c.ref_apce == 40.0
    assert c.score(weak) < cfg.ok_threshold < c.score(strong)
    c.found(ResponseStats(1.0, 50.0, 12.0, 0.2))
    a = cfg.confidence_memory
    assert c.ref_peak == pytest.approx((1 - a) * 0.8 + a * 1.0)
    assert 0.0 <= c.score(weak) <= 1.0 and c.score(ResponseStats(0, 0, 0, 0)) == 0.0


def test_resume_threshold_sets_the_hysteresis_only() -> None:
    cfg = fastcf.get_config("feco", ok_threshold=0.22, update_threshold=0.1)
    c = Confidence(cfg)
    assert cfg.resume_above == 0.22  # None: resume at ok_threshold
    assert c.track_threshold == 0.1
    c.lost = True
    assert c.track_threshold == 0.22
    strict = Confidence(fastcf.get_config("feco", ok_threshold=0.22, resume_threshold=0.3))
    strict.lost = True
    assert strict.track_threshold == 0.3 and strict.jump_threshold == 0.5
    strict.lost = False
    assert strict.track_threshold == 0.1  # tracked frames are unchanged
    # never below ok_threshold: a resumed frame is always ok
    low = fastcf.get_config("feco", ok_threshold=0.3, resume_threshold=0.1)
    assert low.resume_above == 0.3
    assert fastcf.get_config("eco-hc").resume_above == 0.3
    with pytest.raises(ConfigError, match="resume_threshold"):
        fastcf.get_config("strcf", resume_threshold=2.0)


def test_memory_feature_adds_its_weighted_log_to_the_logit() -> None:
    cfg = fastcf.get_config("eco-hc", confidence_memory_weight=2.0)
    c = Confidence(cfg)
    st = ResponseStats(peak=0.5, apce=20.0, psr=8.0, sidelobe=0.3)
    c.found(st)

    def logit(p: float) -> float:
        return math.log(p / (1 - p))

    base = c.score(st)  # no memory (NaN) contributes nothing
    assert c.score(st, math.nan) == base
    assert logit(c.score(st, 1.0)) == pytest.approx(logit(base))  # log 1 = 0
    assert logit(c.score(st, 0.5)) == pytest.approx(logit(base) + 2.0 * math.log(0.5))
    # at or below the floor (also negative ratios): log(0.01)
    floor = logit(base) + 2.0 * math.log(0.01)
    assert logit(c.score(st, -3.0)) == pytest.approx(floor)
    assert logit(c.score(st, 0.001)) == pytest.approx(floor)
    off = Confidence(fastcf.get_config("eco-hc", confidence_memory_weight=0.0))
    off.found(st)
    assert off.score(st, 0.001) == off.score(st)


def test_eco_memory_is_high_on_the_target_and_low_on_another_object() -> None:
    """The first frame's filter at the response peak, over its first-frame value: high while
    the tracked object is the first one, low once the object is swapped for another."""
    from synthetic import texture

    frames, boxes = moving_object_clip(n=30, scale_end=1.0)
    tracker = fastcf.create("eco-hc")
    tracker.init(frames[0], tuple(boxes[0]))
    tracker.update(frames[1])
    assert math.isnan(tracker.last_memory)  # not computed: the score does not use it
    tracker = fastcf.create("eco-hc")
    tracker.record_memory = True
    tracker.init(frames[0], tuple(boxes[0]))
    memory = []
    other = texture(36, 28, 7)
    for i, frame in enumerate(frames[1:], start=1):
        if i >= 20:  # the same place and size, another object
            x, y, w, h = (int(v) for v in boxes[i])
            frame = frame.copy()
            frame[y : y + h, x : x + w] = other[:h, :w]
        tracker.update(frame)
        memory.append(tracker.last_memory)
    assert math.isfinite(tracker.memory_ref) and tracker.memory_ref > 0
    on_target, swapped = np.array(memory[:18]), np.array(memory[22:])
    assert np.median(on_target) > 0.3
    assert np.median(swapped) < 0.5 * np.median(on_target)


def test_search_grid_covers_the_frame_nearest_first() -> None:
    g = SearchGrid((360, 640), window=200.0, start=np.array([300.0, 600.0]))
    rows = sorted({float(r) for r, _ in g.centres})
    cols = sorted({float(c) for _, c in g.centres})
    assert rows[0] == pytest.approx(50) and rows[-1] == pytest.approx(309)
    assert cols[0] == pytest.approx(50) and cols[-1] == pytest.approx(589)
    assert max(np.diff(cols)) <= 100 + 1e-9  # half a window apart: every point is covered
    first = next(g.take(1))
    assert np.hypot(first[0] - 300, first[1] - 600) == min(
        np.hypot(r - 300, c - 600) for r, c in g.centres
    )
    seen = [tuple(c) for c in g.take(2 * len(g))]
    assert len(set(seen)) == len(g)  # round robin over every window


def test_confidence_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="ok_threshold"):
        fastcf.get_config("feco", ok_threshold=1.5)
    with pytest.raises(ConfigError, match="follow_threshold"):
        fastcf.get_config("strcf", follow_threshold=2.0)
    # the weight tuples have one weight per feature: a wrong length is refused at once,
    # naming the field (it used to fail inside update() with a bare unpacking error)
    with pytest.raises(ConfigError, match=r"appearance_weights must be a tuple of 4 numbers"):
        fastcf.create("feco", appearance_weights=(1, 2, 3))
    with pytest.raises(ConfigError, match=r"confidence_weights must be a tuple of 3 numbers"):
        fastcf.get_config("eco-hc", confidence_weights=(1, 2))
    # a list, or the tuple as `fastcf trackers` prints it, is read as the tuple
    assert fastcf.get_config("feco", appearance_weights=[1, 0, 0, 0]).appearance_weights == (
        1,
        0,
        0,
        0,
    )
    for text in ("(1, 0, 0, 0)", "[1,0,0,0]", "1,0,0,0"):
        cfg = fastcf.get_config("feco", appearance_weights=text)
        assert cfg.appearance_weights == (1.0, 0.0, 0.0, 0.0)
    with pytest.raises(ConfigError, match="redetect_threshold"):
        fastcf.get_config("eco-hc", redetect_threshold=-0.5)
    with pytest.raises(ConfigError, match="redetect_windows"):
        fastcf.get_config("strcf", redetect_windows=-1)


@pytest.mark.parametrize("name", ["feco", "eco-hc", "strcf"])
@pytest.mark.parametrize("kind", ["black", "noise"])
def test_empty_frames_keep_the_box_and_say_lost(name: str, kind: str) -> None:
    """150 empty frames: ok=False, the box stays in the image with its size; the model is
    not trained on them, so the target is found again when it comes back."""
    seq = reappearing_clip(seed=1, kind=kind, visible=20, empty=150, after=40)
    _, start, stop = seq.meta["edited"]
    tracker = fastcf.create(name)
    frames = list(seq.frames)
    tracker.init(frames[0], seq.init_box)
    results = [tracker.update(f) for f in frames[1:]]
    before = results[start - 2].box
    empty = results[start - 1 : stop - 1]
    assert sum(not r.ok for r in empty) >= 0.9 * len(empty)
    h, w = frames[0].shape[:2]
    for r in empty:
        x, y, bw, bh = r.box
        assert 0 <= x + bw / 2 <= w and 0 <= y + bh / 2 <= h
        assert 0.5 <= (bw * bh) / (before[2] * before[3]) <= 2.0
        assert 0.0 <= r.score <= 1.0
    if kind == "black":  # a black frame's response carries no position: the box stays
        assert all(r.box == empty[0].box for r in empty), [r.box for r in empty[:5]]
    after = results[stop - 1 :]
    gt = seq.ground_truth[stop:]
    overlap = iou(np.array([r.box for r in after]), gt)
    found = [i for i, (o, r) in enumerate(zip(overlap, after, strict=True)) if o > 0.3 and r.ok]
    assert found and found[0] < 30, (name, kind, found[:5])


def test_occlusion_and_blackout_of_a_moving_object_are_flagged() -> None:
    frames, boxes = moving_object_clip(n=60, scale_end=1.0)
    from fastcf.datasets.base import Sequence
    from fastcf.datasets.synthetic import GeneratedFrames

    base = Sequence("clip", GeneratedFrames(60, frames.__getitem__, "clip"), boxes)
    for seq in (blackout(base, 30, 10), occlude(base, 30, 10)):
        tracker = fastcf.create("eco-hc")
        fr = list(seq.frames)
        tracker.init(fr[0], seq.init_box)
        res = [tracker.update(f) for f in fr[1:]]
        visible = [r.ok for i, r in enumerate(res, 1) if not 30 <= i < 40]
        hidden = [r.ok for i, r in enumerate(res, 1) if 31 <= i < 40]
        assert np.mean(visible) > 0.9, seq.name
        assert np.mean(hidden) < 0.5, seq.name
        assert all(math.isfinite(r.score) and 0 <= r.score <= 1 for r in res)


@pytest.mark.parametrize("name", ["eco-hc", "strcf"])
def test_score_bands_found_uncertain_lost_and_hysteresis(name: str) -> None:
    """ok at ok_threshold (0.3); below it down to update_threshold (0.1) the frame is
    still tracked and learned from; below that it is lost (no learning), and once lost
    the usual window resumes only at ok_threshold. (The response score alone: the colour
    check only changes what is reported, tested below.)"""
    frames, boxes = moving_object_clip(n=8, scale_end=1.0)
    tracker = fastcf.create(name, redetect=False, appearance_check=False)
    tracker.init(frames[0], tuple(boxes[0]))
    forced = iter([0.9, 0.2, 0.05, 0.2, 0.35, 0.2])
    tracker.confidence.score = lambda stats, *memory: next(forced)  # type: ignore[method-assign]
    trained: list[int] = []
    real_train = tracker._train  # type: ignore[attr-defined]

    def counting_train(*args, **kwargs):
        trained.append(1)
        return real_train(*args, **kwargs)

    tracker._train = counting_train  # type: ignore[attr-defined]
    oks, learned, lost = [], [], []
    for frame in frames[1:7]:
        n = len(trained)
        res = tracker.update(frame)
        oks.append(res.ok)
        learned.append(len(trained) > n)
        lost.append(tracker.confidence.lost)
    assert oks == [True, False, False, False, True, False]
    assert learned == [True, True, False, False, True, True]
    assert lost == [False, False, True, True, False, False]
    with pytest.raises(ConfigError, match="update_threshold"):
        fastcf.get_config(name, update_threshold=1.5)
    # the flag off (ok_threshold 0): every frame is tracked, whatever update_threshold
    assert fastcf.get_config(name, ok_threshold=0.0).lost_below == 0.0


def test_flag_on_a_real_sequence_with_a_synthetic_blackout(shared_sequences) -> None:
    """A real development sequence (its first 50 frames) with frames 25..34 blacked out:
    the flag and the score separate the visible frames from the black ones."""
    from fastcf.datasets import open_dataset
    from fastcf.datasets.synthetic import head

    seq = open_dataset(f"otb:{shared_sequences}", sequences=["Crossing"])["Crossing"]
    clip = blackout(head(seq, 50), 25, 10)
    tracker = fastcf.create("eco-hc")
    frames = list(clip.frames)
    tracker.init(frames[0], clip.init_box)
    res = [tracker.update(f) for f in frames[1:]]
    gt = clip.ground_truth[1:]
    overlap = iou(np.array([r.box for r in res]), gt)
    hidden = [i for i in range(len(res)) if 25 <= i + 1 < 35]
    found = [i for i in range(len(res)) if i not in hidden and overlap[i] >= 0.5]
    assert len(found) > 30
    assert np.mean([res[i].ok for i in found]) >= 0.9
    assert np.mean([not res[i].ok for i in hidden]) >= 0.9
    # ROC AUC of the score: every found frame scores above every black frame here
    assert min(res[i].score for i in found) > max(res[i].score for i in hidden)
    assert overlap[-1] >= 0.5  # tracking resumed after the blackout
