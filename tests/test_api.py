from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

import fastcf
from fastcf.api import TrackResult, check_box, check_frame
from fastcf.errors import ConfigError, FastCFError, FrameError, InvalidBoxError
from fastcf.registry import apply_overrides
from fastcf.trackers.base import BaseTracker


@pytest.mark.parametrize(
    "box, message",
    [
        ((1, 2, 0, 5), "must be > 0"),
        ((1, 2, 5, -1), "must be > 0"),
        ((1, math.nan, 5, 5), "non-finite"),
        ((1, 2, 3), "expected 4 numbers"),
        ("abcd", "expected 4 numbers"),
        ((200, 10, 5, 5), "entirely outside"),
        ((-10, 10, 5, 5), "entirely outside"),
    ],
)
def test_check_box_rejects(box, message):
    with pytest.raises(InvalidBoxError, match=message):
        check_box(box, image_size=(100, 80))


def test_check_box_accepts_partly_outside():
    assert check_box((-3, -4, 10, 10), image_size=(100, 80)) == (-3.0, -4.0, 10.0, 10.0)


def test_check_frame():
    with pytest.raises(FrameError, match="dtype uint8"):
        check_frame(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(FrameError, match="shape"):
        check_frame(np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(FrameError, match="numpy array"):
        check_frame([[0]])
    assert check_frame(np.zeros((10, 12, 1), np.uint8)).shape == (10, 12)


def test_track_result_unpacks():
    ok, box, score = TrackResult(True, (1.0, 2.0, 3.0, 4.0), 0.5)
    assert ok and box == (1.0, 2.0, 3.0, 4.0) and score == 0.5


def test_registry_lists_and_rejects_unknown():
    names = fastcf.available()
    assert {"opencv-csrt", "opencv-kcf", "opencv-mosse"} <= set(names)
    with pytest.raises(ConfigError, match="unknown tracker 'nope'.*opencv-csrt"):
        fastcf.create("nope")
    with pytest.raises(ConfigError, match="no field 'bogus'"):
        fastcf.create("opencv-csrt", bogus=1)
    with pytest.raises(ConfigError, match="must be one of"):
        fastcf.create("opencv-csrt", kind="xyz")


def test_overrides_coerce_strings():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Cfg:
        a: int = 1
        b: float = 0.5
        c: bool = False
        d: tuple[float, ...] = (1.0, 2.0)
        e: str = "x"

    cfg = apply_overrides(Cfg(), {"a": "3", "b": "0.25", "c": "yes", "d": "3,4,5", "e": "y"})
    assert cfg == Cfg(3, 0.25, True, (3.0, 4.0, 5.0), "y")
    with pytest.raises(ConfigError, match="cannot convert 'x' to int"):
        apply_overrides(Cfg(), {"a": "x"})


@dataclass(frozen=True)
class _OptCfg:  # module level: get_type_hints must resolve the annotations
    cap: float | None = None
    steps: int | None = 4
    path: str | None = None


def test_overrides_of_optional_fields():
    cfg = apply_overrides(_OptCfg(), {"cap": "150", "steps": "none", "path": "a.mat"})
    assert cfg == _OptCfg(150.0, None, "a.mat")
    assert apply_overrides(cfg, {"cap": "None"}).cap is None
    with pytest.raises(ConfigError, match="cannot convert 'fast' to float"):
        apply_overrides(_OptCfg(), {"cap": "fast"})


class _Diverging(BaseTracker):
    def _init(self, frame, box):
        self.n = 0

    def _update(self, frame):
        self.n += 1
        return TrackResult(True, (math.nan, 0.0, 1.0, 1.0), 1.0)


def test_base_tracker_guards():
    t = _Diverging(None)
    frame = np.zeros((40, 50, 3), np.uint8)
    with pytest.raises(FastCFError, match="before init"):
        t.update(frame)
    t.init(frame, (5, 5, 10, 10))
    r = t.update(frame)
    assert r.ok is False and r.box == (5.0, 5.0, 10.0, 10.0) and r.score == 0.0
    with pytest.raises(FrameError, match="frame 2: size changed from 50x40 to 60x40"):
        t.update(np.zeros((40, 60, 3), np.uint8))


def test_alias_runs_a_preset_with_other_settings():
    import pickle

    from fastcf.registry import alias, entry, get_config

    alias("csrt-alias-test", "opencv-kcf")
    assert get_config("csrt-alias-test").kind == "kcf"
    alias("mosse-alias-test", "opencv-csrt", kind="mosse")
    assert get_config("mosse-alias-test").kind == "mosse"
    restored = pickle.loads(pickle.dumps(entry("mosse-alias-test")))
    assert restored.preset().kind == "mosse"  # works in worker processes
    with pytest.raises(ConfigError, match="no field 'nope'"):
        alias("bad-alias-test", "opencv-csrt", nope=1)
