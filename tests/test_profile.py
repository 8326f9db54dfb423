"""Stage profiler: exclusive-time arithmetic, repeats, spike statistics, and that attaching
to a tracker changes neither its results nor anything after detaching."""

from __future__ import annotations

import numpy as np
import pytest

import fastcf
from fastcf.demo import demo_clip
from fastcf.evaluation.profile import (
    STAGES,
    StageTimer,
    attach,
    detach,
    min_over_runs,
    profiled,
    spike_stats,
)
from fastcf.trackers.eco import tracker as eco_module


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_nested_sections_get_exclusive_time() -> None:
    clock = FakeClock()
    timer = StageTimer(clock=clock)
    with timer.section("other"):
        clock.now += 1.0
        with timer.section("detect"):
            clock.now += 2.0
            with timer.section("features"):
                clock.now += 4.0
            with timer.section("features"):
                clock.now += 8.0
            clock.now += 16.0
        clock.now += 32.0
    assert timer.frames == [{"features": 12.0, "detect": 18.0, "other": 33.0}]
    assert timer.totals == [63.0]
    assert sum(timer.frames[0].values()) == timer.totals[0]
    with timer.section("update"):  # a second frame starts clean
        clock.now += 0.5
    assert timer.frames[1] == {"update": 0.5}
    assert timer.stage_ms("features") == [12000.0, 0.0]
    med = timer.medians_ms()
    assert med["total"] == pytest.approx((63.0 + 0.5) / 2 * 1e3)
    assert set(med) == {*STAGES, "total"}


def test_section_closes_on_exception() -> None:
    clock = FakeClock()
    timer = StageTimer(clock=clock)
    with pytest.raises(RuntimeError), timer.section("other"):
        with timer.section("detect"):
            clock.now += 1.0
            raise RuntimeError("boom")
    assert timer.frames == [{"detect": 1.0, "other": 0.0}]
    assert timer._stack == []


def test_min_over_runs_is_framewise() -> None:
    a, b = StageTimer(), StageTimer()
    a.frames = [{"fft": 1.0, "detect": 5.0}, {"fft": 2.0}]
    a.totals = [6.0, 2.0]
    b.frames = [{"fft": 3.0, "detect": 1.0}, {"fft": 1.5, "scale": 1.0}]
    b.totals = [4.0, 2.5]
    m = min_over_runs([a, b])
    assert m.frames == [{"fft": 1.0, "detect": 1.0}, {"fft": 1.5, "scale": 0.0}]
    assert m.totals == [4.0, 2.0]
    b.frames.pop()
    with pytest.raises(ValueError, match="differ in length"):
        min_over_runs([a, b])


def test_spike_stats_detects_periodic_spikes() -> None:
    flat = [10.0] * 60
    s = spike_stats(flat, 6)
    assert s["p99_over_median"] == 1.0 and s["max_over_median"] == 1.0
    assert s["spikes"] == 0 and s["periodic_share"] == 0.0 and s["phase_ratio"] == 1.0
    periodic = [50.0 if i % 6 == 3 else 10.0 for i in range(60)]
    s = spike_stats(periodic, 6)
    assert s["spikes"] == 10 and s["periodic_share"] == 1.0
    assert s["max_over_median"] == 5.0 and s["phase_ratio"] == 5.0
    assert s["mean_ms"] == pytest.approx(10.0 + 40.0 / 6)
    one_off = [10.0] * 60
    one_off[7] = 40.0
    one_off[20] = 35.0
    s = spike_stats(one_off, 6)
    assert s["spikes"] == 2 and s["periodic_share"] == 0.5 and s["phase_ratio"] == 1.0
    with pytest.raises(ValueError, match="period"):
        spike_stats(flat, 0)
    with pytest.raises(ValueError, match="empty"):
        spike_stats([], 6)


def _track(name: str, frames: list[np.ndarray], box: tuple[float, ...], profile: bool) -> tuple:
    tracker = fastcf.create(name)
    tracker.init(frames[0], box)
    timer = attach(tracker) if profile else None
    out = [tuple(tracker.update(f)) for f in frames[1:]]
    if timer is not None:
        detach(tracker)
    return out, timer, tracker


@pytest.mark.parametrize("name", ["eco-hc", "strcf"])
def test_attach_changes_nothing_and_detach_restores(name: str) -> None:
    frames, boxes = demo_clip(num_frames=8, size=(320, 180))
    box = tuple(float(v) for v in boxes[0])
    plain, _, _ = _track(name, frames, box, profile=False)
    timed, timer, tracker = _track(name, frames, box, profile=True)
    assert timed == plain  # bit-identical boxes and scores
    assert timer is not None and len(timer.frames) == len(frames) - 1
    for f, total in zip(timer.frames, timer.totals, strict=True):
        assert set(f) <= set(STAGES)
        assert sum(f.values()) == pytest.approx(total, rel=1e-9, abs=1e-9)
        assert f["features"] > 0 and f["detect"] > 0 and f["update"] > 0
        if name == "eco-hc":
            assert f["fft"] > 0 and f["scale"] > 0
    # detached: no instance-level wrappers left, module sampler restored
    assert "update" not in vars(tracker) and "_update" not in vars(tracker)
    assert "extract" not in vars(tracker.features)
    assert getattr(eco_module.sample_patch, "__wrapped_stage__", None) is None
    tracker.update(frames[-1])  # still works


def test_attach_twice_and_unknown_tracker_raise() -> None:
    frames, boxes = demo_clip(num_frames=2, size=(320, 180))
    tracker = fastcf.create("eco-hc")
    tracker.init(frames[0], tuple(float(v) for v in boxes[0]))
    with profiled(tracker) as timer:
        with pytest.raises(RuntimeError, match="already attached"):
            attach(tracker)
        tracker.update(frames[1])
    assert len(timer.frames) == 1
    with pytest.raises(TypeError, match="no stage map"):
        attach(object())
