"""The thread policy: trackers compute on ``config.threads`` threads inside their calls and
restore the caller's settings (BLAS/OpenMP via threadpoolctl, torch, OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from threadpoolctl import ThreadpoolController

import fastcf
from fastcf.errors import ConfigError
from fastcf.threads import ThreadScope, current_threads
from synthetic import moving_object_clip


def _blas_threads() -> list[int]:
    return [lib.num_threads for lib in ThreadpoolController().lib_controllers]


@pytest.fixture
def caller_threads():
    """Put the process at 2 threads everywhere (a caller's own setting), restore after."""
    pools = ThreadpoolController()
    limiter = pools.limit(limits=2)
    old_torch, old_cv = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    yield
    torch.set_num_threads(old_torch)
    cv2.setNumThreads(old_cv)
    limiter.restore_original_limits()


def test_scope_limits_inside_and_restores_after(caller_threads) -> None:
    assert torch.get_num_threads() == 2 and cv2.getNumThreads() == 2
    assert set(_blas_threads()) == {2}
    scope = ThreadScope(1)
    with scope:
        assert torch.get_num_threads() == 1
        assert cv2.getNumThreads() == 1
        assert set(_blas_threads()) == {1}
        with scope:  # re-entrant: the inner exit restores nothing
            pass
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2 and cv2.getNumThreads() == 2
    assert set(_blas_threads()) == {2}
    info = current_threads()
    assert info["torch"] == 2 and info["opencv"] == 2
    assert {p["threads"] for p in info["blas_pools"]} == {2}


def test_scope_restores_after_an_exception(caller_threads) -> None:
    with pytest.raises(RuntimeError), ThreadScope(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2 and set(_blas_threads()) == {2}


@pytest.mark.parametrize("name", ["feco", "eco-hc", "strcf", "opencv-csrt"])
def test_tracker_runs_on_its_threads_and_restores_the_callers(name, caller_threads) -> None:
    frames, boxes = moving_object_clip(n=4)
    tracker = fastcf.create(name)
    seen: list[tuple[int, int]] = []
    inner = tracker._update  # type: ignore[attr-defined]

    def spy(frame):
        seen.append((torch.get_num_threads(), cv2.getNumThreads()))
        return inner(frame)

    tracker._update = spy  # type: ignore[attr-defined]
    tracker.init(frames[0], boxes[0])
    for f in frames[1:]:
        tracker.update(f)
        assert torch.get_num_threads() == 2 and cv2.getNumThreads() == 2
        assert set(_blas_threads()) == {2}
    assert seen == [(1, 1)] * (len(frames) - 1)


def test_same_boxes_with_one_and_two_threads() -> None:
    frames, boxes = moving_object_clip(n=12)
    runs = []
    for threads in (1, 2):
        tracker = fastcf.create("feco", threads=threads)
        tracker.init(frames[0], boxes[0])
        runs.append(np.array([tracker.update(f).box for f in frames[1:]]))
    np.testing.assert_allclose(runs[0], runs[1], atol=1e-3)


def test_threads_field_is_validated() -> None:
    for bad in (0, -1, 1.5, "two"):
        with pytest.raises(ConfigError, match="threads"):
            fastcf.get_config("feco", threads=bad)
    with pytest.raises(ConfigError, match="threads"):
        fastcf.create("opencv-csrt", threads=0)
