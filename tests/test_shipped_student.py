"""The shipped default student: package data, sha256 check, default network of the presets."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import fastcf
import fastcf.nets.shipped as shipped
from fastcf.errors import ConfigError, WeightsError
from fastcf.nets import TapNetwork, count_params, load_shipped_student, shipped_student_paths


def _moving_square(n: int = 8) -> tuple[list[np.ndarray], list[tuple[float, float, float, float]]]:
    """A textured 30x24 block moving 2 px/frame right over a smooth textured background."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:160, 0:200]
    bg = (90 + 40 * np.sin(xx / 9.0) * np.cos(yy / 13.0)).astype(np.uint8)
    obj = rng.integers(0, 256, (30, 24), dtype=np.uint8)
    frames, boxes = [], []
    for i in range(n):
        x0, y0 = 70 + 2 * i, 60
        f = bg.copy()
        f[y0 : y0 + 30, x0 : x0 + 24] = obj
        frames.append(np.repeat(f[:, :, None], 3, axis=2) // np.array([1, 2, 3], np.uint8))
        boxes.append((float(x0), float(y0), 24.0, 30.0))
    return frames, boxes


def test_shipped_files_are_package_data_and_small() -> None:
    pt, js = shipped_student_paths()
    assert pt.parent.name == "weights" and pt.parent.parent.name == "nets"
    assert pt.is_file() and js.is_file()
    assert pt.stat().st_size <= 1_000_000
    meta = json.loads(js.read_text())
    assert meta["sha256"] == hashlib.sha256(pt.read_bytes()).hexdigest()
    assert meta["arch"] == "vggm-64x" and meta["family"] == "vggm"


def test_load_shipped_student() -> None:
    net = load_shipped_student()
    assert isinstance(net, TapNetwork) and not net.training
    assert count_params(net) == 103_760  # vggm-64x: ~100k parameters
    assert net.taps["norm1"].channels == 12 and net.taps["relu5"].channels == 64
    other = load_shipped_student()
    assert other is not net  # a fresh module per call: callers may fine-tune theirs
    x = torch.full((1, 3, 67, 67), 128.0)
    with torch.no_grad():
        a, b = net(x), other(x)
    assert torch.equal(a["relu5"], b["relu5"])
    assert torch.isfinite(a["relu5"]).all() and float(a["relu5"].abs().sum()) > 0


def _redirect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    pt, js = shipped_student_paths()
    shutil.copy(pt, tmp_path / pt.name)
    shutil.copy(js, tmp_path / js.name)
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path)
    return tmp_path / pt.name, tmp_path / js.name


def test_corrupted_weights_raise_weights_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pt, _ = _redirect(tmp_path, monkeypatch)
    data = bytearray(pt.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte
    pt.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=str(pt).replace("\\", "\\\\")) as info:
        load_shipped_student()
    assert "sha256" in str(info.value)
    with pytest.raises(WeightsError, match="sha256"):
        fastcf.create("feco")  # the preset surfaces the same error
    pt.write_bytes(bytes(data[:1000]))  # truncated
    with pytest.raises(WeightsError, match="student.pt"):
        load_shipped_student()


def test_missing_or_unsigned_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pt, js = _redirect(tmp_path, monkeypatch)
    meta = json.loads(js.read_text())
    del meta["sha256"]
    js.write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="no sha256"):
        load_shipped_student()
    pt.unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_shipped_student()


def test_feco_defaults_to_the_shipped_student_and_tracks() -> None:
    frames, boxes = _moving_square()
    tracker = fastcf.create("feco")
    tracker.init(frames[0], boxes[0])
    for frame, gt in zip(frames[1:], boxes[1:], strict=True):
        res = tracker.update(frame)
        assert res.ok
        assert abs(res.box[0] - gt[0]) < 3.0 and abs(res.box[1] - gt[1]) < 3.0
    # cnn_path still overrides, and "eco" keeps requiring an explicit network
    with pytest.raises(WeightsError, match="nope"):
        fastcf.create("feco", cnn_path="/nonexistent/nope.pt")
    with pytest.raises(ConfigError, match="CNN"):
        fastcf.create("eco")


def test_fdeepstrcf_defaults_to_the_shipped_student() -> None:
    frames, boxes = _moving_square(4)
    tracker = fastcf.create("fdeepstrcf")
    tracker.init(frames[0], boxes[0])
    for frame in frames[1:]:
        assert tracker.update(frame).ok
    with pytest.raises(ConfigError, match="needs a CNN"):
        fastcf.create("deepstrcf")
