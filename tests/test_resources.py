"""Presets that need a resource say so (issue 13, problem 8): ``missing_resources``,
``available(ready=...)``, ``fastcf trackers``, and eval / bench refusing before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

import fastcf
import runner_fixtures as fx
from fastcf.cli.main import main
from fastcf.errors import ConfigError
from fastcf.evaluation.bench import benchmark
from fastcf.evaluation.runner import run_experiment
from fastcf.registry import available, missing_resources


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FASTCF_CACHE", str(cache))
    return cache


def test_missing_resources_of_the_presets(tmp_path: Path, empty_cache: Path) -> None:
    for name in ("eco", "deepstrcf"):
        (need,) = missing_resources(name)
        assert need.startswith("a CNN") and "cnn_path=" in need
    net = tmp_path / "net.mat"
    net.write_bytes(b"x")
    assert missing_resources("eco", cnn_path=str(net)) == []
    (need,) = missing_resources("deepstrcf", cnn_path=str(tmp_path / "nope.mat"))
    assert "nope.mat" in need and "does not exist" in need
    (need,) = missing_resources("eco-vgg16")
    assert "fastcf teacher fetch" in need and str(empty_cache) in need
    (need,) = missing_resources("eco-hc", cn_table=str(tmp_path / "CNnorm.mat"))
    assert "CNnorm.mat" in need
    for ready in ("feco", "fdeepstrcf", "eco-hc", "strcf", "opencv-csrt"):
        assert missing_resources(ready) == [], ready
    assert fastcf.missing_resources is missing_resources


def test_available_says_which_presets_are_ready(empty_cache: Path) -> None:
    everything = available()
    ready, not_ready = available(ready=True), available(ready=False)
    assert sorted(ready + not_ready) == everything
    assert {"eco", "deepstrcf", "eco-vgg16"} <= set(not_ready)
    assert {"feco", "eco-hc", "strcf", "fdeepstrcf"} <= set(ready)


def test_trackers_command_marks_what_is_needed(empty_cache: Path, capsys) -> None:
    assert main(["trackers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    eco = next(i for i, line in enumerate(lines) if line.startswith("eco "))
    assert "[needs a resource]" in lines[eco] and "needs a CNN" in lines[eco + 1]
    assert not any(line.startswith("feco ") and "needs" in line for line in lines)
    assert main(["trackers", "eco-vgg16"]) == 0
    assert "NEEDS the vgg16 teacher" in capsys.readouterr().out


def test_eval_and_bench_check_every_tracker_first(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fx.register_fakes()
    ds = fx.make_dataset(tmp_path / "data", ("A",), frames=3)
    root = tmp_path / "r"
    fx.CALLS.clear()
    with pytest.raises(ConfigError, match="eco needs a CNN"):
        run_experiment(["test-fake", "eco"], ds, root, quiet=True)
    with pytest.raises(ConfigError, match="eco needs a CNN"):
        benchmark(["test-fake", "eco"], ds, fresh_process=False, quiet=True)
    assert fx.CALLS == [] and not root.exists()  # nothing ran, nothing was written
    # a network file that exists but cannot be read fails while building the tracker
    bad = tmp_path / "broken.mat"
    bad.write_bytes(b"not a network")
    with pytest.raises(ConfigError, match="cannot create tracker eco"):
        run_experiment(["test-fake", "eco"], ds, root, overrides={"eco:cnn_path": str(bad)},
                       quiet=True)  # fmt: skip
    assert fx.CALLS == [] and not root.exists()
    fx.write_otb_sequence(tmp_path / "otb", "S", frames=3)
    for command in ("eval", "bench"):
        rc = main([command, f"otb:{tmp_path / 'otb'}", "--trackers", "test-fake,eco"])
        assert rc == 2 and "eco needs a CNN" in capsys.readouterr().err
    assert fx.CALLS == [] and not Path("results").exists()
