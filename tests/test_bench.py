"""The speed protocol: output keys, thread limits, decoding excluded, errors, CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import fastcf.datasets
import runner_fixtures as fx
from fastcf.cli.main import main
from fastcf.datasets.base import Dataset
from fastcf.errors import ConfigError
from fastcf.evaluation.bench import benchmark, cpu_model, save, to_markdown
from fastcf.evaluation.threads import (
    THREAD_ENV_VARS,
    check_single_thread,
    effective_threads,
    single_thread_env,
)


@pytest.fixture(autouse=True)
def _fakes() -> None:
    fx.register_fakes()


def test_fresh_process_output_keys_and_threads(tmp_path: Path) -> None:
    ds = fx.make_dataset(tmp_path / "data", ("A", "B"), frames=5)
    env_before = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    out = benchmark(["opencv-mosse", "test-fake"], ds, quiet=True)
    assert set(out) >= {"dataset", "protocol", "machine", "threads", "thread_problems"}
    assert set(out) >= {"decode", "results", "errors", "wall_seconds"}
    assert out["protocol"]["fresh_process"] is True and out["protocol"]["threads"] == 1
    m = out["machine"]
    for key in ("cpu_model", "logical_cores", "python", "numpy", "torch", "opencv", "date"):
        assert m[key], key
    assert m["cpu_model"] == cpu_model()
    t = out["threads"]
    assert t["opencv"] == 1 and t["torch"] == 1
    assert all(t["env"][name] == "1" for name in THREAD_ENV_VARS)
    assert out["thread_problems"] == [] and out["errors"] == []
    for name in ("opencv-mosse", "test-fake"):
        res = out["results"][name]
        assert set(res["sequences"]) == {"A", "B"}
        for row in res["sequences"].values():
            assert row["frames"] == 5 and row["updates"] == 4 and row["init_ms"] > 0
            assert set(row["latency_ms"]) == {"median", "p95", "max"}
            # throughput: frames / tracking time, the init frame and its time included
            assert row["throughput_fps"] == pytest.approx(5 / row["tracking_seconds"])
            lat = row["latency_ms"]
            assert lat["median"] <= lat["p95"] <= lat["max"]
        o = res["overall"]
        assert o["frames"] == 10 and o["sequences"] == 2
        seq_fps = [r["throughput_fps"] for r in res["sequences"].values()]
        assert o["throughput_fps"] == pytest.approx(np.mean(seq_fps), rel=1e-12)
        assert o["throughput_fps_pooled"] > 0 and o["init_ms_median"] > 0
    assert out["decode"]["A"]["frames"] == 5 and out["decode"]["A"]["seconds"] > 0
    # this process' environment is left as it was
    assert {k: os.environ.get(k) for k in THREAD_ENV_VARS} == env_before


def test_decoding_is_excluded_from_tracker_time(tmp_path: Path) -> None:
    seq = fx.make_sequence(tmp_path, "S", frames=6)
    seq.frames = fx.SlowDecode(seq.frames, delay=0.1)  # type: ignore[arg-type]
    ds = Dataset("synth", tmp_path, [seq])
    out = benchmark(["test-fake"], ds, fresh_process=False, quiet=True)
    assert out["decode"]["S"]["ms_per_frame"] >= 100.0
    assert out["decode"]["S"]["seconds"] >= 6 * 0.1
    # a fake update or init takes microseconds: far below one 100 ms decode even when a
    # loaded machine stalls the process for tens of ms
    lat = out["results"]["test-fake"]["sequences"]["S"]["latency_ms"]
    assert lat["max"] < 50.0
    assert out["results"]["test-fake"]["sequences"]["S"]["init_ms"] < 50.0


def test_frame_limit_memory_bound_and_errors(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ds = Dataset(
        "synth", data, [fx.make_sequence(data, "A", 8), fx.make_sequence(data, "W", 8, (80, 48))]
    )
    out = benchmark(["test-fake"], ds, frames=4, fresh_process=False, quiet=True)
    assert out["results"]["test-fake"]["sequences"]["A"]["frames"] == 4
    assert not out["decode"]["A"]["truncated"]
    # 3 frames of 64x48x3 bytes fit; the 80-wide ones are bigger: only 2 fit
    bound = 3 * 64 * 48 * 3 / 2**20
    out = benchmark(["test-fake"], ds, max_decoded_mb=bound, fresh_process=False, quiet=True)
    assert out["decode"]["A"]["frames"] == 3 and out["decode"]["A"]["truncated"]
    assert out["decode"]["W"]["frames"] == 2 and out["decode"]["W"]["truncated"]
    # a tracker that raises at frame 2 on the wide sequence: recorded, the other is timed
    out = benchmark(
        ["test-fake", "opencv-mosse"],
        ds,
        frames=5,
        overrides={"test-fake:fail_at": "2", "test-fake:fail_when_width": "80"},
        fresh_process=False,
        quiet=True,
    )
    (err,) = out["errors"]
    assert (err["tracker"], err["sequence"], err["frame"]) == ("test-fake", "W", 2)
    assert "synthetic failure" in err["error"]
    assert set(out["results"]["test-fake"]["sequences"]) == {"A"}
    assert set(out["results"]["opencv-mosse"]["sequences"]) == {"A", "W"}
    assert "test-fake / W at frame 2" in to_markdown(out)
    with pytest.raises(ConfigError, match="frames"):
        benchmark(["test-fake"], ds, frames=1, fresh_process=False)


def test_save_writes_strict_json_and_markdown(tmp_path: Path) -> None:
    ds = fx.make_dataset(tmp_path / "data", ("A",), frames=3)
    out = benchmark(["test-fake"], ds, fresh_process=False, quiet=True)
    out["results"]["test-fake"]["overall"]["latency_ms"]["p95"] = float("nan")
    json_path, md_path = save(out, tmp_path / "bench" / "x.json")
    loaded = json.loads(json_path.read_text())
    assert loaded["results"]["test-fake"]["overall"]["latency_ms"]["p95"] is None
    md = md_path.read_text()
    assert "| test-fake | A | 3 |" in md and "**all**" in md and "decode ms/frame" in md
    assert "throughput FPS" in md
    # the core's speed is recorded before and after the runs, and printed in the header
    for when in ("before", "after"):
        core = loaded["core_speed"][when]
        assert core["python_ms"] > 0 and core["numpy_ms"] > 0
    assert "core speed (fixed reference workload" in md


def test_reference_speed_times_fixed_workloads(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastcf.evaluation import calibration

    ref = calibration.reference_speed(repeats=2)
    assert set(ref) == {"python_ms", "numpy_ms"}
    assert all(0 < v < 10_000 for v in ref.values())
    # the fastest of the repeats is what is reported
    clock = iter([0.0, 0.5, 1.0, 1.2, 2.0, 2.9, 3.0, 3.1])
    monkeypatch.setattr(calibration.time, "perf_counter", lambda: next(clock))
    assert calibration.reference_speed(repeats=2) == pytest.approx(
        {"python_ms": 200.0, "numpy_ms": 100.0}
    )
    with pytest.raises(ValueError, match="repeats"):
        calibration.reference_speed(repeats=0)


def test_threads_helpers() -> None:
    before = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    with single_thread_env(1) as env:
        assert all(os.environ[k] == "1" for k in env)
    assert {k: os.environ.get(k) for k in THREAD_ENV_VARS} == before
    info = effective_threads(import_torch=False)
    assert "opencv" in info and set(info["env"]) == set(THREAD_ENV_VARS)
    problems = check_single_thread(
        {"torch": 4, "opencv": 1, "env": {"OMP_NUM_THREADS": None}, "blas_pools": []}
    )
    assert problems == ["torch uses 4 threads (expected 1)", "OMP_NUM_THREADS=None (expected 1)"]


def test_cli_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    ds = fx.make_dataset(tmp_path / "data", ("A", "B"), frames=4)
    monkeypatch.setattr(fastcf.datasets, "open_dataset", lambda spec, **kw: ds, raising=False)
    out_path = tmp_path / "res" / "b.json"
    args = ["bench", "synth:x", "--trackers", "test-fake", "--in-process", "--quiet"]
    assert main([*args, "--out", str(out_path), "--sequences", "B"]) == 0
    text = capsys.readouterr().out
    assert "effective threads: torch=" in text and "| test-fake | B | 4 |" in text
    data = json.loads(out_path.read_text())
    assert list(data["results"]["test-fake"]["sequences"]) == ["B"]
    assert out_path.with_suffix(".md").exists()
    rc = main([*args, "--set", "fail_at=1"])
    assert rc == 1 and "test-fake / A at frame 1" in capsys.readouterr().err
    assert main([*args, "--frames", "1"]) == 2


def test_bench_cli_on_real_sequence(tmp_path: Path, capsys) -> None:
    from conftest import shared_path

    seqs = shared_path("sequences")
    out_path = tmp_path / "bench.json"
    args = ["bench", f"otb:{seqs}", "--trackers", "opencv-kcf", "--sequences", "Crossing"]
    assert main([*args, "--frames", "15", "--out", str(out_path), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "effective threads: torch=1 opencv=1" in text
    data = json.loads(out_path.read_text())
    row = data["results"]["opencv-kcf"]["sequences"]["Crossing"]
    assert row["frames"] == 15 and row["updates"] == 14 and row["throughput_fps"] > 0
    assert data["decode"]["Crossing"]["frames"] == 15
    assert data["thread_problems"] == []
