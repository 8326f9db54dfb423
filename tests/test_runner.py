"""The evaluation runner: result layout, resume, failures, parallel determinism, CLI."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import fastcf.datasets
import runner_fixtures as fx
from conftest import require
from fastcf.cli.main import main
from fastcf.datasets.base import Dataset
from fastcf.errors import ConfigError
from fastcf.evaluation.preflight import split_overrides
from fastcf.evaluation.runner import run_experiment, track_sequence
from fastcf.io.results import read_boxes, read_scores, read_times, result_paths

ENV_OMP = os.environ.get("OMP_NUM_THREADS")


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    return fx.make_dataset(tmp_path / "data", ("A", "B"), frames=6)


@pytest.fixture(autouse=True)
def _fakes() -> None:
    fx.register_fakes()
    fx.CALLS.clear()


def test_layout_with_opencv_trackers(tmp_path: Path, dataset: Dataset) -> None:
    root = tmp_path / "results"
    summary = run_experiment(["opencv-mosse", "opencv-kcf"], dataset, root, quiet=True)
    assert summary.ok and [o.status for o in summary.outcomes] == ["done"] * 4
    for tracker in ("opencv-mosse", "opencv-kcf"):
        for seq in dataset:
            p = result_paths(root, "synth", tracker, seq.name)
            boxes = read_boxes(p.boxes)
            assert boxes.shape == (6, 4)
            # frame 0 is the init box, written in the dataset's convention (B has offset 1)
            expected = np.array(seq.ground_truth[0]) + [seq.offset, seq.offset, 0, 0]
            np.testing.assert_allclose(boxes[0], expected)
            assert np.all(np.isfinite(boxes))
            times = read_times(p.times)
            assert times.shape == (6,) and np.all(times > 0)
            oks, scores = read_scores(p.scores)
            assert oks.shape == (6,) and scores.shape == (6,)
            assert not p.error.exists()
    # the moving square (2 px/frame) is followed by KCF on this easy clip
    kcf = read_boxes(result_paths(root, "synth", "opencv-kcf", "A").boxes)
    assert kcf[-1, 0] - kcf[0, 0] == pytest.approx(10, abs=2)
    # decode time is measured separately and reported in the summary
    row = summary.by_tracker()["opencv-kcf"]
    assert row["done"] == 2 and row["frames"] == 12
    assert row["speed"].decode_ms > 0 and row["speed"].throughput_fps > 0
    assert all(o.decode_seconds > 0 and o.init_seconds > 0 for o in summary.outcomes)
    # throughput = frames / tracking time (init included), per sequence, mean over sequences
    per_seq = [o.frames / o.track_seconds for o in summary.outcomes if o.tracker == "opencv-kcf"]
    assert row["speed"].throughput_fps == pytest.approx(np.mean(per_seq), rel=1e-12)


def test_boxes_and_times_match_fake_tracker(tmp_path: Path, dataset: Dataset) -> None:
    root = tmp_path / "r"
    run_experiment(["test-fake"], dataset, root, overrides={"step": "0.5"}, quiet=True)
    for seq in dataset:
        boxes = read_boxes(result_paths(root, "synth", "test-fake", seq.name).boxes)
        x0, y0, w, h = seq.ground_truth[0]
        expected = [(x0 + 0.5 * i + seq.offset, y0 + seq.offset, w, h) for i in range(6)]
        np.testing.assert_allclose(boxes, expected)
        oks, scores = read_scores(result_paths(root, "synth", "test-fake", seq.name).scores)
        assert oks.all() and scores[0] == 1.0 and 0 < scores[1] < 1


def test_resume_skips_complete_sequences(tmp_path: Path, dataset: Dataset) -> None:
    root = tmp_path / "r"
    first = run_experiment(["test-fake"], dataset, root, quiet=True)
    assert [o.status for o in first.outcomes] == ["done", "done"] and len(fx.CALLS) == 2
    box_a = result_paths(root, "synth", "test-fake", "A").boxes
    mtime = box_a.stat().st_mtime_ns

    fx.CALLS.clear()
    again = run_experiment(["test-fake"], dataset, root, quiet=True)
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"] and fx.CALLS == []
    assert box_a.stat().st_mtime_ns == mtime

    # a truncated result is not complete: only that sequence runs again
    box_b = result_paths(root, "synth", "test-fake", "B").boxes
    box_b.write_text("".join(box_b.read_text().splitlines(keepends=True)[:3]))
    again = run_experiment(["test-fake"], dataset, root, quiet=True)
    assert [o.status for o in again.outcomes] == ["skipped", "done"] and len(fx.CALLS) == 1
    assert len(read_boxes(box_b)) == 6

    fx.CALLS.clear()
    forced = run_experiment(["test-fake"], dataset, root, resume=False, quiet=True)
    assert [o.status for o in forced.outcomes] == ["done", "done"] and len(fx.CALLS) == 2


def test_failure_is_recorded_and_others_finish(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seqs = [fx.make_sequence(data, "ok1"), fx.make_sequence(data, "bad", size=(80, 48))]
    seqs.append(fx.make_sequence(data, "ok2"))
    ds = Dataset("synth", data, seqs)
    root = tmp_path / "r"
    # a stale complete result of the failing sequence must not survive a failed re-run
    stale = result_paths(root, "synth", "test-fake", "bad")
    stale.boxes.parent.mkdir(parents=True)
    stale.boxes.write_text("1,1,1,1\n")
    overrides = {"fail_at": "3", "fail_when_width": "80"}
    summary = run_experiment(["test-fake"], ds, root, overrides=overrides, quiet=True)
    assert [o.status for o in summary.outcomes] == ["done", "failed", "done"]
    (failed,) = summary.failed
    assert failed.sequence == "bad" and failed.error_frame == 3 and failed.frames == 3
    assert "synthetic failure at frame 3" in failed.error
    text = stale.error.read_text()
    assert "frame: 3" in text and "RuntimeError: synthetic failure at frame 3" in text
    assert "Traceback" in text and not stale.boxes.exists()
    # ok sequences are complete; a later successful run (same settings, the bad sequence's
    # frames fixed) runs only the failed sequence and removes the error file
    assert len(read_boxes(result_paths(root, "synth", "test-fake", "ok2").boxes)) == 6
    fx.make_sequence(data, "bad")  # same frames, now 64 px wide: no synthetic failure
    rerun = run_experiment(["test-fake"], ds, root, overrides=overrides, quiet=True)
    assert [o.status for o in rerun.outcomes] == ["skipped", "done", "skipped"]
    assert not stale.error.exists()


def test_unreadable_frame_is_recorded_with_its_index(tmp_path: Path) -> None:
    seq = fx.make_sequence(tmp_path / "data", "corrupt", frames=5)
    seq.frames.paths[2].write_bytes(b"not a jpeg")  # type: ignore[attr-defined]
    ds = Dataset("synth", tmp_path / "data", [seq])
    summary = run_experiment(["opencv-mosse"], ds, tmp_path / "r", quiet=True)
    (failed,) = summary.failed
    assert failed.error_frame == 2 and failed.error.startswith("FrameError")


def test_workers_two_identical_to_one(tmp_path: Path) -> None:
    ds = fx.make_dataset(tmp_path / "data", ("A", "B", "C"), frames=5)
    trackers = ["opencv-kcf", "test-fake"]  # test-fake is user-registered: re-registered
    one = run_experiment(trackers, ds, tmp_path / "w1", workers=1, quiet=True)
    two = run_experiment(trackers, ds, tmp_path / "w2", workers=2, quiet=True)
    assert one.ok and two.ok
    assert [(o.tracker, o.sequence, o.status) for o in one.outcomes] == [
        (o.tracker, o.sequence, o.status) for o in two.outcomes
    ]
    for tracker in trackers:
        for name in ds.names():
            a = result_paths(tmp_path / "w1", "synth", tracker, name)
            b = result_paths(tmp_path / "w2", "synth", tracker, name)
            assert a.boxes.read_bytes() == b.boxes.read_bytes()
            assert a.scores.read_bytes() == b.scores.read_bytes()
            assert len(read_times(b.times)) == 5


def test_workers_are_separate_single_thread_processes(tmp_path: Path) -> None:
    fx.register_probe()
    ds = fx.make_dataset(tmp_path / "data", ("A", "B"), frames=3)
    root = tmp_path / "r"
    run_experiment(["test-probe"], ds, root, workers=2, quiet=True)
    pids = set()
    for seq in ds:
        p = result_paths(root, "synth", "test-probe", seq.name)
        _, scores = read_scores(p.scores)
        assert list(scores[1:]) == [1001.0, 1001.0]  # cv2 1 thread, OMP_NUM_THREADS=1
        pids.add(read_boxes(p.boxes)[1, 0] - seq.offset)
    assert os.getpid() not in pids
    # the parent's environment is restored after the workers started
    assert os.environ.get("OMP_NUM_THREADS") == ENV_OMP
    # in-process: OpenCV limited to one thread during the run, restored afterwards
    import cv2

    before = cv2.getNumThreads()
    run_experiment(["test-probe"], ds, tmp_path / "r1", quiet=True)
    _, scores = read_scores(result_paths(tmp_path / "r1", "synth", "test-probe", "A").scores)
    assert scores[1] // 1000 == 1 and cv2.getNumThreads() == before


def test_worker_failure_isolated_in_parallel(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ds = Dataset(
        "synth", data, [fx.make_sequence(data, "bad", size=(80, 48)), fx.make_sequence(data, "A")]
    )
    overrides = {"fail_at": "2", "fail_when_width": "80"}
    s = run_experiment(
        ["test-fake"], ds, tmp_path / "r", workers=2, overrides=overrides, quiet=True
    )
    assert [(o.sequence, o.status, o.error_frame) for o in s.outcomes] == [
        ("bad", "failed", 2),
        ("A", "done", None),
    ]


def test_track_sequence_init_box_and_timing(tmp_path: Path) -> None:
    seq = fx.make_sequence(tmp_path, "S", frames=4)
    from fastcf.registry import create

    ticks: list[tuple[int, float]] = []
    track = track_sequence(create("test-fake"), seq, lambda n, s: ticks.append((n, s)))
    assert track.boxes.shape == (4, 4) and tuple(track.boxes[0]) == seq.init_box
    assert len(ticks) == 4 and sum(n for n, _ in ticks) == 4
    np.testing.assert_allclose([s for _, s in ticks], track.times)
    assert np.all(track.decode_times > 0)


def test_bad_arguments(tmp_path: Path, dataset: Dataset) -> None:
    with pytest.raises(ConfigError, match="unknown tracker"):
        run_experiment(["nope"], dataset, tmp_path, quiet=True)
    with pytest.raises(ConfigError, match="no field 'bogus'"):
        run_experiment(["test-fake"], dataset, tmp_path, overrides={"bogus": 1}, quiet=True)
    with pytest.raises(ConfigError, match="executor"):
        run_experiment(["test-fake"], dataset, tmp_path, executor="dask", quiet=True)
    with pytest.raises(ConfigError, match="workers"):
        run_experiment(["test-fake"], dataset, tmp_path, workers=0, quiet=True)
    with pytest.raises(ConfigError, match="not among"):
        split_overrides(["a"], {"b:step": 1})
    assert split_overrides(["a", "b"], {"step": 1, "b:fail_at": 2}) == {
        "a": {"step": 1},
        "b": {"step": 1, "fail_at": 2},
    }
    assert not (tmp_path / "synth").exists()


def test_tag_and_sequence_subset(tmp_path: Path, dataset: Dataset) -> None:
    s = run_experiment(["test-fake"], dataset, tmp_path, sequences=["B"], tag="x", quiet=True)
    assert [(o.tracker, o.sequence) for o in s.outcomes] == [("test-fake_x", "B")]
    assert (tmp_path / "synth" / "test-fake_x" / "B.txt").exists()
    assert not (tmp_path / "synth" / "test-fake_x" / "A.txt").exists()


def test_cli_eval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    data = tmp_path / "data"
    ds = Dataset(
        "synth", data, [fx.make_sequence(data, "A"), fx.make_sequence(data, "bad", size=(80, 48))]
    )
    specs: list[str] = []

    def fake_open(spec: str, **kw: object) -> Dataset:
        specs.append(spec)
        return ds

    monkeypatch.setattr(fastcf.datasets, "open_dataset", fake_open, raising=False)
    root = tmp_path / "r"
    args = ["eval", "synth:/x", "--trackers", "test-fake", "--results", str(root), "--quiet"]
    sets = ["--set", "fail_at=1", "--set", "fail_when_width=80"]
    rc = main([*args, *sets])
    out = capsys.readouterr()
    assert rc == 1 and specs == ["synth:/x"]
    assert "test-fake / bad at frame 1" in out.err and "RuntimeError" in out.err
    assert "test-fake" in out.out and "throughput" in out.out
    assert main([*args, "--sequences", "A", *sets]) == 0  # resumed: same settings
    # other settings: refused with one line saying what to do, nothing run
    assert main([*args, "--sequences", "A"]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "--no-resume" in err and "--tag" in err
    assert len(err.strip().splitlines()) == 1
    assert main([*args, "--sequences", "A", "--overwrite-changed"]) == 0
    assert main([*args, "--set", "nokey"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


@pytest.mark.skipif(
    os.environ.get("FASTCF_SKIP_RAY") == "1", reason="FASTCF_SKIP_RAY=1 set by the user"
)
def test_ray_executor_matches_local(tmp_path: Path, dataset: Dataset) -> None:
    require("ray", reason="Ray is not installed (pip install 'fastcf[ray]')")
    local = run_experiment(["opencv-mosse"], dataset, tmp_path / "local", quiet=True)
    ray_run = run_experiment(
        ["opencv-mosse"], dataset, tmp_path / "ray", executor="ray", workers=1, quiet=True
    )
    assert local.ok and ray_run.ok
    for name in dataset.names():
        a = result_paths(tmp_path / "local", "synth", "opencv-mosse", name)
        b = result_paths(tmp_path / "ray", "synth", "opencv-mosse", name)
        assert a.boxes.read_bytes() == b.boxes.read_bytes()


def test_eval_cli_on_real_otb_sequences(tmp_path: Path, capsys) -> None:
    from conftest import shared_path

    seqs = shared_path("sequences")
    root = tmp_path / "r"
    args = ["eval", f"otb:{seqs}", "--trackers", "opencv-mosse", "--results", str(root)]
    assert main([*args, "--sequences", "Girl,Crossing", "--workers", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "opencv-mosse" in out
    (ds_dir,) = list(root.iterdir())
    for name, frames in (("Girl", 500), ("Crossing", 120)):
        boxes = read_boxes(ds_dir / "opencv-mosse" / f"{name}.txt")
        gt = read_boxes(seqs / name / "groundtruth_rect.txt")
        assert boxes.shape == (frames, 4)
        # frame 0 is the init box, written back in OTB's 1-based convention unchanged
        np.testing.assert_allclose(boxes[0], gt[0])
        assert len(read_times(ds_dir / "opencv-mosse" / "times" / f"{name}_time.txt")) == frames
    # resume: nothing left to do
    assert main([*args, "--sequences", "Girl,Crossing", "--quiet"]) == 0
    assert "opencv-mosse                 0     2     0" in capsys.readouterr().out
