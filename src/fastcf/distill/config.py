"""Configuration of a distillation run (one dataclass, saved with every checkpoint)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from fastcf.distill.pairs import PairConfig
from fastcf.errors import ConfigError


@dataclass
class TrainConfig:
    """Everything that defines a run. Taps are matched pairwise: ``student_taps[i]`` is
    distilled from ``teacher_taps[i]`` with weight ``alphas[i]`` (1 when empty). The
    tracking loss uses ``tracking_taps`` (default: the student taps), each with its own
    closed-form DCF, averaged, weighted by ``beta``."""

    student_taps: tuple[str, ...] = ("norm1", "relu5")
    teacher_taps: tuple[str, ...] = ("conv2_2", "conv5_3")
    alphas: tuple[float, ...] = ()
    tracking_taps: tuple[str, ...] = ()
    beta: float = 1.0
    lam: float = 0.01  # DCF ridge regularisation (features are power-normalised)
    sigma_factor: float = 1.0 / 12.0  # Gaussian label sigma / target side (ECO deep: 1/12)
    min_sigma_cells: float = 0.5  # lower bound on the label sigma, in feature cells
    dcf_window: bool = True
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    warmup_iters: int = 50  # linear learning-rate warm-up (Adam's first steps are large)
    weight_decay: float = 1e-5
    grad_clip: float = 10.0
    n_train_pairs: int = 4000
    n_val_pairs: int = 200
    val_every: int = 1  # epochs
    checkpoint_every: int = 1  # epochs
    seed: int = 0
    init: str = "random"  # "random" | "teacher" (channel selection, same topology only)
    fit_adapters: bool = True  # least-squares adapter start on the first training batches
    cache_max_size: int = 32  # teacher maps larger than this are average-pooled before caching
    # more teacher taps to store in the cache (so that runs with other taps reuse it)
    cache_extra_taps: tuple[str, ...] = ()
    # store teacher taps with more channels as their top-k principal coordinates (0: off)
    teacher_pca_dims: int = 0
    pca_fit_pairs: int = 64  # training pairs the projection is fitted on
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    threads: int = 1  # torch CPU threads
    pairs: PairConfig = field(default_factory=PairConfig)

    def __post_init__(self) -> None:
        if isinstance(self.pairs, dict):
            self.pairs = PairConfig(**self.pairs)
        self.student_taps = tuple(self.student_taps)
        self.teacher_taps = tuple(self.teacher_taps)
        self.alphas = tuple(float(a) for a in self.alphas)
        self.tracking_taps = tuple(self.tracking_taps)
        self.cache_extra_taps = tuple(self.cache_extra_taps)
        if self.teacher_pca_dims < 0 or self.pca_fit_pairs < 1:
            raise ConfigError("TrainConfig: teacher_pca_dims must be >= 0, pca_fit_pairs >= 1")
        if not self.student_taps:
            raise ConfigError("TrainConfig: student_taps is empty")
        if len(self.student_taps) != len(self.teacher_taps):
            raise ConfigError(
                f"TrainConfig: {len(self.student_taps)} student taps but "
                f"{len(self.teacher_taps)} teacher taps; they are matched pairwise"
            )
        if self.alphas and len(self.alphas) != len(self.student_taps):
            raise ConfigError(
                f"TrainConfig: {len(self.alphas)} alphas for {len(self.student_taps)} taps"
            )
        if self.init not in ("random", "teacher"):
            raise ConfigError(f"TrainConfig: init must be 'random' or 'teacher', got {self.init!r}")
        for name in ("epochs", "batch_size", "n_train_pairs", "n_val_pairs", "val_every"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"TrainConfig: {name} must be >= 1, got {getattr(self, name)}")
        if self.lam <= 0 or self.lr <= 0 or self.sigma_factor <= 0:
            raise ConfigError("TrainConfig: lam, lr and sigma_factor must be > 0")

    @property
    def alpha_map(self) -> dict[str, float]:
        alphas = self.alphas or (1.0,) * len(self.student_taps)
        return dict(zip(self.student_taps, alphas, strict=True))

    @property
    def tap_pairs(self) -> dict[str, str]:
        return dict(zip(self.student_taps, self.teacher_taps, strict=True))

    @property
    def tracking(self) -> tuple[str, ...]:
        return self.tracking_taps or self.student_taps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return cls(**data)
