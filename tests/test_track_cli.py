from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from fastcf.cli.main import main
from fastcf.demo import demo_clip
from fastcf.io.overlay import VideoSink
from fastcf.metrics import iou as box_iou


def _demo_folder(tmp_path: Path, n: int, name: str = "imgs") -> tuple[Path, np.ndarray]:
    """``n`` frames of the demo clip as 0000.jpg, 0001.jpg, ... and their boxes."""
    folder = tmp_path / name
    folder.mkdir()
    frames, gt = demo_clip(num_frames=n)
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), f)
    return folder, gt


def test_demo_clip_is_real_and_consistent():
    frames, boxes = demo_clip(num_frames=20)
    assert len(frames) == 20 and boxes.shape == (20, 4)
    assert frames[0].dtype == np.uint8 and frames[0].std() > 20  # real pixels, not blank
    assert np.all(boxes[:, 2:] > 50)
    # the face moves: the first and the middle boxes differ
    assert np.abs(boxes[10, :2] - boxes[0, :2]).max() > 10


def test_track_demo_writes_results(tmp_path, capsys):
    out = tmp_path / "out"
    video = tmp_path / "demo.mp4"
    rc = main(
        [
            "track",
            "--demo",
            "--max-frames",
            "40",
            "--quiet",
            "--out",
            str(out),
            "--video",
            str(video),
        ]
    )
    assert rc == 0
    boxes = np.loadtxt(out / "boxes.txt", delimiter=",")
    assert boxes.shape == (40, 4)
    _, gt = demo_clip()
    assert box_iou(boxes, gt[:40]).mean() > 0.6
    lines = (out / "track.csv").read_text().splitlines()
    assert lines[0] == "frame,x,y,w,h,ok,score,tracker_ms" and len(lines) == 41
    cap = cv2.VideoCapture(str(video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 40
    cap.release()
    assert "demo ground truth: mean IoU" in capsys.readouterr().out


def _write_video(path: Path, frames) -> None:
    sink = VideoSink(path)
    for f in frames:
        sink.write(f)
    sink.close()


def test_track_video_and_folder(tmp_path):
    frames, gt = demo_clip()
    frames, gt = frames[:15], gt[:15]
    video = tmp_path / "clip.mp4"
    _write_video(video, frames)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"{i + 1}.jpg"), f)
    box = ",".join(f"{v:.1f}" for v in gt[0])
    for src, name in ((video, "v"), (folder, "f")):
        rc = main(
            [
                "track",
                str(src),
                "--box",
                box,
                "--quiet",
                "--out",
                str(tmp_path / name),
                "--tracker",
                "opencv-kcf",
            ]
        )
        assert rc == 0
        boxes = np.loadtxt(tmp_path / name / "boxes.txt", delimiter=",")
        assert boxes.shape == (15, 4)
        assert box_iou(boxes, gt).mean() > 0.5


def test_track_bad_input_is_a_clear_error(tmp_path, capsys):
    assert main(["track", str(tmp_path / "missing.mp4"), "--box", "1,2,3,4"]) == 2
    assert "missing.mp4: no such video file" in capsys.readouterr().err
    assert main(["track", "--demo", "--box", "1,2,0,4"]) == 2
    assert "width and height must be > 0" in capsys.readouterr().err
    assert main(["track", "--demo", "--tracker", "nope"]) == 2
    assert "unknown tracker 'nope'" in capsys.readouterr().err
    folder, _ = _demo_folder(tmp_path, 3, "bad")
    (folder / "0001.jpg").write_bytes(b"not a jpeg")
    assert (
        main(
            [
                "track",
                str(folder),
                "--box",
                "250,110,120,130",
                "--quiet",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "frame 1" in err and "0001.jpg" in err and "cannot decode" in err
    assert main(["track", str(folder)]) == 2  # no box, no display
    assert "--box" in capsys.readouterr().err


# --- boxes survive Ctrl-C and crashes; negative boxes (issue 13, problems 6 and 7) ---------


class _InterruptedSource:
    """Yields ``n`` frames, then raises KeyboardInterrupt (what Ctrl-C does mid-camera)."""

    description = "interrupted source"

    def __init__(self, frames, n: int) -> None:
        self.frames, self.n = frames, n

    def __len__(self) -> int:
        return 0

    def __iter__(self):
        yield from self.frames[: self.n]
        raise KeyboardInterrupt


def test_ctrl_c_keeps_every_box_so_far(tmp_path, monkeypatch, capsys):
    import fastcf.io.frames

    frames, gt = demo_clip(num_frames=12)
    monkeypatch.setattr(
        fastcf.io.frames, "open_source", lambda src, n=None: _InterruptedSource(frames, 7)
    )
    out = tmp_path / "out"
    box = ",".join(f"{v:.1f}" for v in gt[0])
    rc = main(["track", "0", "--box", box, "--tracker", "opencv-kcf", "--quiet",
               "--out", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 130 and "tracked 7 frames" in text and "(interrupted)" in text
    assert np.loadtxt(out / "boxes.txt", delimiter=",").shape == (7, 4)
    assert len((out / "track.csv").read_text().splitlines()) == 8


def test_a_crash_keeps_every_box_so_far(tmp_path, capsys):
    folder, gt = _demo_folder(tmp_path, 8)
    (folder / "0005.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "o"
    box = ",".join(f"{v:.1f}" for v in gt[0])
    rc = main(["track", str(folder), "--box", box, "--tracker", "opencv-kcf", "--quiet",
               "--out", str(out)])  # fmt: skip
    assert rc == 2 and "frame 5" in capsys.readouterr().err
    assert np.loadtxt(out / "boxes.txt", delimiter=",").shape == (5, 4)
    assert len((out / "track.csv").read_text().splitlines()) == 6


def test_negative_box_forms(tmp_path, capsys):
    folder, _ = _demo_folder(tmp_path, 3)
    forms = (["--box", "-10,20,150,150"], ["--box", "-10", "20", "150", "150"],
             ["--box=-10,20,150,150"], ["--box", "-10, 20, 150, 150"])  # fmt: skip
    for i, form in enumerate(forms):
        out = tmp_path / f"o{i}"
        rc = main(["track", str(folder), *form, "--tracker", "opencv-mosse", "--quiet",
                   "--out", str(out)])  # fmt: skip
        assert rc == 0, (form, capsys.readouterr().err)
        first = (out / "boxes.txt").read_text().splitlines()[0]
        assert first == "-10.000,20.000,150.000,150.000"
    assert main(["track", str(folder), "--box", "-10", "20", "150", "--quiet"]) == 2
    assert "4 numbers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["track", "--help"])
    assert "--box -10,20,50,50" in capsys.readouterr().out.replace("\n", " ").replace("  ", " ")


def test_a_refused_box_leaves_no_files(tmp_path, capsys):
    # the tracker refuses the first box (entirely outside the frame): a clear error, and no
    # header-only track.csv / empty boxes.txt that would look like a run
    folder, _ = _demo_folder(tmp_path, 3)
    out = tmp_path / "out"
    rc = main(["track", str(folder), "--box", "5000,5000,40,40", "--tracker", "eco-hc",
               "--quiet", "--out", str(out)])  # fmt: skip
    assert rc == 2 and "box" in capsys.readouterr().err
    assert not (out / "track.csv").exists() and not (out / "boxes.txt").exists()
