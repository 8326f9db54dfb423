"""Evaluation you can trust (issue 13): one regression test per problem found, on synthetic
OTB-layout folders the tests build, plus resume / interrupt / one-field-change behaviour."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import runner_fixtures as fx
from fastcf.cli.main import main
from fastcf.datasets import open_dataset
from fastcf.errors import ConfigError
from fastcf.evaluation.identity import file_sha256, identify
from fastcf.evaluation.report import build_report, score_results
from fastcf.evaluation.runner import run_experiment
from fastcf.io.results import read_boxes, read_json, result_paths, write_result


@pytest.fixture(autouse=True)
def _fakes() -> None:
    fx.register_fakes()
    fx.CALLS.clear()
    fx.INTERRUPT_WIDTH.clear()


def _eval(*args: str) -> int:
    return main(["eval", *args, "--quiet"])


# --- 1. results are keyed by the dataset, not by its layout ------------------------------


def test_two_folders_keep_their_own_results(tmp_path: Path, capsys) -> None:
    fx.write_otb_sequence(tmp_path / "setA", "Dog", frames=9)
    fx.write_otb_sequence(tmp_path / "setB", "Dog", frames=5, x0=20)
    res = tmp_path / "results"
    for folder in ("setA", "setB"):
        spec = f"otb:{tmp_path / folder}"
        assert _eval(spec, "--trackers", "test-fake", "--results", str(res)) == 0
    assert "results in " + str(res / "setB") in capsys.readouterr().out
    # one results folder per dataset folder, none named after the layout
    assert sorted(p.name for p in res.iterdir()) == ["setA", "setB"]
    assert len(read_boxes(res / "setA" / "test-fake" / "Dog.txt")) == 9
    assert len(read_boxes(res / "setB" / "test-fake" / "Dog.txt")) == 5
    out = tmp_path / "rep"
    rc = main(["report", "--dataset", f"otb:{tmp_path / 'setB'}", "--results", str(res),
               "--out", str(out)])  # fmt: skip
    assert rc == 0
    data = json.loads((out / "setB" / "report.json").read_text())
    assert data["trackers"]["test-fake"]["sequences"]["Dog"]["status"] == "ok"
    assert data["layout"] == "OTB" and data["dataset"] == "setB"


def test_same_folder_name_is_refused_and_name_keeps_apart(tmp_path: Path, capsys) -> None:
    fx.write_otb_sequence(tmp_path / "x" / "data", "Dog", frames=9)
    fx.write_otb_sequence(tmp_path / "y" / "data", "Dog", frames=5, x0=20)
    res = str(tmp_path / "results")
    assert _eval(f"otb:{tmp_path / 'x' / 'data'}", "--trackers", "test-fake", "--results", res) == 0
    capsys.readouterr()
    # another "data/Dog" (5 frames): its results would overwrite the 9-frame ones
    rc = _eval(f"otb:{tmp_path / 'y' / 'data'}", "--trackers", "test-fake", "--results", res)
    err = capsys.readouterr().err
    assert rc == 2 and "another sequence" in err and "--name" in err
    assert len(read_boxes(Path(res) / "data" / "test-fake" / "Dog.txt")) == 9  # untouched
    rc = _eval(
        f"otb:{tmp_path / 'y' / 'data'}", "--trackers", "test-fake", "--results", res,
        "--name", "data-y",
    )  # fmt: skip
    assert rc == 0 and len(read_boxes(Path(res) / "data-y" / "test-fake" / "Dog.txt")) == 5


def test_report_flags_a_result_of_another_sequence(tmp_path: Path, capsys) -> None:
    """A 9-box result recorded for a 9-frame Dog, scored against a 5-frame Dog: mismatch."""
    fx.write_otb_sequence(tmp_path / "x" / "data", "Dog", frames=9)
    res = tmp_path / "results"
    assert _eval(f"otb:{tmp_path / 'x' / 'data'}", "--trackers", "test-fake", "--results",
                 str(res)) == 0  # fmt: skip
    fx.write_otb_sequence(tmp_path / "y" / "data", "Dog", frames=5, x0=20)
    capsys.readouterr()
    rc = main(["report", "--dataset", f"otb:{tmp_path / 'y' / 'data'}", "--results", str(res),
               "--out", str(tmp_path / "rep")])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 0
    assert "warning" in captured.err and "9 frames" in captured.err and "--name" in captured.err
    data = json.loads((tmp_path / "rep" / "data" / "report.json").read_text())
    entry = data["trackers"]["test-fake"]["sequences"]["Dog"]
    assert entry["status"] == "mismatch" and "auc" not in entry
    assert data["trackers"]["test-fake"]["overall"]["failed"] == {"Dog": "mismatch"}
    # a longer foreign result (no meta) is truncated, and that is flagged too
    folder = tmp_path / "y" / "data"
    paths = result_paths(res, "data", "foreign", "Dog")
    write_result(paths, np.tile([11, 13, 14, 14], (8, 1)), np.full(8, 0.01))
    rep = score_results(res, open_dataset(f"otb:{folder}"), trackers=["foreign"])
    s = rep.tracker("foreign").by_sequence()["Dog"]
    assert s.status == "ok" and s.truncated_from == 8
    assert any("truncated from 8" in w for w in rep.warnings())


# --- 2. the settings are stored; other settings are never resumed silently --------------


def test_results_carry_config_fingerprint_version(tmp_path: Path) -> None:
    ds = fx.make_dataset(tmp_path / "data", ("A", "B"), frames=5)
    root = tmp_path / "r"
    s = run_experiment(["test-fake"], ds, root, overrides={"step": "0.5"}, quiet=True)
    fp = s.fingerprints["test-fake"]
    tdir = root / "synth" / "test-fake"
    stored = read_json(tdir / "configs" / f"{fp}.json")
    assert stored is not None and stored["fingerprint"] == fp
    assert stored["config"]["step"] == 0.5 and stored["config"]["fail_at"] == -1
    assert stored["tracker_class"] == "runner_fixtures:FakeTracker"
    import fastcf

    assert stored["fastcf_version"] == fastcf.__version__
    meta = read_json(tdir / "meta" / "A.json")
    assert meta is not None and meta["fingerprint"] == fp and meta["frames"] == 5
    assert meta["fastcf_version"] == fastcf.__version__ and meta["dataset"] == "synth"


def test_fingerprint_covers_weights_by_content(tmp_path: Path) -> None:
    from fastcf.nets.shipped import shipped_student_paths

    feco = identify("feco")
    (student,) = [w for w in feco.weights if w["field"] == "shipped_student"]
    assert student["sha256"] == file_sha256(shipped_student_paths()[0])
    net = tmp_path / "net.mat"
    net.write_bytes(b"weights v1")
    a = identify("eco", {"cnn_path": str(net)})
    assert [w["sha256"] for w in a.weights] == [file_sha256(net)]
    assert a.config is not None and a.config["cnn_path"] == str(net)
    moved = tmp_path / "elsewhere.mat"
    shutil.copy(net, moved)
    assert identify("eco", {"cnn_path": str(moved)}).fingerprint == a.fingerprint
    net.write_bytes(b"weights v2")
    assert identify("eco", {"cnn_path": str(net)}).fingerprint != a.fingerprint
    assert identify("eco-hc").fingerprint != identify("eco-hc", {"cg_iter": 4}).fingerprint
    assert identify("eco-hc").fingerprint == identify("eco-hc").fingerprint


def test_changed_settings_are_refused_not_resumed(tmp_path: Path) -> None:
    ds = fx.make_dataset(tmp_path / "data", ("A", "B"), frames=5)
    root = tmp_path / "r"
    run_experiment(["test-fake"], ds, root, quiet=True)
    box_a = result_paths(root, "synth", "test-fake", "A").boxes
    before = box_a.read_bytes()
    fx.CALLS.clear()
    with pytest.raises(ConfigError, match=r"other settings.*step: 1\.0 -> 2\.0.*--no-resume"):
        run_experiment(["test-fake"], ds, root, overrides={"step": "2"}, quiet=True)
    assert fx.CALLS == [] and box_a.read_bytes() == before
    # --tag keeps both; resume=False overwrites
    s = run_experiment(["test-fake"], ds, root, overrides={"step": "2"}, tag="s2", quiet=True)
    assert [o.status for o in s.outcomes] == ["done", "done"]
    s = run_experiment(["test-fake"], ds, root, overrides={"step": "2"}, resume=False, quiet=True)
    assert [o.status for o in s.outcomes] == ["done", "done"] and box_a.read_bytes() != before
    # results without recorded settings (another tool) are not resumed either
    result_paths(root, "synth", "test-fake", "B").meta.unlink()
    with pytest.raises(ConfigError, match="no recorded settings"):
        run_experiment(["test-fake"], ds, root, overrides={"step": "2"}, quiet=True)


def test_changing_one_field_reruns_only_that_tracker(tmp_path: Path) -> None:
    ds = fx.make_dataset(tmp_path / "data", ("A", "B"), frames=5)
    root = tmp_path / "r"
    first = run_experiment(["test-fake", "test-fake-b"], ds, root, quiet=True)
    assert [o.status for o in first.outcomes] == ["done"] * 4
    b_bytes = result_paths(root, "synth", "test-fake-b", "A").boxes.read_bytes()
    change = {"test-fake:step": "3"}
    with pytest.raises(ConfigError) as err:
        run_experiment(["test-fake", "test-fake-b"], ds, root, overrides=change, quiet=True)
    assert "synth/test-fake " in str(err.value) and "test-fake-b" not in str(err.value)
    fx.CALLS.clear()
    again = run_experiment(
        ["test-fake", "test-fake-b"], ds, root, overrides=change, overwrite_changed=True,
        quiet=True,
    )  # fmt: skip
    status = {(o.tracker, o.sequence): o.status for o in again.outcomes}
    assert status == {
        ("test-fake", "A"): "done",
        ("test-fake", "B"): "done",
        ("test-fake-b", "A"): "skipped",
        ("test-fake-b", "B"): "skipped",
    }
    assert len(fx.CALLS) == 2
    assert result_paths(root, "synth", "test-fake-b", "A").boxes.read_bytes() == b_bytes
    x = read_boxes(result_paths(root, "synth", "test-fake", "A").boxes)[:, 0]
    np.testing.assert_allclose(np.diff(x), 3.0)


def test_report_marks_mixed_settings(tmp_path: Path, capsys) -> None:
    ds = fx.make_dataset(tmp_path / "data", ("A", "B"), frames=5)
    root = tmp_path / "r"
    run_experiment(["test-fake", "test-fake-b"], ds, root, quiet=True)
    run_experiment(
        ["test-fake"], ds, root, overrides={"step": "2"}, sequences=["B"], resume=False,
        quiet=True,
    )  # fmt: skip
    rep = build_report(root, ds, out_dir=tmp_path / "rep")
    mixed = rep.tracker("test-fake")
    assert mixed.mixed_settings and sorted(map(len, mixed.fingerprints.values())) == [1, 1]
    assert not rep.tracker("test-fake-b").mixed_settings
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "| test-fake (mixed settings) |" in md and "**mixed settings**" in md
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["trackers"]["test-fake"]["overall"]["mixed_settings"] is True
    assert any("different settings" in w for w in data["warnings"])


# --- 3. no ground truth, NaN frames ------------------------------------------------------


def test_video_and_folder_specs_have_no_ground_truth(tmp_path: Path, capsys) -> None:
    folder = fx.write_otb_sequence(tmp_path, "clip", frames=6) / "img"
    res = tmp_path / "results"
    spec = f"folder:{folder}@11,13,14,14"
    assert _eval(spec, "--trackers", "test-fake", "--results", str(res)) == 0
    capsys.readouterr()
    rc = main(["report", "--dataset", spec, "--results", str(res), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert rc == 0 and "n/a" in captured.out and "no ground truth" in captured.err
    data = json.loads((tmp_path / "o" / "img" / "report.json").read_text())
    t = data["trackers"]["test-fake"]
    assert t["overall"]["auc"] is None and t["overall"]["precision_20"] is None
    seq = t["sequences"]["img"]
    assert seq["status"] == "no ground truth" and "auc" not in seq
    assert t["overall"]["speed"]["throughput_fps"] > 0  # speed is still reported
    assert data["no_ground_truth"] == ["img"]
    assert not (tmp_path / "o" / "img" / "success.png").exists()  # no accuracy plot


def test_nan_frames_are_excluded_and_counted(tmp_path: Path, capsys) -> None:
    fx.write_otb_sequence(tmp_path / "d", "Seq", frames=8, nan_rows=(3, 4, 5))
    res = tmp_path / "results"
    spec = f"otb:{tmp_path / 'd'}"
    assert _eval(spec, "--trackers", "test-fake", "--results", str(res)) == 0
    capsys.readouterr()
    assert main(["report", "--dataset", spec, "--results", str(res), "--out",
                 str(tmp_path / "o")]) == 0  # fmt: skip
    assert "3 frames without ground truth" in capsys.readouterr().out
    data = json.loads((tmp_path / "o" / "d" / "report.json").read_text())
    assert data["excluded_frames"] == {"Seq": 3}
    md = (tmp_path / "o" / "d" / "report.md").read_text()
    assert "3 frames whose ground truth is unknown (NaN) or absent are excluded" in md
    # the score counts only the 5 frames with ground truth
    from fastcf.metrics import score_sequence

    ds = open_dataset(spec)
    boxes = read_boxes(res / "d" / "test-fake" / "Seq.txt")
    boxes[:, :2] -= 1
    want = score_sequence(boxes, ds["Seq"].ground_truth)
    assert want.scored.sum() == 5
    assert data["trackers"]["test-fake"]["sequences"]["Seq"]["auc"] == pytest.approx(want.auc)


# --- 4. one bad sequence fails alone; subsets are applied before reading ----------------


def _broken_folder(tmp_path: Path) -> Path:
    root = tmp_path / "d"
    fx.write_otb_sequence(root, "Good1", frames=5)
    fx.write_otb_sequence(root, "Bad", frames=4, gt_rows=7)  # 7 rows for 4 images
    fx.write_otb_sequence(root, "Good2", frames=5, x0=14)
    return root


def test_broken_sequence_fails_alone_in_eval_report_bench(tmp_path: Path, capsys) -> None:
    root = _broken_folder(tmp_path)
    spec, res = f"otb:{root}", str(tmp_path / "results")
    assert _eval(spec, "--trackers", "test-fake", "--results", res) == 1
    captured = capsys.readouterr()
    assert "test-fake / Bad" in captured.err and "7" in captured.err
    assert (Path(res) / "d" / "test-fake" / "Good1.txt").exists()
    assert (Path(res) / "d" / "test-fake" / "Good2.txt").exists()
    assert main(["report", "--dataset", spec, "--results", res, "--out",
                 str(tmp_path / "o")]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "Bad cannot be read" in captured.err
    data = json.loads((tmp_path / "o" / "d" / "report.json").read_text())
    assert "Bad" in data["unreadable_sequences"] and data["sequences"] == ["Good1", "Good2"]
    rc = main(["bench", spec, "--trackers", "test-fake", "--in-process", "--quiet"])
    captured = capsys.readouterr()
    assert rc == 1 and "test-fake / Bad" in captured.err
    assert "| test-fake | Good1 |" in captured.out and "| test-fake | Good2 |" in captured.out


def test_subset_is_applied_before_reading(tmp_path: Path, capsys) -> None:
    root = _broken_folder(tmp_path)
    ds = open_dataset(f"otb:{root}", sequences=["Good2"])
    assert ds.names() == ["Good2"] and ds.broken == {}  # Bad was never read
    res = str(tmp_path / "results")
    args = ["--trackers", "test-fake", "--results", res, "--sequences", "Good1,Good2"]
    assert _eval(f"otb:{root}", *args) == 0
    assert main(["report", "--dataset", f"otb:{root}", "--results", res, "--sequences",
                 "Good1", "--out", str(tmp_path / "o")]) == 0  # fmt: skip
    assert main(["bench", f"otb:{root}", "--trackers", "test-fake", "--sequences", "Good2",
                 "--in-process", "--quiet"]) == 0  # fmt: skip
    assert "Bad" not in capsys.readouterr().err


# --- 5. the failure column shows the error ----------------------------------------------


def test_failure_column_shows_the_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    from fastcf.datasets.base import Dataset

    ds = Dataset("synth", data, [fx.make_sequence(data, "W", size=(80, 48))])
    root = tmp_path / "r"
    run_experiment(
        ["test-fake"], ds, root, overrides={"fail_at": "3", "fail_when_width": "80"}, quiet=True
    )
    rep = build_report(root, ds, out_dir=tmp_path / "rep")
    (s,) = rep.tracker("test-fake").failed
    assert s.message == "frame 3: RuntimeError: synthetic failure at frame 3"
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "W: failed: frame 3: RuntimeError: synthetic failure at frame 3" in md
    assert "tracker: test-fake" not in md


# --- interrupting and resuming changes nothing ------------------------------------------


def test_interrupt_then_resume_gives_the_same_results(tmp_path: Path) -> None:
    data = tmp_path / "data"
    from fastcf.datasets.base import Dataset

    def dataset() -> Dataset:
        return Dataset(
            "synth",
            data,
            [
                fx.make_sequence(data, "A", 6),
                fx.make_sequence(data, "W", 6, size=(80, 48)),
                fx.make_sequence(data, "C", 6),
            ],
        )

    full = tmp_path / "full"
    run_experiment(["test-fake", "opencv-kcf"], dataset(), full, quiet=True)
    part = tmp_path / "part"
    fx.INTERRUPT_WIDTH.append(80)  # Ctrl-C on frame 2 of W
    with pytest.raises(KeyboardInterrupt):
        run_experiment(["test-fake", "opencv-kcf"], dataset(), part, quiet=True)
    fx.INTERRUPT_WIDTH.clear()
    assert result_paths(part, "synth", "test-fake", "A").boxes.exists()
    assert not result_paths(part, "synth", "test-fake", "W").boxes.exists()
    resumed = run_experiment(["test-fake", "opencv-kcf"], dataset(), part, quiet=True)
    status = [o.status for o in resumed.outcomes]
    assert status == ["skipped", "done", "done", "done", "done", "done"]
    for t in ("test-fake", "opencv-kcf"):
        for s in ("A", "W", "C"):
            a, b = result_paths(full, "synth", t, s), result_paths(part, "synth", t, s)
            assert a.boxes.read_bytes() == b.boxes.read_bytes()
            assert a.scores.read_bytes() == b.scores.read_bytes()
    ds = dataset()
    rf, rp = score_results(full, ds), score_results(part, ds)
    for t in ("test-fake", "opencv-kcf"):
        assert rf.tracker(t).curves.auc == rp.tracker(t).curves.auc
        assert rf.tracker(t).fingerprints.keys() == rp.tracker(t).fingerprints.keys()
