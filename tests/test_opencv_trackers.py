from __future__ import annotations

import cv2
import numpy as np
import pytest

import fastcf
from fastcf.cli.main import main
from fastcf.errors import InvalidBoxError, TrackerError
from fastcf.metrics import iou as box_iou
from fastcf.trackers import opencv as opencv_module
from fastcf.trackers.opencv import box_problem, featureless


def _moving_square(n: int = 30, gray: bool = False):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    texture = cv2.GaussianBlur(noise, (5, 5), 1.5)  # natural-image-like, not i.i.d. noise
    frames, boxes = [], []
    for t in range(n):
        img = np.full((120, 160, 3), 90, np.uint8)
        x, y = 30 + 2 * t, 40 + t
        img[y : y + 40, x : x + 40] = texture
        frames.append(img[:, :, 1].copy() if gray else img)
        boxes.append((x, y, 40, 40))
    return frames, np.array(boxes, float)


@pytest.mark.parametrize("name", ["opencv-csrt", "opencv-kcf", "opencv-mosse"])
@pytest.mark.parametrize("gray", [False, True])
def test_opencv_trackers_follow_a_moving_square(name, gray):
    frames, gt = _moving_square(gray=gray)
    tracker = fastcf.create(name)
    tracker.init(frames[0], gt[0])
    out = [gt[0]]
    for f in frames[1:]:
        ok, box, score = tracker.update(f)
        out.append(box)
    iou = box_iou(np.array(out), gt)
    assert iou.mean() > 0.6, (name, iou)


# --- box checks and error translation (issue 12: replayed bad inputs) --------------------

ADAPTERS = ["opencv-csrt", "opencv-kcf", "opencv-mosse"]


def _scene(h: int = 360, w: int = 640) -> np.ndarray:
    rng = np.random.default_rng(3)
    return cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (7, 7), 2)


def _assert_sane(result, size=(640, 360)):
    """A result the adapters may return: finite, and if ok, a real box centred inside."""
    assert all(np.isfinite(result.box)) and result.box[2] > 0 and result.box[3] > 0
    if result.ok:
        assert box_problem(result.box, size) is None, result
        assert 0.0 <= result.score <= 1.0


@pytest.mark.parametrize("name", ADAPTERS)
@pytest.mark.parametrize(
    "box, message",
    [
        ((100, 100, 1, 1), "1x1 px after rounding"),
        ((100, 100, 1.4, 1.4), "1x1 px after rounding"),
        ((639.5, 100, 5, 5), "lie inside the 640x360 image"),  # rounds to x=640: outside
        ((-4.6, 100, 5, 5), "lie inside the 640x360 image"),  # 0 px inside after rounding
        ((700, 100, 20, 20), "entirely outside"),
        ((-50, -50, 20, 20), "entirely outside"),
    ],
)
def test_adapters_reject_tiny_and_outside_boxes_by_name(name, box, message):
    tracker = fastcf.create(name)
    with pytest.raises(InvalidBoxError, match=message) as info:
        tracker.init(_scene(), box)
    assert "init box" in str(info.value)


@pytest.mark.parametrize("name", ADAPTERS)
def test_thin_box_is_an_error_naming_box_and_frame_or_tracked_sanely(name):
    frame = _scene()
    tracker = fastcf.create(name)
    if name == "opencv-csrt":  # OpenCV's CSRT asserts on this box: translated, not raw
        with pytest.raises(InvalidBoxError) as info:
            tracker.init(frame, (50, 100, 500, 10))
        text = str(info.value)
        assert "(50, 100, 500, 10)" in text and "frame 0" in text and "50:1" in text
        assert "\n" not in text
        return
    tracker.init(frame, (50, 100, 500, 10))
    for _ in range(5):
        _assert_sane(tracker.update(frame))


@pytest.mark.parametrize("name", ADAPTERS)
@pytest.mark.parametrize("box", [(630, 350, 20, 20), (-15, -15, 20, 20), (620, 100, 40, 40)])
def test_boxes_partly_outside_track_sanely(name, box):
    """Targets at the border are legal; what comes back is never an impossible box."""
    frame = _scene()
    tracker = fastcf.create(name)
    tracker.init(frame, box)
    for f in [frame] * 3 + [np.zeros_like(frame)] * 3:
        _assert_sane(tracker.update(f))


@pytest.mark.parametrize("name", ADAPTERS)
@pytest.mark.parametrize("init_black", [False, True])
def test_black_frames_give_ok_false_and_bounded_boxes(name, init_black):
    """opencv-mosse started on a black frame used to report ok=True, score=1.0 with a box
    1000 px outside the image; CSRT and KCF drifted over black frames with ok=True."""
    frame = _scene()
    black = np.zeros_like(frame)
    tracker = fastcf.create(name)
    tracker.init(black if init_black else frame, (300, 150, 40, 40))
    results = [tracker.update(black) for _ in range(40)]
    assert not any(r.ok for r in results)
    assert all(r.score == 0.0 for r in results)
    for r in results:
        _assert_sane(r)
        assert box_problem(r.box, (640, 360)) is None  # the last accepted box, in the image


def test_update_error_becomes_tracker_error_naming_frame_and_box(monkeypatch):
    class Broken:
        def init(self, frame, rect):
            return None

        def update(self, frame):
            raise cv2.error("OpenCV(5.0.0) x.cpp:1: error: (-215:Assertion failed) boom")

    monkeypatch.setattr(opencv_module, "_make", lambda kind: Broken())
    tracker = fastcf.create("opencv-csrt")
    frame = _scene()
    tracker.init(frame, (10, 20, 30, 40))
    with pytest.raises(TrackerError) as info:
        tracker.update(frame)
    text = str(info.value)
    assert "frame 1" in text and "(10, 20, 30, 40)" in text and "boom" in text
    assert "x.cpp" not in text


def test_box_problem_and_featureless():
    size = (640, 360)
    assert box_problem((10, 10, 20, 20), size) is None
    assert box_problem((-5, -5, 20, 20), size) is None  # partly outside, centre inside
    assert "centre (-5, -5) outside" in box_problem((-15, -15, 20, 20), size)
    assert "outside" in box_problem((-900, -1050, 40, 40), size)
    assert "outside" in box_problem((630, 100, 40, 40), size)  # centre x = 650
    assert "degenerate" in box_problem((10, 10, 0.5, 20), size)
    assert "not finite" in box_problem((np.nan, 10, 20, 20), size)
    frame = _scene()
    assert not featureless(frame, (300, 150, 40, 40))
    assert featureless(np.zeros_like(frame), (300, 150, 40, 40))
    flat = np.full_like(frame, 90)
    flat[0:10, 0:10] = 255  # texture far from the box does not count
    assert featureless(flat, (300, 150, 40, 40))
    assert featureless(frame, (-900, -1050, 40, 40))  # nothing of it in the image
    assert not featureless(frame[:, :, 0].copy(), (300, 150, 40, 40))  # gray frames


def test_cli_prints_one_line_and_exits_2_on_a_box_opencv_refuses(tmp_path, capsys):
    folder = tmp_path / "img"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i + 1:04d}.jpg"), _scene())
    for tracker, box in (("opencv-csrt", "50,100,500,10"), ("opencv-mosse", "100,100,1,1")):
        rc = main(
            ["track", str(folder), "--tracker", tracker, "--box", box, "--quiet"]
            + ["--out", str(tmp_path / "out")]
        )
        err = capsys.readouterr().err
        assert rc == 2, err
        lines = [line for line in err.splitlines() if "error" in line]
        assert len(lines) == 1 and lines[0].startswith("fastcf track: error: ")
        assert "Traceback" not in err
