"""TC-128, UAV123, VOT, GOT-10k and LaSOT readers on tiny synthetic datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import shared_path
from datasets_helpers import boxes, frame_value, value_of, write_images, write_rows
from fastcf.datasets import (
    open_dataset,
    read_got10k,
    read_lasot,
    read_tc128,
    read_uav123,
    read_vot,
)
from fastcf.datasets import uav123 as uav_mod
from fastcf.errors import AnnotationError, DatasetError, FrameError

SHIFT = np.array([1.0, 1.0, 0.0, 0.0])

# --------------------------------------------------------------------------- TC-128


def _tc_seq(root: Path, name: str, start: int, end: int, n_rows: int, n_img: int = 0) -> Path:
    d = root / name
    write_images(d / "img", range(1, (n_img or end) + 1))
    write_rows(d / f"{name}_gt.txt", boxes(n_rows))
    (d / f"{name}_frames.txt").write_text(f"{start},{end}\n")
    return d


def test_tc128_frame_range(tmp_path: Path) -> None:
    _tc_seq(tmp_path, "Airport_ce", 3, 7, 5, n_img=9)
    _tc_seq(tmp_path, "Ball_ce1", 1, 4, 4)
    (tmp_path / "Ball_ce1" / "Ball_ce1_att.txt").write_text("FM, MB\n")
    ds = open_dataset(f"tc128:{tmp_path}")
    assert ds.layout == "TC-128" and ds.name == tmp_path.name
    assert ds.names() == ["Airport_ce", "Ball_ce1"]
    seq = ds["Airport_ce"]
    assert len(seq) == 5 and seq.offset == 1.0
    np.testing.assert_array_equal(seq.ground_truth, boxes(5) - SHIFT)
    assert [frame_value(f) for f in seq.frames] == [value_of(k) for k in range(3, 8)]
    assert ds["Ball_ce1"].attributes == ("MB", "FM") and ds.attribute_names == ("MB", "FM")
    assert read_tc128(tmp_path / "Ball_ce1").names() == ["Ball_ce1"]


def test_tc128_errors(tmp_path: Path) -> None:
    _tc_seq(tmp_path, "A", 2, 6, 4)
    with pytest.raises(
        AnnotationError, match=r"4 annotation rows but A_frames.txt gives frames 2-6"
    ):
        read_tc128(tmp_path)
    _tc_seq(tmp_path, "A", 2, 6, 5)
    (tmp_path / "A" / "img" / "0005.jpg").unlink()
    with pytest.raises(FrameError, match=r"frames 2-6 .*first missing frame number: 5"):
        read_tc128(tmp_path)
    (tmp_path / "A" / "A_frames.txt").write_text("6,2\n")
    with pytest.raises(AnnotationError, match=r"A_frames.txt, line 1: invalid frame range 6,2"):
        read_tc128(tmp_path)
    (tmp_path / "A" / "A_frames.txt").unlink()
    with pytest.raises(DatasetError, match="frame-range file does not exist"):
        read_tc128(tmp_path)
    _tc_seq(tmp_path, "A", 1, 2, 2)
    write_rows(tmp_path / "A" / "A_gt.txt", [[1, 1, 2, 2], [1, 1, 0, 2]])
    with pytest.raises(
        AnnotationError, match=r"A_gt.txt, line 2: box width/height must be positive"
    ):
        read_tc128(tmp_path)
    with pytest.raises(DatasetError, match="no TC-128 sequences"):
        read_tc128(tmp_path / "A" / "img")


# --------------------------------------------------------------------------- UAV123


def _uav_root(tmp_path: Path) -> Path:
    root = tmp_path / "UAV123"
    anno = root / "anno" / "UAV123"
    data = root / "data_seq" / "UAV123"
    write_images(data / "bike1", range(1, 5), digits=6)
    write_rows(anno / "bike1.txt", [[1, 2, 3, 4], [np.nan] * 4, [2, 3, 4, 5], [3, 4, 5, 6]])
    write_images(data / "bird1", range(1, 11), digits=6)
    write_rows(anno / "bird1_2.txt", boxes(3, start=20))
    return root


def test_uav123_table_entries() -> None:
    assert uav_mod.SUBSEQUENCES["bird1_2"] == ("bird1", 775, 1477)
    assert uav_mod.SUBSEQUENCES["uav1_3"] == ("uav1", 2473, 3469)
    assert uav_mod.SUBSEQUENCES["car6_5"] == ("car6", 3925, 4861)
    assert len(uav_mod.SUBSEQUENCES) == 51


def test_uav123_nan_rows_and_subsequences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _uav_root(tmp_path)
    monkeypatch.setitem(uav_mod.SUBSEQUENCES, "bird1_2", ("bird1", 6, 8))
    (root / "anno" / "UAV123" / "att").mkdir()
    (root / "anno" / "UAV123" / "att" / "bike1.txt").write_text("1,0,0,0,0,0,1,0,0,0,0,1\n")
    ds = open_dataset(f"uav123:{root}")
    bike = ds["bike1"]
    assert bike.offset == 1.0 and bike.init_box == (0.0, 1.0, 3.0, 4.0)
    assert bike.absent is not None and bike.absent.tolist() == [False, True, False, False]
    assert np.isnan(bike.ground_truth[1]).all()
    assert bike.attributes == ("SV", "OV", "SOB")
    bird = ds["bird1_2"]
    assert len(bird) == 3 and bird.meta["frame_range"] == (6, 8)
    assert [frame_value(f) for f in bird.frames] == [value_of(k) for k in (6, 7, 8)]
    assert read_uav123(root, sequences=["bike1"]).names() == ["bike1"]


def test_uav123_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _uav_root(tmp_path)
    # the real table range (775-1477) does not match a 3-row file: bird1_2 fails alone
    ds = read_uav123(root)
    assert "bird1_2" in ds.broken and "bird1_2" not in ds.names() and ds.names()
    with pytest.raises(AnnotationError, match=r"bird1_2.txt: 3 rows, but sub-sequence bird1_2"):
        read_uav123(root, sequences=["bird1_2"])
    monkeypatch.setitem(uav_mod.SUBSEQUENCES, "bird1_2", ("bird1", 9, 11))
    with pytest.raises(FrameError, match=r"first missing frame number: 11"):
        read_uav123(root, sequences=["bird1_2"])
    monkeypatch.delitem(uav_mod.SUBSEQUENCES, "bird1_2")
    with pytest.raises(DatasetError, match=r"bird1_2 looks like a sub-sequence of bird1"):
        read_uav123(root, sequences=["bird1_2"])
    (root / "anno" / "UAV123" / "bird1_2.txt").unlink()
    write_rows(root / "anno" / "UAV123" / "ghost.txt", boxes(2))
    with pytest.raises(DatasetError, match=r"ghost.*does not exist"):
        read_uav123(root, sequences=["ghost"])
    assert "does not exist" in read_uav123(root).broken["ghost"]  # the others are read
    write_rows(root / "anno" / "UAV123" / "ghost.txt", [[1, 1, 2, -2]])
    with pytest.raises(AnnotationError, match=r"ghost.txt, line 1: box width/height"):
        read_uav123(root, sequences=["ghost"])
    with pytest.raises(DatasetError, match="anno/UAV20L"):
        read_uav123(root, version="UAV20L")


# --------------------------------------------------------------------------- VOT


def _vot_root(tmp_path: Path) -> Path:
    root = tmp_path / "vot"
    a = root / "ants"
    write_images(a / "color", range(1, 4), digits=8)
    (a / "groundtruth.txt").write_text(
        "10,20,30,20,30,40,10,40\n"  # axis-aligned square: (10,20,20,20)
        "15.5,10,25.5,20,15.5,30,5.5,20\n"  # rotated diamond: x 5.5..25.5, y 10..30
        "1,2,3,4\n"  # a rectangle line
    )
    (a / "occlusion.tag").write_text("0\n1\n")  # trailing zero omitted
    (a / "camera_motion.tag").write_text("0\n0\n0\n")
    b = root / "bolt"
    write_images(b, range(1, 3), digits=8)  # images directly in the sequence folder
    write_rows(b / "groundtruth.txt", [[1, 2, 3, 4], [2, 3, 4, 5]])
    (root / "list.txt").write_text("bolt\nants\n")
    return root


def test_vot_polygons_rects_tags(tmp_path: Path) -> None:
    ds = open_dataset(f"vot:{_vot_root(tmp_path)}")
    assert ds.names() == ["bolt", "ants"]  # list.txt order
    ants = ds["ants"]
    assert ants.offset == 0.0
    np.testing.assert_allclose(
        ants.ground_truth, [[10, 20, 20, 20], [5.5, 10, 20, 20], [1, 2, 3, 4]]
    )
    poly = ants.meta["polygons"]
    assert isinstance(poly, np.ndarray) and poly.shape == (3, 8)
    np.testing.assert_array_equal(poly[2], [1, 2, 4, 2, 4, 6, 1, 6])
    tags = ants.meta["tags"]
    assert isinstance(tags, dict) and tags["occlusion"].tolist() == [False, True, False]
    assert ants.attributes == ("occlusion",) and ds.attribute_names == ("occlusion",)
    assert ds["bolt"].init_box == (1.0, 2.0, 3.0, 4.0) and "polygons" not in ds["bolt"].meta
    assert frame_value(next(iter(ds["bolt"].frames))) == value_of(1)


def test_vot_without_list_and_single_sequence(tmp_path: Path) -> None:
    root = _vot_root(tmp_path)
    (root / "list.txt").unlink()
    assert read_vot(root).names() == ["ants", "bolt"]
    assert read_vot(root / "ants").names() == ["ants"]


def test_vot_reads_shared_ball1_polygons() -> None:
    ball1 = shared_path("sequences", "ball1")
    seq = read_vot(ball1).sequences[0]
    assert len(seq) == 105 and seq.offset == 0.0
    assert seq.init_box == (492.0, 417.0, 47.0, 46.0)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("1,2,3,4\n1,2,3,4,5\n", r"line 2: expected 4, 6, ... or 40 values, found 5"),
        ("1,2,3,4\nm1,2,3\n", r"line 2: segmentation-mask annotations"),
        ("1,2,3,4\n1,2,0,4\n", r"line 2: box width/height must be positive"),
        ("1,2,3,4\n1,2,3,x\n", r"line 2: value 'x' is not a number"),
        ("1,2,3,4\n", r"1 annotation rows but 2 images"),
        ("nan,nan,nan,nan\n1,2,3,4\n", r"line 1: the first box is unknown"),
    ],
)
def test_vot_bad_annotations(tmp_path: Path, content: str, pattern: str) -> None:
    d = tmp_path / "seq"
    write_images(d / "color", range(1, 3), digits=8)
    (d / "groundtruth.txt").write_text(content)
    with pytest.raises((AnnotationError, FrameError), match=pattern):
        read_vot(tmp_path)


def test_vot_layout_errors(tmp_path: Path) -> None:
    root = _vot_root(tmp_path)
    (root / "list.txt").write_text("bolt\nmissing\n")
    with pytest.raises(DatasetError, match=r"list.txt: sequence folder 'missing' does not exist"):
        read_vot(root)
    (root / "list.txt").write_text("ants\n")
    (root / "ants" / "occlusion.tag").write_text("0\n1\n1\n1\n")
    with pytest.raises(AnnotationError, match=r"occlusion.tag: 4 values for a sequence of 3"):
        read_vot(root)
    (tmp_path / "none").mkdir()
    with pytest.raises(DatasetError, match="no VOT sequences"):
        read_vot(tmp_path / "none")
    e = tmp_path / "noimg"
    write_rows(e / "groundtruth.txt", [[1, 2, 3, 4]])
    with pytest.raises(DatasetError, match="no images"):
        read_vot(e)


# --------------------------------------------------------------------------- GOT-10k


def _got_root(tmp_path: Path) -> Path:
    root = tmp_path / "GOT-10k"
    v = root / "val" / "GOT-10k_Val_000001"
    write_images(v, range(1, 5), digits=8)
    write_rows(v / "groundtruth.txt", [[1, 2, 3, 4], [2, 3, 4, 5], [0, 0, 0, 0], [4, 5, 6, 7]])
    (v / "absence.label").write_text("0\n0\n1\n0\n")
    (v / "cover.label").write_text("8\n5\n0\n8\n")
    (v / "cut_by_image.label").write_text("0\n0\n0\n1\n")
    (v / "meta_info.ini").write_text(
        "[METAINFO]\nurl: https://example/x\nobject_class: ant\nmotion_class: crawling\n"
    )
    (root / "val" / "list.txt").write_text("GOT-10k_Val_000001\n")
    t = root / "test" / "GOT-10k_Test_000001"
    write_images(t, range(1, 6), digits=8)
    write_rows(t / "groundtruth.txt", [[5, 6, 7, 8]])
    return root


def test_got10k_val_split(tmp_path: Path) -> None:
    root = _got_root(tmp_path)
    ds = open_dataset(f"got10k:{root}")  # defaults to val
    assert ds.layout == "GOT-10k-val" and ds.name.endswith("-val")
    seq = ds.sequences[0]
    assert seq.offset == 0.0 and seq.init_box == (1.0, 2.0, 3.0, 4.0)
    assert seq.absent is not None and seq.absent.tolist() == [False, False, True, False]
    assert np.isnan(seq.ground_truth[2]).all() and not np.isnan(seq.ground_truth[3]).any()
    assert seq.meta["cover"].tolist() == [8, 5, 0, 8]  # type: ignore[attr-defined]
    assert seq.meta["info"] == {  # type: ignore[comparison-overlap]
        "url": "https://example/x",
        "object_class": "ant",
        "motion_class": "crawling",
    }
    raw = seq.meta["raw_ground_truth"]
    assert isinstance(raw, np.ndarray) and raw.shape == (4, 4)
    assert open_dataset(f"got10k:{root / 'val'}").names() == ["GOT-10k_Val_000001"]


def test_got10k_test_split_first_box_only(tmp_path: Path) -> None:
    root = _got_root(tmp_path)
    ds = read_got10k(root / "test")
    assert ds.layout == "GOT-10k-test" and ds.name.endswith("-test")
    seq = ds.sequences[0]
    assert len(seq) == 5 and seq.ground_truth.shape == (5, 4)
    assert seq.init_box == (5.0, 6.0, 7.0, 8.0) and np.isnan(seq.ground_truth[1:]).all()
    assert seq.meta["first_frame_only"] is True
    assert read_got10k(root, split="test").names() == ["GOT-10k_Test_000001"]
    with pytest.raises(DatasetError, match="unknown GOT-10k split"):
        read_got10k(root, split="dev")


def test_got10k_errors(tmp_path: Path) -> None:
    root = _got_root(tmp_path)
    v = root / "val" / "GOT-10k_Val_000001"
    (v / "absence.label").write_text("0\n0\n1\n")
    with pytest.raises(
        AnnotationError, match=r"absence.label: has 3 flags, expected one per frame \(4\)"
    ):
        read_got10k(root)
    (v / "absence.label").write_text("0\n0\n2\n0\n")
    with pytest.raises(AnnotationError, match=r"absence.label, line 3: value 2 not in \[0, 1\]"):
        read_got10k(root)
    (v / "absence.label").write_text("0\n0\n1\n0\n")
    (v / "cover.label").write_text("8\n9\n0\n8\n")
    with pytest.raises(AnnotationError, match=r"cover.label, line 2: value 9"):
        read_got10k(root)
    (v / "cover.label").write_text("8\n8\n0\n8\n")
    write_rows(v / "groundtruth.txt", boxes(3))
    with pytest.raises(AnnotationError, match=r"3 annotation rows but 4 images"):
        read_got10k(root)
    write_rows(v / "groundtruth.txt", boxes(6))
    with pytest.raises(FrameError, match=r"only 4 images for 6 annotation rows"):
        read_got10k(root)
    (root / "val" / "list.txt").write_text("GOT-10k_Val_000009\n")
    with pytest.raises(DatasetError, match=r"'GOT-10k_Val_000009' does not exist"):
        read_got10k(root)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetError, match="not a GOT-10k folder"):
        read_got10k(tmp_path / "nothing")


# --------------------------------------------------------------------------- LaSOT


def _lasot_seq(root: Path, name: str, n: int) -> Path:
    d = root / name.split("-")[0] / name
    write_images(d / "img", range(1, n + 1), digits=8)
    write_rows(d / "groundtruth.txt", boxes(n))
    return d


def test_lasot_absent_and_subset(tmp_path: Path) -> None:
    root = tmp_path / "LaSOT"
    d = _lasot_seq(root, "airplane-1", 4)
    write_rows(d / "groundtruth.txt", [[1, 2, 3, 4], [0, 0, 0, 0], [3, 4, 5, 6], [4, 5, 6, 7]])
    (d / "full_occlusion.txt").write_text("0,1,0,0\n")
    (d / "out_of_view.txt").write_text("0,0,1,0\n")
    (d / "nlp.txt").write_text("white airplane flying\n")
    _lasot_seq(root, "bird-2", 3)
    _lasot_seq(root, "cat-7", 2)
    ds = open_dataset(f"lasot:{root}")
    assert ds.layout == "LaSOT" and ds.name == "LaSOT"
    assert ds.names() == ["airplane-1", "bird-2", "cat-7"]
    a = ds["airplane-1"]
    assert a.offset == 1.0 and a.init_box == (0.0, 1.0, 3.0, 4.0)
    assert a.absent is not None and a.absent.tolist() == [False, True, True, False]
    assert np.isnan(a.ground_truth[1:3]).all()
    np.testing.assert_array_equal(a.ground_truth[3], [3, 4, 6, 7])
    raw = a.meta["raw_ground_truth"]
    assert isinstance(raw, np.ndarray) and raw[2].tolist() == [2, 3, 5, 6]
    assert a.meta["nlp"] == "white airplane flying"
    (root / "testing_set.txt").write_text("cat-7\nairplane-1\n")
    sub = read_lasot(root)
    assert sub.layout == "LaSOT-test" and sub.names() == ["cat-7", "airplane-1"]
    assert len(read_lasot(root, subset="all")) == 3
    assert read_lasot(root / "bird" / "bird-2").names() == ["bird-2"]


def test_lasot_errors(tmp_path: Path) -> None:
    root = tmp_path / "LaSOT"
    d = _lasot_seq(root, "car-1", 3)
    with pytest.raises(DatasetError, match="testing_set.txt: subset='test' needs this file"):
        read_lasot(root, subset="test")
    (root / "testing_set.txt").write_text("car-1\ncar-2\n")
    with pytest.raises(DatasetError, match=r"1 listed sequence\(s\) not found.*car-2"):
        read_lasot(root)
    (root / "testing_set.txt").unlink()
    (d / "out_of_view.txt").write_text("0,0\n")
    with pytest.raises(AnnotationError, match=r"out_of_view.txt: has 2 flags"):
        read_lasot(root)
    (d / "out_of_view.txt").write_text("0,0,0\n")
    write_rows(d / "groundtruth.txt", boxes(4))
    with pytest.raises(FrameError, match=r"only 3 images for 4 annotation rows"):
        read_lasot(root)
    write_rows(d / "groundtruth.txt", [[1, 2, 3], [1, 2, 3]])
    with pytest.raises(AnnotationError, match=r"groundtruth.txt, line 1: expected 4 values"):
        read_lasot(root)
    with pytest.raises(DatasetError, match="unknown LaSOT subset"):
        read_lasot(root, subset="train")
    with pytest.raises(DatasetError, match="no LaSOT sequences"):
        read_lasot(d / "img")
