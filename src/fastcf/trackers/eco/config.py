"""ECO configuration and the reference presets.

Parameter names and values follow the MATLAB reference (github.com/martin-danelljan/ECO,
``runfiles/OTB_HC_settings.m`` and ``runfiles/OTB_DEEP_settings.m``, the settings of the
published OTB results); deviations are listed in docs/eco.md. The field defaults are the
ECO-HC OTB settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastcf.errors import ConfigError
from fastcf.trackers.adaptation import AdaptationSettings, check_config
from fastcf.trackers.base import TrackerSettings
from fastcf.trackers.resources import missing_cnn, missing_file


@dataclass(frozen=True)
class ECOConfig(TrackerSettings, AdaptationSettings):
    # --- features -------------------------------------------------------------------
    hog_cell_size: int = 6  # 0 disables fHOG
    hog_compressed_dim: int = 10
    # colour block: "auto" = ColorNames (colour videos, cn_table set) or intensity channels
    # (gray videos, ic_table set), else the grayscale intensity (one channel)
    color_feature: str = "auto"  # "auto" | "cn" | "ic" | "gray" | "none"
    cn_table: str = ""  # path to CNnorm.mat (user-supplied, not redistributable)
    ic_table: str = ""  # path to intensityChannelNorm6.mat (used for gray videos)
    color_cell_size: int = 4
    color_compressed_dim: int = 3  # clipped to the block's channels (gray: 1)
    # CNN slot: any fastcf.features FeatureExtractor (e.g. a distilled student network)
    cnn: Any = None
    cnn_path: str = ""  # or a weight file: MatConvNet .mat or a fastcf student checkpoint
    cnn_layers: tuple[str, ...] = ("norm1", "relu5")  # used when cnn is a FeatureNetwork
    cnn_downsample: tuple[int, ...] = (2, 1)  # average pooling per layer (FeatureNetwork only)
    cnn_compressed_dims: tuple[int, ...] = (16, 64)
    require_cnn: bool = False  # the "eco"/"feco" presets refuse to run without a network
    # no cnn / cnn_path given: use fastcf's shipped student (fastcf.nets.load_shipped_student;
    # package data, never downloaded). On in "feco"; "eco" keeps requiring a network.
    shipped_student: bool = False
    normalize_power: float = 2.0
    normalize_size: bool = True
    normalize_dim: bool = True
    # --- search region ---------------------------------------------------------------
    search_area_scale: float = 4.0
    min_image_sample_size: float = 150.0**2
    max_image_sample_size: float = 200.0**2
    # --- detection ------------------------------------------------------------------
    refinement_iterations: int = 1
    newton_iterations: int = 5
    clamp_position: bool = False
    # --- learning -------------------------------------------------------------------
    output_sigma_factor: float = 1.0 / 16
    learning_rate: float = 0.007
    n_samples: int = 30
    train_gap: int = 5
    skip_after_frame: int = 10
    use_projection_matrix: bool = True
    update_projection_matrix: bool = True
    projection_reg: float = 1e-6
    # --- conjugate gradient ------------------------------------------------------------
    cg_iter: int = 5
    init_cg_iter: int = 10 * 20
    init_gn_iter: int = 10
    cg_use_fr: bool = False
    cg_standard_alpha: bool = True
    cg_forgetting_rate: float = 50.0
    precond_data_param: float = 0.75
    precond_reg_param: float = 0.25
    precond_proj_param: float = 60.0
    # --- spatial regularisation ----------------------------------------------------------
    use_reg_window: bool = True
    reg_window_min: float = 1e-4
    reg_window_edge: float = 4e-3
    reg_window_power: float = 2.0
    reg_sparsity_threshold: float = 0.05
    # --- interpolation -----------------------------------------------------------------
    interpolation_bicubic_a: float = -0.75
    interpolation_centering: bool = True
    # --- scale ----------------------------------------------------------------------
    number_of_scales: int = 5  # multi-scale search (used when use_scale_filter is False)
    scale_step: float = 1.02
    use_scale_filter: bool = True
    scale_sigma_factor: float = 1.0 / 16
    scale_learning_rate: float = 0.025
    number_of_scales_filter: int = 17
    number_of_interp_scales: int = 33
    scale_model_factor: float = 1.0
    scale_step_filter: float = 1.02
    scale_model_max_area: float = 32.0 * 16
    scale_lambda: float = 1e-2
    do_poly_interp: bool = True
    # --- fastcf additions --------------------------------------------------------------
    lost_threshold: float = 0.1  # peak response below this -> ok=False (see docs/eco.md)
    spread_cg: bool = False  # True: spread a training step's CG iterations over the gap frames
    # online adaptation: the adapt_* fields inherited from AdaptationSettings

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.color_feature not in ("auto", "cn", "ic", "gray", "none"):
            raise ConfigError(
                f"ECOConfig.color_feature must be auto/cn/ic/gray/none, got {self.color_feature!r}"
            )
        if self.color_feature == "cn" and not self.cn_table:
            raise ConfigError("ECOConfig.color_feature='cn' needs cn_table (path to CNnorm.mat)")
        if self.color_feature == "ic" and not self.ic_table:
            raise ConfigError(
                "ECOConfig.color_feature='ic' needs ic_table (path to intensityChannelNorm6.mat)"
            )
        positive = {
            "search_area_scale": self.search_area_scale,
            "min_image_sample_size": self.min_image_sample_size,
            "max_image_sample_size": self.max_image_sample_size,
            "output_sigma_factor": self.output_sigma_factor,
            "scale_step": self.scale_step,
            "scale_step_filter": self.scale_step_filter,
        }
        for key, value in positive.items():
            if not value > 0:
                raise ConfigError(f"ECOConfig.{key} must be > 0, got {value!r}")
        if not 0 <= self.learning_rate <= 1:
            raise ConfigError(
                f"ECOConfig.learning_rate must be in [0, 1], got {self.learning_rate}"
            )
        if self.n_samples < 1:
            raise ConfigError(f"ECOConfig.n_samples must be >= 1, got {self.n_samples}")
        if self.min_image_sample_size > self.max_image_sample_size:
            raise ConfigError("ECOConfig.min_image_sample_size exceeds max_image_sample_size")
        if self.hog_cell_size < 0 or self.color_cell_size < 1:
            raise ConfigError("ECOConfig: hog_cell_size must be >= 0, color_cell_size >= 1")
        if self.train_gap < 0 or self.cg_iter < 0 or self.init_gn_iter < 0:
            raise ConfigError("ECOConfig: train_gap, cg_iter and init_gn_iter must be >= 0")
        if self.number_of_scales < 1 or self.number_of_scales_filter < 1:
            raise ConfigError("ECOConfig: number_of_scales(_filter) must be >= 1")
        check_config(self)

    def missing_resources(self) -> list[str]:
        """Files / networks this config needs and that are not there (empty: ready)."""
        return (
            missing_cnn(self)
            + missing_file(self.cn_table, "cn_table", "the ColorNames table")
            + missing_file(self.ic_table, "ic_table", "the intensity-channel table")
        )


def eco_hc() -> ECOConfig:
    """ECO-HC, OTB settings (testing_ECO_HC.m): fHOG cell 6 -> 10 dims + ColorNames cell 4
    -> 3 dims (grayscale intensity instead when no CN table is given), fDSST scale filter."""
    return ECOConfig()


def _deep(**kw: Any) -> ECOConfig:
    """OTB_DEEP_settings.m (search area 4.5, samples 200^2..300^2, sigma 1/12, learning
    rate 0.011, 50 samples, sparse updates every 6th frame from frame 1, 10 x 20 initial
    CG, forgetting 80, preconditioner 0.3 / 0.02 / 75, projection_reg 2e-8, reg edge 10e-3),
    fHOG cell 4 -> 10 dims next to the CNN blocks."""
    base = dict(
        hog_cell_size=4,
        hog_compressed_dim=10,
        color_feature="none",
        require_cnn=True,
        search_area_scale=4.5,
        min_image_sample_size=200.0**2,
        max_image_sample_size=300.0**2,
        output_sigma_factor=1.0 / 12,
        learning_rate=0.011,
        n_samples=50,
        train_gap=5,
        skip_after_frame=1,
        projection_reg=2e-8,
        init_cg_iter=10 * 20,
        init_gn_iter=10,
        cg_forgetting_rate=80.0,
        precond_data_param=0.3,
        precond_reg_param=0.02,
        precond_proj_param=75.0,
        reg_window_edge=10e-3,
    )
    base.update(kw)
    return ECOConfig(**base)  # type: ignore[arg-type]


def eco_deep() -> ECOConfig:
    """ECO with deep features (OTB_DEEP_settings.m): CNN blocks (VGG-M norm1 pooled x2 ->
    16 dims, conv5 -> 64 dims in the reference) + fHOG, 5-scale search with step 1.02."""
    return _deep(
        cnn_compressed_dims=(16, 64), use_scale_filter=False, number_of_scales=5, scale_step=1.02
    )


def feco() -> ECOConfig:
    """fECO (Wang et al., TIP 2020): ECO's deep settings on the distilled student network,
    norm1 (pooled x2) and relu5 compressed to 3 and 12 dims, + fHOG cell 4 -> 10 dims,
    fDSST scale filter on, background-aware adaptation of the student's conv5 on the first
    frame (later frames off; docs/distillation.md). Without ``cnn``/``cnn_path`` it uses
    the shipped student."""
    return _deep(
        cnn_compressed_dims=(3, 12),
        use_scale_filter=True,
        shipped_student=True,
        online_adaptation=True,
    )
