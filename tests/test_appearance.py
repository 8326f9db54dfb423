"""The colour check of the reported score: the colour model against hand-computed values,
the combination, and what it changes (and does not change) in a tracker."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastcf
from fastcf.trackers.appearance import (
    COLOUR_BINS,
    FEATURE_FLOOR,
    MAX_PIXELS,
    ColourModel,
    appearance_logit,
)
from fastcf.trackers.confidence import Confidence
from synthetic import moving_object_clip

RED, GREEN, BLUE = (0, 0, 200), (0, 200, 0), (200, 0, 0)  # BGR


def bin_of(bgr: tuple[int, int, int]) -> int:
    q = [v // (256 // COLOUR_BINS) for v in bgr]
    return (q[0] * COLOUR_BINS + q[1]) * COLOUR_BINS + q[2]


def scene() -> np.ndarray:
    """A 100 x 100 blue image; the object (x 40..59, y 40..59) has a red left half and a
    green right half; a green bar (x 30..39, y 40..59) lies inside the surround."""
    img = np.zeros((100, 100, 3), np.uint8)
    img[:] = BLUE
    img[40:60, 40:50] = RED
    img[40:60, 50:60] = GREEN
    img[40:60, 30:40] = GREEN
    return img


def test_colour_model_by_hand() -> None:
    img = scene()
    model = ColourModel(img, (40, 40, 20, 20))
    assert model.colour and model.n_bins == COLOUR_BINS**3
    assert model.hist[bin_of(RED)] == pytest.approx(0.5)
    assert model.hist[bin_of(GREEN)] == pytest.approx(0.5)
    # the surround: the 40 x 40 box around the object, minus the object: 1200 pixels, 200
    # of them green (the bar), the rest blue
    assert model.object_likelihood[bin_of(RED)] == pytest.approx(1.0)
    assert model.object_likelihood[bin_of(GREEN)] == pytest.approx(0.5 / (0.5 + 200 / 1200))
    assert model.object_likelihood[bin_of(BLUE)] == pytest.approx(0.0)
    assert model.object_likelihood[0] == 0.5  # a colour seen nowhere: undecided
    first = (1.0 + 0.5 / (0.5 + 200 / 1200)) / 2
    assert model.first_likelihood == pytest.approx(first)
    # the first box itself: the same distribution, as object-like as itself
    assert model.features(img, (40, 40, 20, 20)) == pytest.approx((1.0, 1.0))
    # the green bar: half the object's colours, Bhattacharyya sqrt(1 * 0.5)
    sim, lik = model.features(img, (30, 40, 10, 20))
    assert sim == pytest.approx(math.sqrt(0.5))
    assert lik == pytest.approx(model.object_likelihood[bin_of(GREEN)] / first)
    # background only, and a box with no pixel in the image
    assert model.features(img, (0, 0, 15, 15)) == pytest.approx((0.0, 0.0))
    assert model.features(img, (200, 200, 10, 10)) == (0.0, 0.0)
    assert model.features(img, (10, 10, math.nan, 5)) == (0.0, 0.0)
    with pytest.raises(ValueError, match="no pixel"):
        ColourModel(img, (150, 150, 10, 10))


def test_grey_frames_use_grey_levels() -> None:
    grey = np.full((80, 80), 30, np.uint8)
    grey[20:40, 20:40] = 220
    three = np.repeat(grey[..., None], 3, axis=2)  # a grey video read as BGR
    for img in (grey, three):
        model = ColourModel(img, (20, 20, 20, 20))
        assert not model.colour and model.n_bins == 32
        assert model.features(img, (20, 20, 20, 20)) == pytest.approx((1.0, 1.0))
        assert model.features(img, (50, 50, 20, 20)) == pytest.approx((0.0, 0.0))


def test_large_boxes_are_read_on_a_subsample() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)
    img[100:500, 100:700] = (img[100:500, 100:700] // 2) + 128  # brighter object
    model = ColourModel(img, (100, 100, 600, 400))
    assert 600 * 400 > 4 * MAX_PIXELS
    sim, lik = model.features(img, (100, 100, 600, 400))
    # the box read on every 4th pixel has the colours of the whole box
    assert sim > 0.97 and lik == pytest.approx(1.0, abs=0.03)


def test_appearance_logit_by_hand() -> None:
    w = (1.5, 2.0, 3.0, -0.5)
    z = appearance_logit(0.8, 0.5, 2.0, w)
    assert z == pytest.approx(1.5 * math.log(4.0) + 2.0 * math.log(0.5) + 3.0 * math.log(2.0) - 0.5)
    # features at or below the floor count as the floor; the score is kept off 0 and 1
    low = appearance_logit(0.0, 0.0, -1.0, w)
    floor = math.log(FEATURE_FLOOR)
    assert low == pytest.approx(1.5 * math.log(1e-4 / (1 - 1e-4)) + 5.0 * floor - 0.5)


def test_report_combines_or_passes_the_response_score_through() -> None:
    img = scene()
    box = (40.0, 40.0, 20.0, 20.0)
    on = Confidence(fastcf.get_config("feco"))
    on.start(img, box)
    w = on.settings.appearance_weights
    expected = 1 / (1 + math.exp(-appearance_logit(0.6, 1.0, 1.0, w)))
    assert on.report(0.6, img, box) == pytest.approx(expected)
    assert on.last_appearance == pytest.approx((1.0, 1.0))
    # the same response score on the background: far lower
    assert on.report(0.6, img, (0.0, 0.0, 15.0, 15.0)) < 0.05
    assert on.report(0.0, img, box) == 0.0  # no finite response, no score
    off = Confidence(fastcf.get_config("feco", appearance_check=False))
    off.start(img, box)
    assert off.report(0.6, img, box) == 0.6
    assert all(math.isnan(v) for v in off.last_appearance)


@pytest.mark.parametrize("name", ["eco-hc", "strcf"])
@pytest.mark.parametrize("box", [(10, 10, 1, 1), (159.5, 10, 1, 5), (0, 0, 1.5, 1.5)])
def test_tiny_and_border_boxes_get_a_colour_model(name: str, box: tuple) -> None:
    """The colour model needs one pixel: a 1 x 1 box, or one half outside the image, is
    tracked and scored like any other (no error from the check)."""
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    tracker = fastcf.create(name)
    tracker.init(frame, box)
    assert tracker.confidence.colour is not None
    res = tracker.update(frame)
    assert 0.0 <= res.score <= 1.0 and all(math.isfinite(v) for v in res.box)
    # a model of no pixel is refused by the class; the tracker then reports the response
    with pytest.raises(ValueError, match="no pixel"):
        ColourModel(frame, (170, 10, 5, 5))
    conf = Confidence(fastcf.get_config(name))
    conf.start(frame, (170.0, 10.0, 5.0, 5.0))
    assert conf.colour is None and conf.report(0.4, frame, (0.0, 0.0, 5.0, 5.0)) == 0.4


@pytest.mark.parametrize("name", ["eco-hc", "strcf"])
def test_the_check_changes_what_is_reported_not_the_boxes(name: str) -> None:
    """Learning and the lost state follow the response score: the boxes with the check on
    and off are identical, and with it off the reported score is the response score."""
    frames, boxes = moving_object_clip(n=25, scale_end=1.1)
    runs = {}
    for check in (True, False):
        tracker = fastcf.create(name, appearance_check=check)
        tracker.init(frames[0], tuple(boxes[0]))
        runs[check] = [
            (tracker.update(f), tracker.confidence.last_response_score) for f in frames[1:]
        ]
    for (on, response_on), (off, response_off) in zip(runs[True], runs[False], strict=True):
        assert on.box == off.box
        assert response_on == response_off == off.score
        assert 0.0 <= on.score <= 1.0
    assert np.mean([r.ok for r, _ in runs[True]]) > 0.9


def test_a_confident_response_on_background_is_reported_not_ok() -> None:
    """The response score is forced to 0.8 on every frame (a filter that responds to what
    it sits on as sharply as to the target, which the response statistics cannot catch).
    From frame 20 the object is covered by a piece of the background that lay beside it in
    the first frame: the colour check alone brings the reported score from above 0.9 to
    about a quarter, and ok (at the default ok_threshold 0.3) to False."""
    frames, boxes = moving_object_clip(n=40, scale_end=1.0)
    x0, y0, w0, h0 = (int(v) for v in boxes[0])
    cover = frames[0][y0 : y0 + h0, x0 - w0 : x0].copy()  # the surround, left of the object
    tracker = fastcf.create("eco-hc", ok_threshold=0.3)
    tracker.init(frames[0], tuple(boxes[0]))
    tracker.confidence.score = lambda stats, *memory: 0.8  # type: ignore[method-assign]
    oks, reported, similarity = [], [], []
    for i, frame in enumerate(frames[1:], start=1):
        if i >= 20:
            x, y, w, h = (int(v) for v in boxes[i])
            frame = frame.copy()
            frame[y : y + h, x : x + w] = cover[:h, :w]
        res = tracker.update(frame)
        assert tracker.confidence.last_response_score == 0.8
        oks.append(res.ok)
        reported.append(res.score)
        similarity.append(tracker.confidence.last_appearance[0])
    assert all(oks[:18]) and min(reported[:18]) > 0.9
    assert max(reported[20:]) < 0.35 and np.mean(oks[20:]) <= 0.1
    assert min(similarity[:18]) > 0.9 and max(similarity[20:]) < 0.7
