"""Pair sampling for distillation: geometry, determinism, held-out splits, video pairs."""

from __future__ import annotations

import numpy as np
import pytest

from distill_helpers import write_images, write_sequence
from fastcf.distill.pairs import (
    PairConfig,
    PairSampler,
    SourceSpec,
    crop_patch,
    parse_sources,
    read_otb_boxes,
)
from fastcf.errors import DatasetError


def _centroid(patch: np.ndarray, threshold: float = 128.0) -> tuple[float, float]:
    g = patch[..., 0].astype(float)
    g = np.where(g > threshold, g, 0.0)
    ys, xs = np.mgrid[0 : g.shape[0], 0 : g.shape[1]]
    return (g * xs).sum() / g.sum(), (g * ys).sum() / g.sum()


@pytest.mark.parametrize(
    ("k", "scale", "rot", "shift"),
    [(1.0, 1.0, 0.0, (0.0, 0.0)), (3.0, 1.2, 0.2, (30.0, -45.0)), (0.5, 0.9, -0.1, (5.0, 5.0))],
)
def test_crop_patch_places_the_centre_at_shift_over_scale(k, scale, rot, shift) -> None:
    img = np.zeros((400, 600, 3), np.uint8)
    img[200:204, 300:304] = 255  # centre (302, 202) in continuous coordinates
    p = crop_patch(img, (302.0, 202.0), k, 64, rotation=rot, scale=scale, shift=shift)
    cx, cy = _centroid(p, threshold=0.0)
    assert cx - 31.5 == pytest.approx(shift[0] / k, abs=0.15)
    assert cy - 31.5 == pytest.approx(shift[1] / k, abs=0.15)


def test_image_pairs_are_deterministic_and_offsets_are_right(tmp_path) -> None:
    folder = write_images(tmp_path / "imgs", 12)
    cfg = PairConfig(patch_size=48, photometric=0.0, max_blur_sigma=0.0, max_rotation_deg=0.0,
                     max_log_scale=0.0)  # fmt: skip
    a = PairSampler(f"images:{folder}", 6, config=cfg, seed=3)
    b = PairSampler(f"images:{folder}", 6, config=cfg, seed=3)
    c = PairSampler(f"images:{folder}", 6, config=cfg, seed=4)
    for i in (0, 5, 2):
        pa, pb = a[i], b[i]
        assert np.array_equal(pa.template, pb.template) and np.array_equal(pa.search, pb.search)
        assert pa.offset == pb.offset
    assert not all(np.array_equal(a[i].search, c[i].search) for i in range(6))
    # without photometric change/rotation/scale the search patch is the template content
    # shifted by the offset: its centre region matches the template centre
    for i in range(6):
        p = a[i]
        dy, dx = (round(v) for v in p.offset)
        t = p.template[16:32, 16:32].astype(int)
        s = p.search[16 + dy : 32 + dy, 16 + dx : 32 + dx].astype(int)
        assert np.abs(t - s).mean() < 12, (i, p.offset)
        assert p.template.shape == (48, 48, 3) and p.template.dtype == np.uint8
        assert np.hypot(*p.offset) <= cfg.max_shift * cfg.patch_size + 1e-9
    with pytest.raises(IndexError):
        a[6]


def test_images_held_out_for_validation(tmp_path) -> None:
    folder = write_images(tmp_path / "imgs", 25)
    train = PairSampler(f"images:{folder}", 4, seed=0)
    val = PairSampler(f"images:{folder}", 4, seed=0, split="val")
    assert set(train.images).isdisjoint(val.images)
    assert len(val.images) == 3 and len(train.images) == 22
    assert train.fingerprint() != val.fingerprint()


def test_video_pairs_follow_ground_truth(tmp_path) -> None:
    seq, gt = write_sequence(tmp_path / "videos")
    boxes = read_otb_boxes(seq / "groundtruth_rect.txt")
    np.testing.assert_allclose(boxes, gt)
    cfg = PairConfig(patch_size=64, context=2.0, max_frame_gap=3, video_jitter=0.0)
    s = PairSampler([SourceSpec("video", tmp_path / "videos")], 8, config=cfg, seed=1)
    assert len(s.videos) == 1
    for i in range(8):
        p = s[i]
        _, rng = p.source.rsplit(":", 1)
        a, b = (int(v) for v in rng.split("-"))
        assert abs(a - b) <= 3 and max(a, b) < 10  # last 20% (frames 10, 11) held out
        # the square is centred in the template and at the offset in the search
        cx, cy = _centroid(p.template)
        assert (cx - 31.5, cy - 31.5) == pytest.approx((0.0, 0.0), abs=0.6)
        cx, cy = _centroid(p.search)
        assert (cy - 31.5, cx - 31.5) == pytest.approx(p.offset, abs=0.6)
        assert p.scale == pytest.approx(1.0)


def test_sources_errors(tmp_path) -> None:
    with pytest.raises(DatasetError, match="expected 'images:<folder>'"):
        parse_sources("pictures:/x")
    with pytest.raises(DatasetError, match="does not exist"):
        PairSampler(f"images:{tmp_path / 'missing'}", 2)
    write_sequence(tmp_path / "v", name="Crossing", n=4)
    with pytest.raises(DatasetError, match="evaluation sequence"):
        PairSampler(f"video:{tmp_path / 'v'}", 2)
    bad = tmp_path / "bad"
    write_sequence(bad, n=4)
    (bad / "toyseq" / "groundtruth_rect.txt").write_text("1,2,3\n")
    with pytest.raises(DatasetError, match="line 1"):
        PairSampler(f"video:{bad}", 2)


def test_real_training_data_pairs() -> None:
    from conftest import shared_path

    images = shared_path("train", "images")
    videos = shared_path("train", "sequences")
    s = PairSampler(f"images:{images},video:{videos}", 20, seed=0)
    names = {v.name for v in s.videos}
    # two UAV123@10fps videos and the DAVIS-2016 clips (README of ../shared)
    assert {"boat1", "wakeboard10"} <= names
    assert sum(n.startswith("davis-") for n in names) == 45 and len(names) == 47
    kinds = {s[i].source.split(":")[0] for i in range(20)}
    assert kinds == {"image", "video"}
