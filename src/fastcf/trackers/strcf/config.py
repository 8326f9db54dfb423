"""STRCF configuration and the reference presets.

Values follow the authors' MATLAB release (github.com/lifeng9472/STRCF, ``run_STRCF.m``
and ``run_DeepSTRCF.m``); deviations are listed in docs/strcf.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from fastcf.errors import ConfigError
from fastcf.trackers.adaptation import AdaptationSettings
from fastcf.trackers.base import TrackerSettings
from fastcf.trackers.confidence import ConfidenceSettings
from fastcf.trackers.ranges import COUNT, COUNT_1, NON_NEGATIVE, POSITIVE, Range, check_ranges
from fastcf.trackers.resources import missing_cnn, missing_file

# Allowed range of every numeric STRCFConfig field (docs/strcf.md, "Validation"); the
# adapt_* fields are checked by AdaptationSettings, threads by TrackerSettings.
STRCF_RANGES: dict[str, Range] = {
    "cell_size": COUNT_1,
    "hog_orients": COUNT_1,
    "hog_clip": POSITIVE,
    "cnn_downsample": COUNT_1,  # per CNN layer
    "cnn_reg_ratio": POSITIVE,  # per CNN layer
    "search_area_scale": Range(1.0),  # the search region covers at least the target
    "min_image_sample_size": POSITIVE,
    "max_image_sample_size": POSITIVE,
    "reg_window_max": POSITIVE,
    "reg_window_min": POSITIVE,
    "refinement_iterations": COUNT_1,
    "newton_iterations": COUNT,
    "number_of_scales": COUNT_1,
    "scale_step": Range(1.0),  # [1, inf): 1 searches one scale only
    "output_sigma_factor": POSITIVE,
    "temporal_regularization": NON_NEGATIVE,  # mu; 0: plain SRDCF-like ADMM
    "admm_iterations": COUNT_1,
    "init_penalty": POSITIVE,  # ADMM's gamma divides: > 0
    "max_penalty": POSITIVE,
    "penalty_step": POSITIVE,
}


@dataclass(frozen=True)
class STRCFConfig(TrackerSettings, ConfidenceSettings, AdaptationSettings):
    # --- hand-crafted block (concatenated: gray, fHOG, ColorNames), one cell size -------
    cell_size: int = 4
    use_gray: bool = True
    use_hog: bool = True
    hog_orients: int = 9
    hog_clip: float = 0.2
    cn_table: str = ""  # path to CNnorm.mat; empty = no ColorNames (tables are not shipped)
    # --- CNN block (DeepSTRCF) ----------------------------------------------------------
    # ``cnn``: a fastcf.features.cnn.FeatureNetwork (e.g. a fastcf.nets TapNetwork) or a
    # ready FeatureExtractor; ``cnn_path``: a MatConvNet .mat (e.g. CF_VGGM.mat) or a
    # fastcf student checkpoint, loaded when ``cnn`` is None.
    cnn: Any = None
    cnn_path: str = ""
    cnn_layers: tuple[str, ...] = ("relu3",)
    cnn_downsample: tuple[int, ...] = (1,)
    cnn_reg_ratio: tuple[float, ...] = (14.0,)  # reg-window "downsample ratio" per CNN layer
    cnn_minmax: bool = True  # DeepSTRCF's per-channel min-max normalisation
    require_cnn: bool = False  # deepstrcf/fdeepstrcf refuse to run without a network
    # no cnn / cnn_path: use fastcf's shipped student (fastcf.nets.load_shipped_student,
    # package data, never downloaded). On in "fdeepstrcf"; "deepstrcf" requires a network.
    shipped_student: bool = False
    # --- search region ------------------------------------------------------------------
    search_area_scale: float = 5.0
    min_image_sample_size: float = 150.0**2
    max_image_sample_size: float = 200.0**2
    # --- spatial regularisation window ---------------------------------------------------
    reg_window_max: float = 1e5
    reg_window_min: float = 1e-3
    # --- detection ----------------------------------------------------------------------
    refinement_iterations: int = 1
    newton_iterations: int = 5
    clamp_position: bool = False
    number_of_scales: int = 5
    scale_step: float = 1.01
    # --- learning -----------------------------------------------------------------------
    output_sigma_factor: float = 1.0 / 16
    temporal_regularization: float = 15.0  # mu
    admm_iterations: int = 2
    init_penalty: float = 1.0  # gamma at the first ADMM iteration
    max_penalty: float = 0.1
    penalty_step: float = 10.0
    # --- fastcf additions ---------------------------------------------------------------
    adapt_layers: tuple[str, ...] = ("conv3",)  # fdeepstrcf taps relu3 (AdaptationSettings)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_ranges(self, STRCF_RANGES)
        if self.min_image_sample_size > self.max_image_sample_size:
            raise ConfigError(
                f"STRCFConfig.min_image_sample_size ({self.min_image_sample_size:g}) exceeds "
                f"max_image_sample_size ({self.max_image_sample_size:g})"
            )
        if self.reg_window_min > self.reg_window_max:
            raise ConfigError(
                f"STRCFConfig.reg_window_min ({self.reg_window_min:g}) exceeds "
                f"reg_window_max ({self.reg_window_max:g})"
            )
        n = len(self.cnn_layers)
        if len(self.cnn_downsample) != n or len(self.cnn_reg_ratio) != n:
            raise ConfigError(
                "STRCFConfig: cnn_layers, cnn_downsample and cnn_reg_ratio need the same "
                f"length, got {n}, {len(self.cnn_downsample)}, {len(self.cnn_reg_ratio)}"
            )
        if not (self.use_gray or self.use_hog or self.cn_table or self.require_cnn):
            if self.cnn is None and not self.cnn_path:
                raise ConfigError("STRCFConfig: every feature is disabled")

    def missing_resources(self) -> list[str]:
        """Files / networks this config needs and that are not there (empty: ready)."""
        return missing_cnn(self) + missing_file(self.cn_table, "cn_table", "the ColorNames table")


def strcf() -> STRCFConfig:
    """STRCF (run_STRCF.m): gray + fHOG (+ ColorNames with ``cn_table``), cell 4, search
    area 5x, samples 150^2..200^2, mu 15, 2 ADMM iterations (penalty 1 -> 0.1), 5 scales
    at step 1.01."""
    return STRCFConfig()


def deepstrcf() -> STRCFConfig:
    """DeepSTRCF (run_DeepSTRCF.m): STRCF's hand-crafted block + a CNN block (VGG-M layer
    10 = relu3, min-max normalised, reg-window ratio 14), search area 4.5x, samples
    200^2..250^2. Needs ``cnn=`` (a FeatureNetwork) or ``cnn_path=``."""
    return replace(
        STRCFConfig(),
        cnn_layers=("relu3",),
        cnn_downsample=(1,),
        cnn_reg_ratio=(14.0,),
        require_cnn=True,
        search_area_scale=4.5,
        min_image_sample_size=200.0**2,
        max_image_sample_size=250.0**2,
    )


def fdeepstrcf() -> STRCFConfig:
    """fDeepSTRCF (Wang et al., TIP 2020): DeepSTRCF with the distilled student's relu3
    (e.g. CF_VGGM.mat layer 10) and 3 scales at step 1.02; without ``cnn``/``cnn_path`` it
    uses the shipped student."""
    return replace(deepstrcf(), number_of_scales=3, scale_step=1.02, shipped_student=True)
