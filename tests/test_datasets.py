"""OTB reader (real shared sequences + synthetic special cases), open_dataset, folder, video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import shared_path
from datasets_helpers import boxes, frame_value, value_of, write_images, write_rows
from fastcf.datasets import Dataset, open_dataset, read_folder, read_otb, read_video
from fastcf.datasets import otb as otb_mod
from fastcf.errors import AnnotationError, DatasetError, FrameError, InvalidBoxError

# name -> (frames, (width, height)) from ../shared/README.md
README_TABLE = {
    "Crossing": (120, (360, 240)),
    "Human3": (199, (480, 640)),
    "Skating1": (400, (640, 360)),
    "Girl": (500, (128, 96)),
    "Biker": (142, (640, 360)),
    "MotorRolling": (164, (640, 360)),
    "Diving": (215, (400, 224)),
    "Dog": (127, (352, 240)),
    "Singer1": (351, (624, 352)),
    "Vase": (271, (320, 240)),
    "ball1": (105, (1280, 720)),
    # added 2026-11-29 (reduced copies: <= 480 px wide, cut after frame 220 except David)
    "Couple": (140, (320, 240)),
    "David": (471, (320, 240)),
    "FaceOcc1": (220, (352, 288)),
    "Football1": (74, (352, 288)),
    "Freeman1": (220, (360, 240)),
    "Gull1": (120, (480, 270)),
    "Human7": (220, (320, 240)),
    "Jogging-2": (220, (352, 288)),
    "MountainBike6": (81, (480, 270)),
    "S0601": (82, (480, 253)),
    "Toy": (220, (320, 240)),
    "bag": (196, (480, 360)),
    "boat5": (169, (480, 270)),
    "book": (175, (480, 360)),
    "building5": (161, (480, 270)),
    "car": (220, (480, 204)),
    "car16_1": (139, (480, 270)),
    "graduate": (220, (480, 206)),
    "iceskater1": (220, (480, 270)),
    "matrix": (100, (480, 202)),
    "person11": (220, (480, 270)),
    "skiing_lt": (220, (480, 270)),
    "wakeboard4": (220, (480, 270)),
}


def _first_line(path: Path) -> list[float]:
    return [float(v) for v in path.read_text().splitlines()[0].split(",")]


# --------------------------------------------------------------------------- real data


def test_real_sequences_counts_sizes_and_first_boxes() -> None:
    root = shared_path("sequences")
    ds = read_otb(root)
    assert sorted(ds.names()) == sorted(README_TABLE)
    for seq in ds:
        n, (w, h) = README_TABLE[seq.name]
        assert len(seq) == n and seq.ground_truth.shape == (n, 4), seq.name
        assert seq.ground_truth.dtype == np.float64
        frame = next(iter(seq.frames))
        assert frame.shape == (h, w, 3) and frame.dtype == np.uint8, seq.name
        raw = _first_line(root / seq.name / "groundtruth_rect.txt")
        if seq.name == "ball1":  # VOT coordinates kept (README: not shifted to 1-based)
            assert seq.offset == 0.0 and seq.meta["source"] == "vot"
            assert seq.init_box == tuple(raw)
        else:
            assert seq.offset == 1.0
            assert seq.init_box == (raw[0] - 1, raw[1] - 1, raw[2], raw[3])
        np.testing.assert_array_equal(seq.to_dataset_convention(seq.ground_truth[:1])[0], raw)
        full = np.loadtxt(root / seq.name / "groundtruth_rect.txt", delimiter=",")
        # fractional coordinates (downscaled copies) round-trip through -1 / +1
        np.testing.assert_allclose(seq.to_dataset_convention(seq.ground_truth), full, atol=1e-12)
    assert ds["Crossing"].init_box == (204.0, 150.0, 17.0, 50.0)
    # the target leaves the view in skiing_lt: absent frames are NaN rows, never a box
    absent = np.isnan(ds["skiing_lt"].ground_truth).any(axis=1)
    assert absent.sum() == 59 and not absent[0]


def test_real_sequence_folder_and_bare_path_specs() -> None:
    root = shared_path("sequences")
    assert len(open_dataset(str(root))) == len(README_TABLE)
    one = open_dataset(f"otb:{root / 'Girl'}")
    assert one.names() == ["Girl"] and len(one.sequences[0]) == 500
    assert open_dataset(root / "Dog").names() == ["Dog"]


def test_real_ball1_polygons_match_rectangles() -> None:
    root = shared_path("sequences")
    seq = read_otb(root, sequences=["ball1"]).sequences[0]
    poly = seq.meta["polygons"]
    assert isinstance(poly, np.ndarray) and poly.shape == (105, 8)
    xs, ys = poly[:, 0::2], poly[:, 1::2]
    bounds = np.stack([xs.min(1), ys.min(1), xs.max(1) - xs.min(1), ys.max(1) - ys.min(1)], 1)
    # the rectangles file holds these bounds rounded to whole pixels
    assert np.abs(bounds - seq.ground_truth).max() <= 1.0


# --------------------------------------------------------------------------- synthetic OTB


def _otb_seq(root: Path, name: str, n_img: int, rows: np.ndarray, **kw: object) -> Path:
    d = root / name
    write_images(d / "img", range(1, n_img + 1))
    write_rows(d / "groundtruth_rect.txt", rows, **kw)  # type: ignore[arg-type]
    return d


def test_otb_mixed_separators_and_lazy_frames(tmp_path: Path) -> None:
    d = tmp_path / "Seq"
    write_images(d / "img", range(1, 5))
    (d / "groundtruth_rect.txt").write_text(
        "10,20,30,40\n11\t21\t31\t41\n12 22  32 42\n13, 23,\t33 ,43\n\n"
    )
    seq = read_otb(tmp_path).sequences[0]
    expected = np.array([[9, 19, 30, 40], [10, 20, 31, 41], [11, 21, 32, 42], [12, 22, 33, 43]])
    np.testing.assert_array_equal(seq.ground_truth, expected)
    assert [frame_value(f) for f in seq.frames] == [value_of(k) for k in range(1, 5)]
    assert seq.frames[2].shape == (8, 8, 3)  # type: ignore[index]


def test_otb_frame_ranges_by_image_number(tmp_path: Path) -> None:
    _otb_seq(tmp_path, "David", 770, boxes(471))  # images 1..770, annotation 300..770
    _otb_seq(tmp_path, "Football1", 81, boxes(74))
    d = tmp_path / "BlurCar3"  # images start at 0003.jpg
    write_images(d / "img", range(3, 360))
    write_rows(d / "groundtruth_rect.txt", boxes(357), sep="\t")
    ds = read_otb(tmp_path)
    david = ds["David"]
    assert len(david) == 471 and david.meta["frame_range"] == (300, 770)
    assert Path(david.frames.paths[0]).name == "0300.jpg"  # type: ignore[attr-defined]
    assert frame_value(next(iter(david.frames))) == value_of(300)
    assert len(ds["Football1"]) == 74
    assert Path(ds["BlurCar3"].frames.paths[-1]).name == "0359.jpg"  # type: ignore[attr-defined]
    # without the special cases David would be 471 frames starting at image 1
    raw = read_otb(tmp_path, special_cases=False)["David"]
    assert Path(raw.frames.paths[0]).name == "0001.jpg"  # type: ignore[attr-defined]


def test_otb_ranges_match_toolkit_table() -> None:
    assert otb_mod.FRAME_RANGES["David"] == (300, 770)
    assert otb_mod.FRAME_RANGES["BlurCar1"] == (247, 988)
    assert otb_mod.FRAME_RANGES["BlurCar4"] == (18, 397)
    assert otb_mod.INIT_OMIT == {"Tiger1": 5}
    assert len(otb_mod.VERSIONS["tb100"]) == 98  # 100 sequences: Jogging, Skating2 hold two
    assert len(otb_mod.VERSIONS["otb2013"]) == 50 and len(otb_mod.VERSIONS["tb50"]) == 49


def test_otb_special_range_errors(tmp_path: Path) -> None:
    _otb_seq(tmp_path, "Freeman4", 250, boxes(283))  # needs images 1..283
    with pytest.raises(FrameError, match=r"first missing frame number: 251"):
        read_otb(tmp_path)
    (tmp_path / "Freeman4" / "groundtruth_rect.txt").write_text("1,1,2,2\n")
    with pytest.raises(AnnotationError, match=r"1 rows.*1-283"):
        read_otb(tmp_path)


def test_otb_tiger1_init_omit(tmp_path: Path) -> None:
    gt = boxes(354)
    _otb_seq(tmp_path, "Tiger1", 354, gt)
    seq = read_otb(tmp_path)["Tiger1"]
    assert len(seq) == 349 and seq.ground_truth.shape == (349, 4)
    np.testing.assert_array_equal(seq.ground_truth[0], gt[5] - [1, 1, 0, 0])
    assert frame_value(next(iter(seq.frames))) == value_of(6)


def test_otb_two_targets_and_empty_annotation(tmp_path: Path) -> None:
    d = tmp_path / "Jogging"
    write_images(d / "img", range(1, 6))
    write_rows(d / "groundtruth_rect.1.txt", boxes(5))
    write_rows(d / "groundtruth_rect.2.txt", boxes(5, start=50))
    h = tmp_path / "Human4"
    write_images(h / "img", range(1, 4))
    (h / "groundtruth_rect.1.txt").write_text("\n")
    write_rows(h / "groundtruth_rect.2.txt", boxes(3, start=7))
    ds = read_otb(tmp_path)
    assert ds.names() == ["Human4", "Jogging-1", "Jogging-2"]
    assert ds["Jogging-2"].init_box == (49.0, 49.0, 3.0, 4.0)
    assert ds["Human4"].init_box == (6.0, 6.0, 3.0, 4.0)
    assert read_otb(tmp_path, sequences=["Jogging"]).names() == ["Jogging-1", "Jogging-2"]
    assert read_otb(tmp_path, sequences=["Jogging-2"]).names() == ["Jogging-2"]
    with pytest.raises(DatasetError, match="Nope"):
        read_otb(tmp_path, sequences=["Nope"])


def test_otb_versions(tmp_path: Path) -> None:
    _otb_seq(tmp_path, "Crossing", 3, boxes(3))  # OTB-2013 and TB-100, not TB-50
    _otb_seq(tmp_path, "Biker", 3, boxes(3))  # TB-50 and TB-100
    _otb_seq(tmp_path, "MySeq", 3, boxes(3))  # in no version
    assert len(read_otb(tmp_path)) == 3
    with pytest.raises(DatasetError, match=r"missing: Basketball"):
        read_otb(tmp_path, version="tb50")
    ds = read_otb(tmp_path, version="otb100", allow_missing=True)
    assert ds.layout == "OTB-100" and ds.names() == ["Biker", "Crossing"]
    assert ds.name == tmp_path.name  # named after its folder (the results folder)
    assert read_otb(tmp_path, version="OTB-2013", allow_missing=True).names() == ["Crossing"]
    with pytest.raises(DatasetError, match=r"sequence folder\(s\) of tb100 missing"):
        open_dataset(f"otb100:{tmp_path}")
    with pytest.raises(DatasetError, match="unknown OTB version"):
        read_otb(tmp_path, version="otb3000")


def test_otb_attributes(tmp_path: Path) -> None:
    _otb_seq(tmp_path, "A", 2, boxes(2))
    _otb_seq(tmp_path, "B", 2, boxes(2))
    _otb_seq(tmp_path, "C", 2, boxes(2))
    (tmp_path / "anno" / "att").mkdir(parents=True)
    (tmp_path / "anno" / "att" / "A.txt").write_text("1,0,1,0,0,0,0,0,0,0,1\n")
    (tmp_path / "B" / "attributes.txt").write_text("occ, IV\n")
    ds = read_otb(tmp_path)
    assert ds["A"].attributes == ("IV", "OCC", "LR")
    assert ds["B"].attributes == ("IV", "OCC")  # benchmark order, not file order
    assert ds["C"].attributes == ()
    assert ds.attribute_names == ("IV", "OCC", "LR")
    (tmp_path / "B" / "attributes.txt").write_text("IV, WOBBLE\n")
    with pytest.raises(AnnotationError, match="WOBBLE"):
        read_otb(tmp_path, sequences=["B"])
    # read with the others: B fails alone, with its reason
    ds = read_otb(tmp_path)
    assert ds.names() == ["A", "C"] and "WOBBLE" in ds.broken["B"]
    with pytest.raises(DatasetError, match="'B' of dataset .* cannot be read: .*WOBBLE"):
        ds["B"]
    (tmp_path / "B" / "attributes.txt").write_text("1,0,1\n")
    with pytest.raises(AnnotationError, match="3 attribute flags, expected 11"):
        read_otb(tmp_path, sequences=["B"])


def test_otb_nonpositive_rows_unknown_and_extra_frames(tmp_path: Path) -> None:
    _otb_seq(tmp_path, "S", 6, [[5, 5, 4, 4], [0, 0, 0, 0], [6, 6, -1, 3], [7, 7, 4, 4]])
    seq = read_otb(tmp_path)["S"]
    assert len(seq) == 4 and seq.meta["unannotated_frames"] == 2
    assert np.isnan(seq.ground_truth[1:3]).all() and seq.meta["unknown_rows"] == 2
    np.testing.assert_array_equal(seq.ground_truth[3], [6, 6, 4, 4])


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("1,2,3,4\n1,2,3,4\n1,2,3\n", r"groundtruth_rect\.txt, line 3: expected 4 values, found 3"),
        ("1,2,3,4\n1,2,abc,4\n", r"line 2: value 'abc' is not a number"),
        ("1,2,3,4\n\n1,2,3,4\n", r"line 2: empty line"),
        ("1,2,inf,4\n", r"line 1: value 'inf' is infinite"),
        ("0,0,0,0\n1,2,3,4\n", r"first annotated frame has no valid box"),
    ],
)
def test_otb_bad_annotations(tmp_path: Path, content: str, pattern: str) -> None:
    d = tmp_path / "Bad"
    write_images(d / "img", range(1, 4))
    (d / "groundtruth_rect.txt").write_text(content)
    with pytest.raises(AnnotationError, match=pattern):
        read_otb(tmp_path)


def test_otb_bad_layouts(tmp_path: Path) -> None:
    _otb_seq(tmp_path, "Short", 3, boxes(5))
    with pytest.raises(FrameError, match=r"only 3 images for 5 annotation rows.*2 frames missing"):
        read_otb(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no OTB sequences"):
        read_otb(empty)
    with pytest.raises(DatasetError, match="does not exist"):
        read_otb(tmp_path / "nowhere")
    noimg = tmp_path / "NoImg"
    noimg.mkdir()
    write_rows(noimg / "groundtruth_rect.txt", boxes(2))
    with pytest.raises(DatasetError, match=r"NoImg.*img.*does not exist"):
        otb_mod.read_sequence(noimg)
    (noimg / "img").mkdir()
    with pytest.raises(DatasetError, match="no image files"):
        otb_mod.read_sequence(noimg)
    with pytest.raises(DatasetError, match="no sequences found"):
        Dataset(name="x", root=tmp_path, sequences=[])


# --------------------------------------------------------------------------- spec, folder, video


def test_spec_prefixes_and_errors(tmp_path: Path) -> None:
    _otb_seq(tmp_path / "otb", "S", 3, boxes(3))
    assert open_dataset(f"otb:{tmp_path / 'otb'}").names() == ["S"]
    assert open_dataset(str(tmp_path / "otb" / "S")).names() == ["S"]
    with pytest.raises(DatasetError, match=r"unknown dataset spec prefix 'foo'.*otb:"):
        open_dataset("foo:/x/y")
    with pytest.raises(DatasetError, match="no such file"):
        open_dataset(str(tmp_path / "missing"))
    (tmp_path / "plain").mkdir()
    with pytest.raises(DatasetError, match="name the layout with a prefix"):
        open_dataset(str(tmp_path / "plain"))
    with pytest.raises(DatasetError, match="needs a first box"):
        open_dataset(f"folder:{tmp_path / 'plain'}")
    with pytest.raises(DatasetError, match="empty dataset spec"):
        open_dataset("  ")
    with pytest.raises(DatasetError, match="no path after"):
        open_dataset("vot:")


def test_folder_dataset_and_spec(tmp_path: Path) -> None:
    d = tmp_path / "my clip"
    write_images(d, [1, 2, 10], digits=1, ext=".png")  # numeric order, not text order
    ds = open_dataset(f"folder:{d}@1.5, 2, 3, 4")
    seq = ds.sequences[0]
    assert seq.name == "my clip" and len(seq) == 3 and seq.offset == 0.0
    assert seq.init_box == (1.5, 2.0, 3.0, 4.0) and np.isnan(seq.ground_truth[1:]).all()
    assert [frame_value(f) for f in seq.frames] == [value_of(k) for k in (1, 2, 10)]
    with pytest.raises(InvalidBoxError, match="width and height must be > 0"):
        open_dataset(f"folder:{d}@1,2,0,4")
    with pytest.raises(InvalidBoxError, match="expected 4 numbers"):
        open_dataset(f"folder:{d}@1,2,3")
    with pytest.raises(InvalidBoxError, match="expected 4 numbers"):
        open_dataset(f"folder:{d}@1,2,x,4")
    with pytest.raises(DatasetError, match="image folder does not exist"):
        read_folder(tmp_path / "nope", (1, 1, 2, 2))
    (tmp_path / "noimages").mkdir()
    with pytest.raises(DatasetError, match="no image files"):
        read_folder(tmp_path / "noimages", (1, 1, 2, 2))


def _write_video(path: Path, n: int) -> bool:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (16, 16))
    if not writer.isOpened():
        return False
    for k in range(n):
        writer.write(np.full((16, 16, 3), 20 * k + 10, dtype=np.uint8))
    writer.release()
    return path.is_file() and path.stat().st_size > 0


def test_video_dataset_and_spec(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    if not _write_video(path, 5):
        pytest.skip("OpenCV cannot write MJPG/AVI here")
    ds = open_dataset(f"video:{path}@2,3,4,5")
    seq = ds.sequences[0]
    assert seq.name == "clip" and seq.init_box == (2.0, 3.0, 4.0, 5.0)
    frames = list(seq.frames)
    assert len(frames) == 5 and seq.ground_truth.shape == (len(seq), 4)
    assert [frame_value(f) for f in frames] == pytest.approx([10, 30, 50, 70, 90], abs=3)
    with pytest.raises(FrameError, match="does not exist"):
        read_video(tmp_path / "none.mp4", (1, 1, 2, 2))
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(FrameError):
        open_dataset(f"video:{tmp_path / 'junk.mp4'}@1,1,2,2")
