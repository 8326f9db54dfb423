"""ECO's feature stack: builds the extractors of a config, normalises every block, and
chooses the image sample size (ECO's ``init_features`` with ``size_mode = 'odd_cells'``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fastcf.errors import ConfigError
from fastcf.features.base import BlockSpec, FeatureExtractor
from fastcf.features.normalize import eco_normalize, guard_finite
from fastcf.trackers.eco.config import ECOConfig
from fastcf.trackers.eco.patches import matlab_round


@dataclass(frozen=True)
class StackBlock:
    spec: BlockSpec
    compressed_dim: int


def load_network(path: str) -> Any:
    """A MatConvNet ``.mat`` network or a fastcf student checkpoint."""
    p = Path(path)
    if p.suffix.lower() == ".mat":
        from fastcf.nets.matconvnet import load_matconvnet

        return load_matconvnet(p)
    from fastcf.nets.students import load_student

    return load_student(p)


def _cnn_extractor(config: ECOConfig) -> FeatureExtractor | None:
    cnn: Any = config.cnn
    if cnn is None and config.cnn_path:
        cnn = load_network(config.cnn_path)
    elif cnn is None and config.shipped_student:
        from fastcf.nets.shipped import load_shipped_student

        cnn = load_shipped_student()  # a fresh module: already private to this tracker
    elif cnn is not None and config.online_adaptation:
        from fastcf.trackers.adaptation import private_cnn

        cnn = private_cnn(cnn)  # never fine-tune the caller's module
    if cnn is None:
        return None
    if hasattr(cnn, "extract") and hasattr(cnn, "blocks"):
        return cnn  # already a FeatureExtractor (e.g. fastcf.features.cnn.CNNFeatures)
    if hasattr(cnn, "taps"):
        from fastcf.features.cnn import CNNFeatures

        layers = tuple(config.cnn_layers)
        resolve = getattr(cnn, "resolve", None)
        if callable(resolve):  # TapNetwork: MATLAB layer numbers such as "3" and "14"
            layers = tuple(resolve(int(x)) if x.isdigit() else resolve(x) for x in layers)
        down = {name: int(f) for name, f in zip(layers, config.cnn_downsample, strict=False)}
        # threads=None: the tracker's thread scope (config.threads) governs torch
        return CNNFeatures(cnn, layers, down, threads=None)
    raise ConfigError(
        f"ECOConfig.cnn must be a FeatureExtractor (with .blocks and .extract) or a "
        f"FeatureNetwork (with .taps), got {type(cnn).__name__}"
    )


class FeatureStack:
    """All feature blocks of an ECO config, in order: [CNN blocks...], fHOG, colour."""

    def __init__(self, config: ECOConfig, is_color: bool = True) -> None:
        self.extractors: list[FeatureExtractor] = []
        dims: list[int] = []
        cnn = _cnn_extractor(config)
        if cnn is None and config.require_cnn:
            raise ConfigError(
                "this ECO preset needs a CNN feature extractor: pass cnn=<FeatureExtractor or "
                "FeatureNetwork> (e.g. fastcf.features.cnn.CNNFeatures(net, ('norm1', 'relu5'), "
                "{'norm1': 2})) or cnn_path=<MatConvNet .mat or student checkpoint>, e.g. "
                "fastcf.create('feco', cnn_path='CF_VGGM.mat'); use 'eco-hc' for hand-crafted "
                "features"
            )
        self.adaptation: Any = None
        if config.online_adaptation:
            if cnn is None:
                raise ConfigError("ECOConfig.online_adaptation needs a CNN feature extractor")
            from fastcf.trackers.adaptation import from_config

            self.adaptation = from_config(cnn, config)
        if cnn is not None:
            self.extractors.append(cnn)
            for i, spec in enumerate(cnn.blocks):
                want = config.cnn_compressed_dims[i] if i < len(config.cnn_compressed_dims) else 0
                dims.append(min(want, spec.channels) if want > 0 else spec.channels)
        if config.hog_cell_size > 0:
            from fastcf.features.hog import FHOG

            hog = FHOG(cell_size=config.hog_cell_size)
            self.extractors.append(hog)
            dims.append(min(config.hog_compressed_dim, hog.blocks[0].channels))
        color = config.color_feature
        if color == "auto":  # ECO: CN for colour videos, IC for gray ones, when tables exist
            table = config.cn_table if is_color else config.ic_table
            color = ("cn" if is_color else "ic") if table else "gray"
        if color == "ic":
            from fastcf.features.lookup import IntensityChannels

            ic = IntensityChannels(config.ic_table, cell_size=config.color_cell_size)
            self.extractors.append(ic)
            dims.append(min(config.color_compressed_dim, ic.blocks[0].channels))
        elif color == "cn":
            from fastcf.features.lookup import ColorNames

            cn = ColorNames(config.cn_table, cell_size=config.color_cell_size)
            self.extractors.append(cn)
            dims.append(min(config.color_compressed_dim, cn.blocks[0].channels))
        elif color == "gray":
            from fastcf.features.gray import Gray

            gray = Gray(cell_size=config.color_cell_size)
            self.extractors.append(gray)
            dims.append(min(config.color_compressed_dim, 1))
        if not self.extractors:
            raise ConfigError("ECOConfig selects no features (hog_cell_size=0, no colour, no cnn)")
        specs = [spec for ex in self.extractors for spec in ex.blocks]
        self.blocks = tuple(StackBlock(s, d) for s, d in zip(specs, dims, strict=True))
        self.color_name = color
        self.is_color = is_color
        self.config = config

    @property
    def strides(self) -> list[int]:
        return [b.spec.stride for b in self.blocks]

    def extract(self, patches: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.float32]]:
        """Normalised ``(N, D, h, w)`` maps per block (ECO's ``feature_normalization``)."""
        cfg = self.config
        out: list[npt.NDArray[np.float32]] = []
        for ex in self.extractors:
            for spec, x in zip(ex.blocks, ex.extract(patches), strict=True):
                x = guard_finite(np.asarray(x, dtype=np.float32), f"ECO block {spec.name}", "zero")
                out.append(
                    eco_normalize(x, cfg.normalize_power, cfg.normalize_size, cfg.normalize_dim)
                )
        return out


def odd_cells_sample_size(img_sample_sz: npt.ArrayLike, strides: list[int]) -> np.ndarray:
    """ECO's ``odd_cells`` choice: a size near ``img_sample_sz`` (multiple of the largest
    cell, plus 0..cell-1 pixels) that gives the most odd feature-map dimensions."""
    sz = np.asarray(img_sample_sz, dtype=np.float64)
    max_cell = max(strides)
    base = (1 + 2 * matlab_round(sz / (2 * max_cell))) * max_cell
    best, best_odd = 0, -1
    for add in range(max_cell):
        odd = sum(int(np.sum(np.floor((base + add) / s) % 2 == 1)) for s in strides)
        if odd > best_odd:
            best, best_odd = add, odd
    return matlab_round(base + best).astype(np.int64)
