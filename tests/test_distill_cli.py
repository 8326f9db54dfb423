"""``fastcf distill`` end to end on tiny data (teacher: the CF_VGGM MatConvNet file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from conftest import shared_path
from distill_helpers import write_images
from fastcf.cli.main import main


def test_distill_cli_runs_and_resumes(tmp_path, capsys) -> None:
    torch.set_num_threads(1)
    mat = shared_path("models", "CF_VGGM.mat")
    imgs = write_images(tmp_path / "imgs", 12)
    out = tmp_path / "run"
    args = ["distill", "--teacher", str(mat), "--student", "vggm-96x", "--data",
            f"images:{imgs}", "--epochs", "1", "--pairs", "8", "--val-pairs", "4",
            "--batch-size", "4", "--patch-size", "96", "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "norm1<-norm1" in text and "relu5<-relu5" in text and "final:" in text
    for name in ("checkpoint.pt", "loss_curves.png", "student.pt", "student.json"):
        assert (out / name).is_file()
    args[args.index("--epochs") + 1] = "2"
    assert main([*args, "--resume"]) == 0
    hist = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in hist["epochs"]] == [0, 1, 2]


def test_distill_cli_bad_input(tmp_path, capsys) -> None:
    rc = main(["distill", "--data", "pictures:/nowhere", "--out", str(tmp_path), "--teacher",
               str(tmp_path / "missing.mat")])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert "pictures:/nowhere" in err


@pytest.mark.slow
def test_distill_under_torchrun_two_cpu_processes(tmp_path) -> None:
    """The DistributedDataParallel path (gloo, 2 ranks): rank 0 builds the cache and
    writes every file, both ranks exit cleanly."""
    mat = shared_path("models", "CF_VGGM.mat")
    imgs = write_images(tmp_path / "imgs", 12)
    out = tmp_path / "run"
    port = str(29500 + os.getpid() % 400)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", port, "-m", "fastcf.cli.main", "distill", "--teacher", str(mat),
           "--student", "vggm-96x", "--data", f"images:{imgs}", "--epochs", "1", "--pairs",
           "16", "--val-pairs", "4", "--batch-size", "4", "--patch-size", "96", "--out",
           str(out), "--no-progress"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.count("final:") == 2  # both ranks finished
    hist = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in hist["epochs"]] == [0, 1]
    assert (out / "student.json").is_file()
