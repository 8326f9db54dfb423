"""OpenCV's DNN trackers (NanoTrack v2, VitTrack): model-path checks always; tracking on a
synthetic clip when ../shared holds the peer models (skipped otherwise)."""

from __future__ import annotations

import numpy as np
import pytest

import fastcf
from conftest import shared_path
from fastcf.errors import ConfigError, WeightsError
from fastcf.metrics import iou as box_iou
from fastcf.trackers.opencv import box_problem
from fastcf.trackers.opencv_dnn import NanoTrackConfig, VitTrackConfig
from synthetic import moving_object_clip


def _nano_paths() -> dict[str, str]:
    root = shared_path("models", "peers", "nanotrack_v2")
    return {"backbone": str(root / "backbone.onnx"), "neckhead": str(root / "head.onnx")}


def _vit_paths() -> dict[str, str]:
    root = shared_path("models", "peers", "vittrack")
    return {"net": str(root / "object_tracking_vittrack_2023sep.onnx")}


def test_presets_are_registered_and_listable_without_models():
    for name in ("opencv-nanotrack", "opencv-nanotrack-rgb", "opencv-vittrack"):
        assert name in fastcf.available()
        config = fastcf.get_config(name)  # `fastcf trackers NAME` must work without files
        assert config.threads == 1 and config.missing_resources()
    assert fastcf.get_config("opencv-nanotrack-rgb").rgb is True
    assert fastcf.get_config("opencv-nanotrack").rgb is False


@pytest.mark.parametrize(
    "name, fields, expected",
    [
        ("opencv-nanotrack", {}, ["backbone=<.../backbone.onnx> (not set)", "neckhead="]),
        ("opencv-nanotrack-rgb", {}, ["opencv-nanotrack-rgb needs backbone="]),
        ("opencv-vittrack", {}, ["net=<.../object_tracking_vittrack_2023sep.onnx> (not set)"]),
    ],
)
def test_empty_model_paths_fail_with_a_config_error_naming_the_field(name, fields, expected):
    with pytest.raises(ConfigError) as info:
        fastcf.create(name, **fields)
    text = str(info.value)
    assert text.startswith(f"{name} needs ") and "\n" not in text
    for part in expected:
        assert part in text


def test_missing_files_are_named(tmp_path):
    head = tmp_path / "head.onnx"
    head.write_bytes(b"x")
    config = NanoTrackConfig(backbone=str(tmp_path / "nope.onnx"), neckhead=str(head))
    assert config.missing_resources() == [
        f"backbone=<.../backbone.onnx> (no such file: {tmp_path / 'nope.onnx'})"
    ]
    with pytest.raises(ConfigError, match="no such file: .*nope.onnx"):
        fastcf.create("opencv-nanotrack", backbone=str(tmp_path / "nope.onnx"), neckhead=str(head))
    assert VitTrackConfig(net=str(head)).missing_resources() == []


def test_unreadable_model_is_a_weights_error(tmp_path):
    bad = tmp_path / "backbone.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(WeightsError, match="cannot load .*backbone.onnx"):
        fastcf.create("opencv-nanotrack", backbone=str(bad), neckhead=str(bad))
    with pytest.raises(WeightsError, match="opencv-vittrack: OpenCV cannot load"):
        fastcf.create("opencv-vittrack", net=str(bad))


def _run(tracker, frames, gt):
    tracker.init(frames[0], gt[0])
    results = [tracker.update(f) for f in frames[1:]]
    boxes = np.array([gt[0]] + [r.box for r in results])
    return results, box_iou(boxes, gt)


@pytest.mark.parametrize("name", ["opencv-nanotrack", "opencv-nanotrack-rgb", "opencv-vittrack"])
def test_dnn_trackers_follow_a_synthetic_clip_and_report_their_score(name):
    paths = _vit_paths() if "vit" in name else _nano_paths()
    frames, gt = moving_object_clip(30)
    tracker = fastcf.create(name, **paths)
    results, iou = _run(tracker, frames, gt)
    assert iou.mean() > 0.6, (name, iou)
    scores = np.array([r.score for r in results])
    assert np.all((scores >= 0) & (scores <= 1))
    assert np.ptp(scores) > 0  # the network's own score, not a constant 1.0
    assert sum(r.ok for r in results) >= 25
    # black frames: never ok, never an impossible box; and a second init works (new video)
    black = [np.zeros_like(frames[0])] * 10
    for r in (tracker.update(f) for f in black):
        assert not r.ok and box_problem(r.box, (320, 240)) is None
    _, iou2 = _run(tracker, frames[:10], gt[:10])
    assert iou2.mean() > 0.6


def test_nanotrack_rgb_feeds_swapped_channels():
    paths = _nano_paths()
    frame = moving_object_clip(2)[0][0]
    bgr = fastcf.create("opencv-nanotrack", **paths)
    rgb = fastcf.create("opencv-nanotrack-rgb", **paths)
    assert np.array_equal(bgr._prepare(frame), frame)
    assert np.array_equal(rgb._prepare(frame), frame[:, :, ::-1])
    gray = frame[:, :, 1].copy()
    assert rgb._prepare(gray).shape == frame.shape
