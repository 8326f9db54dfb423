"""``fastcf distill``: distil a teacher CNN into a small student (fidelity + tracking loss).

Example::

    fastcf distill --teacher vgg16 --student vggm-64x \
        --data images:../shared/data/train/images,video:../shared/data/train/sequences \
        --epochs 20 --out runs/vggm-64x

Writes checkpoints, ``history.json``, ``loss_curves.png`` and the exported student into
``--out``; ``--resume`` continues from ``--out/checkpoint.pt``. Launch under ``torchrun``
for DistributedDataParallel.
"""

from __future__ import annotations

import argparse
from typing import Any

from fastcf.errors import ConfigError


def _taps(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(t.strip() for t in text.split(",") if t.strip())


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "distill",
        help="distil a teacher CNN into a small student network",
        description="Train a student CNN with a teacher-fidelity loss and a DCF tracking loss.",
    )
    p.add_argument(
        "--teacher",
        default="vgg16",
        help="vgg16 (ImageNet, default) | vgg16-hed | mobilenetv2 | PATH.mat | PATH.h5 | PATH.pt",
    )
    p.add_argument(
        "--student",
        default="vggm-64x",
        help="student name (see fastcf.nets.student_names), a saved student .json, "
        "or cf-vggm:PATH.mat",
    )
    p.add_argument("--data", required=True, help="comma list of images:<folder> / video:<folder>")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pairs", type=int, default=4000, help="training pairs (default 4000)")
    p.add_argument("--val-pairs", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--patch-size", type=int, default=128, help="side of the pair patches, px")
    p.add_argument(
        "--context",
        type=float,
        default=4.0,
        help="patch side / sqrt(target area) (the tracker's search area; ECO deep: 4.5)",
    )
    p.add_argument(
        "--cache-max-size",
        type=int,
        default=32,
        help="teacher maps larger than this many cells are average-pooled before caching",
    )
    p.add_argument(
        "--teacher-pca",
        type=int,
        default=0,
        metavar="K",
        help="cache teacher taps with more than K channels as their top-K principal "
        "coordinates (0: off)",
    )
    p.add_argument(
        "--cache-extra-taps", help="more teacher taps to store in the cache (comma list)"
    )
    p.add_argument("--student-taps", help="comma list (default: norm1,relu5 for VGG-M students)")
    p.add_argument("--teacher-taps", help="comma list, paired with --student-taps "
                   "(default: the teacher tap of nearest stride)")  # fmt: skip
    p.add_argument("--tracking-taps", help="student taps of the tracking loss (default: all)")
    p.add_argument("--alphas", help="comma list of fidelity weights (default: 1 each)")
    p.add_argument("--beta", type=float, default=1.0, help="tracking-loss weight (0: off)")
    p.add_argument("--lam", type=float, default=0.01, help="DCF regularisation")
    p.add_argument("--init", choices=("random", "teacher"), default="random")
    p.add_argument("--max-frame-gap", type=int, default=10)
    p.add_argument("--video-fraction", type=float, default=0.3)
    p.add_argument("--cache", help="teacher-feature cache folder (default OUT/cache)")
    p.add_argument("--teacher-cache", help="where the teacher is fetched/converted (FASTCF_CACHE)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    return p


def _default_student_taps(taps: dict[str, Any]) -> tuple[str, ...]:
    for choice in (("norm1", "relu5"), ("conv3_3", "conv5_3")):
        if all(t in taps for t in choice):
            return choice
    raise ConfigError(f"give --student-taps; the student's taps are: {', '.join(taps)}")


def run(args: argparse.Namespace) -> int:
    import torch

    from fastcf.distill.config import TrainConfig
    from fastcf.distill.models import match_taps, resolve_student, resolve_teacher, tap_table
    from fastcf.distill.pairs import PairConfig, PairSampler, parse_sources
    from fastcf.distill.trainer import Trainer

    torch.set_num_threads(max(1, args.threads))
    sources = parse_sources(args.data)
    teacher, teacher_label = resolve_teacher(args.teacher, args.teacher_cache)
    student = resolve_student(args.student, seed=args.seed)
    s_taps = _taps(args.student_taps) or _default_student_taps(dict(tap_table(student)))
    t_taps = _taps(args.teacher_taps) or tuple(match_taps(student, teacher, list(s_taps)))
    alphas = tuple(float(a) for a in (_taps(args.alphas) or ()))
    pairs = PairConfig(
        patch_size=args.patch_size,
        context=args.context,
        max_frame_gap=args.max_frame_gap,
        video_fraction=args.video_fraction,
    )
    cfg = TrainConfig(
        student_taps=s_taps,
        teacher_taps=t_taps,
        alphas=alphas,
        tracking_taps=_taps(args.tracking_taps) or (),
        beta=args.beta,
        lam=args.lam,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        n_train_pairs=args.pairs,
        n_val_pairs=args.val_pairs,
        seed=args.seed,
        init=args.init,
        device=args.device,
        threads=args.threads,
        pairs=pairs,
        cache_max_size=args.cache_max_size,
        cache_extra_taps=_taps(args.cache_extra_taps) or (),
        teacher_pca_dims=args.teacher_pca,
    )
    train = PairSampler(sources, cfg.n_train_pairs, config=pairs, seed=args.seed, split="train")
    val = PairSampler(sources, cfg.n_val_pairs, config=pairs, seed=args.seed, split="val")
    print(
        f"distill {teacher_label} -> {args.student}: taps "
        + ", ".join(f"{s}<-{t}" for s, t in zip(s_taps, t_taps, strict=True))
        + f"; {len(train.images)} train images, {len(train.videos)} videos; out {args.out}"
    )
    trainer = Trainer(
        student,
        teacher,
        cfg,
        train,
        val,
        args.out,
        teacher_label=teacher_label,
        student_label=args.student,
        cache_dir=args.cache,
        progress=not args.no_progress,
    )
    history = trainer.run(resume=args.resume)
    last = history["epochs"][-1]
    print("final: " + ", ".join(f"{k}={v:.4f}" for k, v in last.items() if k.startswith("val_")))
    return 0
