"""The got10k-style Experiment API, the per-sequence view and ``fastcf show``."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

import runner_fixtures as fx
from fastcf.cli.main import main
from fastcf.errors import ConfigError, DatasetError
from fastcf.evaluation import Experiment
from fastcf.registry import get_config


@pytest.fixture(autouse=True)
def _fakes() -> None:
    fx.register_fakes()


def test_experiment_run_and_report(tmp_path: Path) -> None:
    root = tmp_path / "otb"
    for name, x0 in (("S1", 10), ("S2", 16)):
        fx.write_otb_sequence(root, name, frames=6, x0=x0)
    exp = Experiment(f"otb:{root}", results=tmp_path / "results", reports=tmp_path / "rep")
    assert exp.results_dir == tmp_path / "results" / "otb"
    first = exp.run("test-fake")
    assert [o.status for o in first.outcomes] == ["done", "done"]
    exp.run("test-fake", tag="half", step=0.5)  # keyword overrides of config fields
    mine = fx.FakeTracker(get_config("test-fake", step=2.0))
    mine.name = "mine"
    exp.run(mine)  # any object with init / update, in this process
    again = exp.run("test-fake")
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    with pytest.raises(ConfigError, match="other settings"):
        exp.run("test-fake", step=3.0)
    report = exp.report(["test-fake", "test-fake_half", "mine"], per_sequence=True)
    assert (tmp_path / "rep" / "otb" / "report.md").is_file()
    assert (tmp_path / "rep" / "otb" / "per_sequence.png").is_file()
    fast, half = report.tracker("test-fake"), report.tracker("test-fake_half")
    assert fast.curves.auc > half.curves.auc  # the fake moves 1 px/frame; the target 2 px
    assert fast.speed.throughput_fps > 0 and not fast.mixed_settings
    data = json.loads((tmp_path / "rep" / "otb" / "report.json").read_text())
    assert set(data["trackers"]) == {"test-fake", "test-fake_half", "mine"}
    shown = exp.show("S2", trackers=["test-fake", "mine"])
    assert shown.path.suffix == ".mp4" and shown.frames == 6
    assert shown.trackers == ["test-fake", "mine"]
    with pytest.raises(ConfigError, match="this process only"):
        Experiment(f"otb:{root}", results=tmp_path / "results", workers=2).run(mine)


def test_report_per_sequence_cli(tmp_path: Path, capsys) -> None:
    root = tmp_path / "otb"
    for name in ("S1", "S2", "S3"):
        fx.write_otb_sequence(root, name, frames=5)
    res, out = str(tmp_path / "r"), str(tmp_path / "o")
    assert main(["eval", f"otb:{root}", "--trackers", "test-fake,opencv-mosse", "--results",
                 res, "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    rc = main(["report", "--dataset", f"otb:{root}", "--results", res, "--out", out,
               "--per-sequence"])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0 and "AUC per sequence:" in text
    rows = [line.split() for line in text.splitlines() if line.startswith(("S1 ", "S2 ", "S3 "))]
    assert len(rows) == 3 and all(len(r) == 3 for r in rows)
    for ext in ("png", "svg"):
        assert (tmp_path / "o" / "otb" / f"per_sequence.{ext}").stat().st_size > 1000


def test_show_writes_mp4_and_gif(tmp_path: Path, capsys) -> None:
    root = tmp_path / "otb"
    fx.write_otb_sequence(root, "S1", frames=7, size=(96, 64))
    res = tmp_path / "r"
    assert main(["eval", f"otb:{root}", "--trackers", "test-fake,opencv-kcf", "--results",
                 str(res), "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    # the dataset is the one recorded with the results
    mp4 = tmp_path / "s.mp4"
    assert main(["show", str(res / "otb"), "S1", "--out", str(mp4)]) == 0
    assert "opencv-kcf, test-fake" in capsys.readouterr().out
    cap = cv2.VideoCapture(str(mp4))
    ok, frame = cap.read()
    assert ok and frame.shape[:2] == (64, 96)
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 7
    cap.release()
    gif = tmp_path / "s.gif"
    args = ["show", str(res), "S1", "--dataset", f"otb:{root}", "--out", str(gif)]
    assert main([*args, "--max-frames", "4"]) == 0
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames == 4
    assert main(["show", str(res / "otb"), "S1", "--out", str(tmp_path / "x.avi")]) == 2
    assert ".mp4 or .gif" in capsys.readouterr().err
    assert main(["show", str(res / "otb"), "Nope", "--dataset", f"otb:{root}"]) == 2
    with pytest.raises(DatasetError):
        from fastcf.evaluation.show import results_dir_for

        results_dir_for(tmp_path / "missing", None)
