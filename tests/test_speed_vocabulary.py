"""One speed vocabulary (issue 11): eval, report, bench and track compute throughput,
latency, init and decode with the same code from the same per-frame times; ``--threads``
reaches every tracker."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import runner_fixtures as fx
from fastcf.cli.main import main
from fastcf.evaluation.bench import benchmark
from fastcf.evaluation.report import score_results
from fastcf.evaluation.runner import ExperimentSummary, SequenceOutcome, run_experiment
from fastcf.io.results import read_json, read_scores, read_times, result_paths


@pytest.fixture(autouse=True)
def _fakes() -> None:
    fx.register_fakes()
    fx.register_threads_probe()


def test_eval_and_report_give_the_same_speed(tmp_path: Path) -> None:
    ds = fx.make_dataset(tmp_path / "data", ("A", "B", "C"), frames=7)
    root = tmp_path / "r"
    summary = run_experiment(["opencv-kcf", "test-fake"], ds, root, quiet=True)
    report = score_results(root, ds)
    for t in ("opencv-kcf", "test-fake"):
        ev, rp = summary.speed(t), report.tracker(t).speed
        # the same times (written at full precision) give the same figures, exactly
        assert ev.throughput_fps == rp.throughput_fps
        assert ev.throughput_fps_pooled == rp.throughput_fps_pooled
        assert ev.latency_median_ms == rp.latency_median_ms
        assert ev.latency_p95_ms == rp.latency_p95_ms and ev.latency_max_ms == rp.latency_max_ms
        assert ev.init_ms_median == rp.init_ms_median
        assert ev.decode_ms == pytest.approx(rp.decode_ms, rel=1e-9)  # decode kept apart
        for o in summary.outcomes:
            if o.tracker == t:
                s = report.tracker(t).by_sequence()[o.sequence].speed
                assert o.speed.throughput_fps == s.throughput_fps == o.frames / o.track_seconds


def test_bench_report_and_eval_code_agree_on_bench_times(tmp_path: Path) -> None:
    ds = fx.make_dataset(tmp_path / "data", ("A", "B"), frames=6)
    root = tmp_path / "r"
    out = benchmark(
        ["opencv-mosse", "test-fake"], ds, fresh_process=False, quiet=True, results=root
    )
    assert out["results_dir"] == str(root / "synth")
    report = score_results(root, ds)
    for t in ("opencv-mosse", "test-fake"):
        b = out["results"][t]
        r = report.tracker(t)
        rd, bd = r.speed.to_dict(), dict(b["overall"])
        assert rd.pop("decode_ms") == pytest.approx(bd.pop("decode_ms"), rel=1e-9)
        assert rd == bd  # throughput, pooled, latency, init, frames: the same numbers
        assert b["overall"]["throughput_fps"] == r.speed.throughput_fps
        for seq, row in b["sequences"].items():
            assert row["throughput_fps"] == r.by_sequence()[seq].speed.throughput_fps
            assert row["latency_ms"] == r.by_sequence()[seq].speed.to_dict()["latency_ms"]
        # the runner's summary computes the same figure from the same times
        outcomes = []
        for seq in ds.names():
            times = read_times(result_paths(root, "synth", t, seq).times)
            outcomes.append(
                SequenceOutcome(
                    t, seq, "done", len(times), float(times[0]), float(times.sum()), times=times
                )  # fmt: skip
            )
        summary = ExperimentSummary("synth", root, outcomes)
        assert summary.speed(t).throughput_fps == b["overall"]["throughput_fps"]
        assert not r.failed  # scored like eval results
        meta = read_json(result_paths(root, "synth", t, "A").meta)
        assert meta is not None and meta["written_by"] == "bench"


def test_track_demo_prints_the_bench_vocabulary(tmp_path: Path, capsys) -> None:
    out = tmp_path / "o"
    rc = main(["track", "--demo", "--tracker", "eco-hc", "--max-frames", "12", "--quiet",
               "--out", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0
    assert "not single-thread enforced" not in text
    m = re.search(r"throughput ([\d.]+) FPS \(12 frames\), latency median [\d.]+ / p95 [\d.]+ / "
                  r"max [\d.]+ ms, init [\d.]+ ms", text)  # fmt: skip
    assert m, text
    ms = np.loadtxt(out / "track.csv", delimiter=",", skiprows=1)[:, 7]
    assert float(m.group(1)) == pytest.approx(12 / (ms.sum() / 1000), rel=0.01)
    assert "speed (1 thread(s))" in text


def test_threads_reach_every_tracker(tmp_path: Path) -> None:
    import cv2

    ds = fx.make_dataset(tmp_path / "data", ("A", "B"), frames=3)
    before = cv2.getNumThreads()
    root = tmp_path / "r"
    s = run_experiment(["test-threads", "test-fake"], ds, root, threads=2, quiet=True)
    assert s.ok and cv2.getNumThreads() == before
    _, scores = read_scores(result_paths(root, "synth", "test-threads", "A").scores)
    assert scores[1] // 1000 == 2  # the tracker computed on 2 OpenCV threads
    meta = read_json(result_paths(root, "synth", "test-threads", "A").meta)
    assert meta is not None and meta["threads"] == 2
    config = read_json(root / "synth" / "test-threads" / "configs" / f"{meta['fingerprint']}.json")
    assert config is not None and config["config"]["threads"] == 2
    # worker processes start with the thread environment of --threads
    w = run_experiment(["test-threads"], ds, tmp_path / "w", threads=2, workers=2, quiet=True)
    assert w.ok
    _, scores = read_scores(result_paths(tmp_path / "w", "synth", "test-threads", "B").scores)
    assert list(scores[1:]) == [2002.0, 2002.0]  # 2 OpenCV threads, OMP_NUM_THREADS=2
    # bench and track take it too
    out = benchmark(["test-threads"], ds, fresh_process=False, quiet=True, threads=2,
                    results=tmp_path / "b")  # fmt: skip
    assert out["protocol"]["threads"] == 2
    _, scores = read_scores(result_paths(tmp_path / "b", "synth", "test-threads", "A").scores)
    assert scores[1] // 1000 == 2
    folder = fx.write_otb_sequence(tmp_path / "clip", "c", frames=4) / "img"
    rc = main(["track", str(folder), "--box", "10,12,14,14", "--tracker", "test-threads",
               "--threads", "3", "--quiet", "--out", str(tmp_path / "t")])  # fmt: skip
    assert rc == 0
    rows = np.loadtxt(tmp_path / "t" / "track.csv", delimiter=",", skiprows=1)
    assert rows[1, 6] // 1000 == 3
    assert main(["eval", "synth:x", "--trackers", "test-fake", "--threads", "0"]) == 2
