"""Per-tracker online adaptation of the CNN feature extractor (first frame).

:func:`private_cnn` gives a tracker its own copy of a CNN source (a FeatureNetwork or a
:class:`~fastcf.features.cnn.CNNFeatures`), so that fine-tuning never touches the module the
caller passed in (or the shipped student). :class:`FirstFrameAdaptation` wraps
:class:`fastcf.distill.online.OnlineAdapter` around that copy: before the tracker samples
its first-frame features it fine-tunes the declared layers on the first patch with the
target box (a Gaussian peak) and every background position as a negative, within a time
bound. ``reset()`` restores the copy's weights, so re-initialising a tracker starts from
the distilled weights again.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from fastcf.errors import ConfigError


def private_cnn(source: Any) -> Any:
    """A deep copy of ``source`` (the caller's network or extractor stays untouched)."""
    return copy.deepcopy(source)


class FirstFrameAdaptation:
    """Fine-tunes ``layers`` of ``extractor.network`` (a tracker-private network)."""

    def __init__(
        self,
        extractor: Any,
        layers: Sequence[str],
        steps: int,
        lr: float,
        max_ms: float,
    ) -> None:
        from fastcf.distill.online import OnlineAdapter

        network = getattr(extractor, "network", None)
        if network is None or not hasattr(network, "layers"):
            raise ConfigError(
                "online_adaptation needs a CNN given as a network (fastcf.nets TapNetwork) or a "
                f"fastcf.features.cnn.CNNFeatures, got {type(extractor).__name__}"
            )
        self.network = network
        self.adapter = OnlineAdapter(network, tuple(layers), steps, lr, max_ms=max_ms)
        _warm_up_optimizer()
        self.last_ms = 0.0
        self.last_steps = 0

    def adapt(
        self, patch: npt.NDArray[np.uint8], box_in_patch: Sequence[float]
    ) -> tuple[float, float]:
        """Reset to the original weights, adapt on ``patch``; returns (loss before, after)."""
        import torch

        old = torch.get_num_threads()
        try:
            if old != 1:
                torch.set_num_threads(1)
            self.adapter.reset()
            res = self.adapter.adapt(patch, box_in_patch)
        finally:
            if torch.get_num_threads() != old:
                torch.set_num_threads(old)
        self.last_ms, self.last_steps = res.ms, res.steps
        return res.loss_before, res.loss_after


def _warm_up_optimizer() -> None:
    """The first ``torch.optim.Adam`` of a process costs ~1.5 s (lazy imports); pay it when
    the tracker is created, not inside the time-bounded adaptation at ``init``."""
    import torch

    p = torch.nn.Parameter(torch.zeros(1))
    torch.optim.Adam([p], lr=1e-3).step()
