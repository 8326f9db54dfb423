"""Per-tracker online adaptation of the CNN feature extractor.

:func:`private_cnn` gives a tracker its own copy of a CNN source (a FeatureNetwork or a
:class:`~fastcf.features.cnn.CNNFeatures`), so that fine-tuning never touches the module the
caller passed in (or the shipped student). :class:`TrackerAdaptation` wraps
:class:`fastcf.distill.online.OnlineAdapter` around that copy:

* ``adapt`` (at ``init``): restore the distilled weights, then fine-tune the declared layers
  on the first patch with the target box (a Gaussian peak) and every background position
  as a negative, for ``steps`` steps (and within ``max_ms`` when a cap is given);
* ``wants_update(score)`` / ``refine`` (optional, ``interval > 0``): on a later frame whose
  peak score is at least ``confidence`` x the mean score of the frames so far, and at
  least ``interval`` frames after the last adaptation, continue fine-tuning (no reset; the
  adapter's L2-SP anchor still pulls towards the distilled weights) on that frame's
  search patch, with the peaks of its response map away from the target as distractors
  (weighted negatives), for ``update_steps`` steps (within ``update_max_ms`` if given).

The step counts bound the cost deterministically; the optional wall-clock caps stop early
when a step would pass them, which makes the result depend on the machine's load.

The configuration fields are shared by the ECO and STRCF configs; :func:`check_config`
validates them (``AdaptationSettings.__post_init__``) and :func:`from_config` builds the
adaptation.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from fastcf.errors import ConfigError
from fastcf.trackers.ranges import COUNT, NON_NEGATIVE, UNIT_OPEN, Range, check_ranges


def private_cnn(source: Any) -> Any:
    """A deep copy of ``source`` (the caller's network or extractor stays untouched)."""
    return copy.deepcopy(source)


@dataclass(frozen=True)
class AdaptationSettings:
    """The online-adaptation fields of the ECO and STRCF configs (docs/distillation.md)."""

    # At init, fine-tune ``adapt_layers`` of the tracker's own COPY of the CNN on the first
    # frame patch (target = Gaussian peak, background = negatives; fastcf.distill.online).
    online_adaptation: bool = False
    adapt_layers: tuple[str, ...] = ("conv5",)
    adapt_steps: int = 5
    adapt_lr: float = 1e-3
    # wall-clock caps (ms; None: none). Off by default: a cap that binds makes the number of
    # steps, hence the output, depend on machine load (docs/distillation.md)
    adapt_max_ms: float | None = None
    # later frames (0: first frame only): adapt again on a frame whose peak score is at
    # least adapt_confidence x the mean score so far, >= adapt_interval frames after the last
    # adaptation; response peaks away from the target are distractors (weighted negatives)
    adapt_interval: int = 0
    adapt_confidence: float = 1.0
    adapt_update_steps: int = 2
    adapt_update_max_ms: float | None = None
    adapt_distractor_ratio: float = 0.3  # distractor: local max >= ratio x the peak

    def __post_init__(self) -> None:
        check_config(self)
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:  # cooperative: configs combine several settings mix-ins
            parent()


# Allowed range of every numeric AdaptationSettings field (docs/distillation.md)
ADAPTATION_RANGES: dict[str, Range] = {
    "adapt_steps": COUNT,
    "adapt_lr": Range(0.0, 1.0, low_open=True, high_open=False),  # (0, 1]
    "adapt_max_ms": Range(0.0, low_open=True, none_ok=True),  # None: no cap
    "adapt_interval": COUNT,  # 0: first frame only
    "adapt_confidence": NON_NEGATIVE,
    "adapt_update_steps": COUNT,
    "adapt_update_max_ms": Range(0.0, low_open=True, none_ok=True),
    "adapt_distractor_ratio": UNIT_OPEN,
}


def check_config(config: Any) -> None:
    """Validate the ``adapt_*`` fields of an ECO / STRCF config: every numeric field is in
    its range (:data:`ADAPTATION_RANGES`, whether adaptation is on or not), and
    ``adapt_layers`` is not empty when adaptation is on."""
    check_ranges(config, ADAPTATION_RANGES)
    if config.online_adaptation and not config.adapt_layers:
        raise ConfigError(
            f"{type(config).__name__}.adapt_layers is empty with online_adaptation on"
        )


def adaptable(extractor: Any) -> bool:
    """Whether ``extractor`` exposes a fastcf network (``.network.layers``) to fine-tune."""
    network = getattr(extractor, "network", None)
    return network is not None and hasattr(network, "layers")


def from_config(extractor: Any, config: Any) -> TrackerAdaptation | None:
    """The adaptation an ECO / STRCF config asks for, around ``extractor`` (private copy).

    A custom extractor without a fastcf network (any object with ``blocks`` and
    ``extract``) cannot be fine-tuned: the tracker then runs without adaptation and says
    so with a ``UserWarning`` (``feco`` turns adaptation on by default)."""
    if not adaptable(extractor):
        warnings.warn(
            f"{type(config).__name__}.online_adaptation is on, but the CNN extractor "
            f"{type(extractor).__name__} exposes no fastcf network (.network.layers) to "
            "fine-tune: tracking without online adaptation (set online_adaptation=False "
            "to silence this)",
            UserWarning,
            stacklevel=2,
        )
        return None
    return TrackerAdaptation(
        extractor,
        config.adapt_layers,
        config.adapt_steps,
        config.adapt_lr,
        config.adapt_max_ms,
        interval=config.adapt_interval,
        confidence=config.adapt_confidence,
        update_steps=config.adapt_update_steps,
        update_max_ms=config.adapt_update_max_ms,
        distractor_ratio=config.adapt_distractor_ratio,
    )


class TrackerAdaptation:
    """Fine-tunes ``layers`` of ``extractor.network`` (a tracker-private network)."""

    def __init__(
        self,
        extractor: Any,
        layers: Sequence[str],
        steps: int,
        lr: float,
        max_ms: float | None = None,
        *,
        interval: int = 0,
        confidence: float = 1.0,
        update_steps: int = 2,
        update_max_ms: float | None = None,
        distractor_ratio: float = 0.3,
    ) -> None:
        from fastcf.distill.online import OnlineAdapter

        network = getattr(extractor, "network", None)
        if network is None or not hasattr(network, "layers"):
            raise ConfigError(
                "online_adaptation needs a CNN given as a network (fastcf.nets TapNetwork) or a "
                f"fastcf.features.cnn.CNNFeatures, got {type(extractor).__name__}"
            )
        self.network = network
        self.adapter = OnlineAdapter(
            network, tuple(layers), steps, lr, max_ms=max_ms, distractor_ratio=distractor_ratio
        )
        self.interval = int(interval)
        self.confidence = float(confidence)
        self.update_steps = int(update_steps)
        self.update_max_ms = update_max_ms
        _warm_up_optimizer()
        self.last_ms = 0.0  # the last adaptation (init or update)
        self.last_steps = 0
        self.last_distractors: list[tuple[float, float]] = []
        self.updates = 0  # later-frame adaptations since init
        self._score_sum = 0.0
        self._score_count = 0
        self._since = 0

    # --- first frame ---------------------------------------------------------------------
    def adapt(
        self, patch: npt.NDArray[np.uint8], box_in_patch: Sequence[float]
    ) -> tuple[float, float]:
        """Reset to the original weights, adapt on ``patch``; returns (loss before, after)."""
        self.adapter.reset()
        self.updates = 0
        self._score_sum, self._score_count, self._since = 0.0, 0, 0
        res = self._run(patch, box_in_patch, None, None, "own")
        return res.loss_before, res.loss_after

    # --- later frames ----------------------------------------------------------------------
    def wants_update(self, score: float) -> bool:
        """Record one frame's peak score; True when this frame should be adapted on.

        Confident: ``score >= confidence * mean(score of the earlier frames)``, and at least
        ``interval`` frames since the last adaptation. Never with ``interval == 0``.
        """
        self._since += 1
        finite = bool(np.isfinite(score))
        mean = self._score_sum / self._score_count if self._score_count else None
        if finite:
            self._score_sum += float(score)
            self._score_count += 1
        if self.interval <= 0 or not finite or mean is None or self._since < self.interval:
            return False
        return float(score) > 0 and float(score) >= self.confidence * mean

    def refine(
        self,
        patch: npt.NDArray[np.uint8],
        box_in_patch: Sequence[float],
        response: npt.NDArray[np.float64] | None,
    ) -> float:
        """Continue fine-tuning on a later frame (``response`` spans ``patch``, centred);
        returns the milliseconds spent."""
        res = self._run(patch, box_in_patch, response, self.update_steps, self.update_max_ms)
        self._since = 0
        self.updates += 1
        return res.ms

    def _run(
        self,
        patch: npt.NDArray[np.uint8],
        box: Sequence[float],
        response: npt.NDArray[np.float64] | None,
        steps: int | None,
        max_ms: float | None | Literal["own"],
    ) -> Any:
        # runs inside the tracker's thread scope (BaseTracker, config.threads)
        res = self.adapter.adapt(patch, box, response, steps=steps, max_ms=max_ms)
        self.last_ms, self.last_steps = res.ms, res.steps
        self.last_distractors = list(res.distractors)
        return res


def _warm_up_optimizer() -> None:
    """The first ``torch.optim.Adam`` of a process costs ~1.5 s (lazy imports); pay it when
    the tracker is created, not inside the time-bounded adaptation at ``init``."""
    import torch

    p = torch.nn.Parameter(torch.zeros(1))
    torch.optim.Adam([p], lr=1e-3).step()
