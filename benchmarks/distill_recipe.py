"""The shipped student's training recipe (docs/model_card.md), shared by the distillation
benchmarks: ``fastcf distill`` arguments without ``--student``, ``--out`` and ``--cache``.

Teacher: ImageNet VGG16. Pairs at the tracker's scale: 224 px patches with the target at
1/4.5 of the patch side (ECO's deep search area), so relu5 of the student sees 14 x 14
cells. The teacher cache stores conv2_2 / conv3_3 / conv4_3 / conv5_3 (maps pooled to at
most 56 cells, channels reduced to their top 64 principal coordinates), so that students
distilled from other taps reuse it.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
TEACHER_TAPS = "conv2_2,conv4_3"
RECIPE = [
    "--teacher", "vgg16",
    "--data", f"images:{DATA / 'train' / 'images'},video:{DATA / 'train' / 'sequences'}",
    "--pairs", "4000", "--val-pairs", "300", "--epochs", "15", "--batch-size", "16",
    "--lr", "1e-3", "--seed", "0", "--student-taps", "norm1,relu5",
    "--teacher-taps", TEACHER_TAPS, "--patch-size", "224", "--context", "4.5",
    "--video-fraction", "0.5", "--cache-max-size", "56", "--teacher-pca", "64",
    "--cache-extra-taps", "conv2_2,conv3_3,conv4_3,conv5_3", "--threads", "1",
    "--no-progress",
]  # fmt: skip


def distill(student: str, out: Path, cache: str | None, extra: list[str] | None = None) -> None:
    """Train ``student`` into ``out`` with the recipe (``extra``: other distill flags)."""
    import subprocess

    cmd = ["fastcf", "distill", *RECIPE, "--student", student]
    cmd += ["--cache", cache] if cache else []
    subprocess.run([*cmd, *(extra or []), "--out", str(out)], check=True)
