"""The shipped student's training recipe (docs/model_card.md), shared by the distillation
benchmarks: ``fastcf distill`` arguments without ``--student``, ``--out`` and ``--cache``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
RECIPE = [
    "--teacher", "vgg16-hed",
    "--data", f"images:{DATA / 'train' / 'images'},video:{DATA / 'train' / 'sequences'}",
    "--pairs", "6000", "--val-pairs", "300", "--epochs", "25", "--batch-size", "16",
    "--lr", "1e-3", "--seed", "0", "--teacher-taps", "conv2_2,conv4_3", "--threads", "1",
    "--no-progress",
]  # fmt: skip


def distill(student: str, out: Path, cache: str | None, extra: list[str] | None = None) -> None:
    """Train ``student`` into ``out`` with the recipe (``extra``: other distill flags)."""
    import subprocess

    cmd = ["fastcf", "distill", *RECIPE, "--student", student]
    cmd += ["--cache", cache] if cache else []
    subprocess.run([*cmd, *(extra or []), "--out", str(out)], check=True)
