"""Distillation of a teacher CNN into a small student for correlation-filter tracking.

* :mod:`~fastcf.distill.pairs` -- training pairs (template, search, target offset/scale)
  from still images with synthetic motion and from OTB-layout videos;
* :mod:`~fastcf.distill.cache` -- the teacher's features, computed once, memory-mapped fp16;
* :mod:`~fastcf.distill.dcf` / :mod:`~fastcf.distill.losses` -- the differentiable
  closed-form DCF, the fidelity loss (1x1 adapters) and the tracking loss;
* :mod:`~fastcf.distill.trainer` -- the training loop (checkpoints, resume, curves, DDP,
  export); :mod:`~fastcf.distill.config` -- :class:`TrainConfig`;
* :mod:`~fastcf.distill.online` -- background-aware online adaptation on the first frame.

The CLI is ``fastcf distill`` (:mod:`fastcf.cli.distill_cmd`); see docs/distillation.md.
"""

from fastcf.distill.config import TrainConfig
from fastcf.distill.online import AdaptResult, OnlineAdapter
from fastcf.distill.pairs import PairConfig, PairSampler

__all__ = ["AdaptResult", "OnlineAdapter", "PairConfig", "PairSampler", "TrainConfig"]
