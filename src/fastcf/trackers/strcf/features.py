"""The feature blocks STRCF trains on, built from a config.

Block 0 concatenates the hand-crafted features at ``cell_size`` (reference order: gray,
fHOG, ColorNames; ColorNames only for colour videos and when a table path is given).
Further blocks come from the CNN slot (DeepSTRCF), min-max normalised per channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fastcf.errors import ConfigError
from fastcf.features.base import BlockSpec, FeatureExtractor
from fastcf.features.cnn import CNNFeatures
from fastcf.features.gray import Gray
from fastcf.features.hog import FHOG
from fastcf.features.lookup import ColorNames
from fastcf.features.normalize import minmax_normalize
from fastcf.trackers.strcf.config import STRCFConfig


@dataclass(frozen=True)
class Block:
    name: str
    stride: int
    channels: int
    reg_ratio: float  # cells of the spatial-regularisation window are target / reg_ratio


class STRCFFeatures:
    """Extracts the tracker's blocks from a patch batch ``(N, H, W, 3|-)`` uint8."""

    def __init__(self, config: STRCFConfig, color: bool) -> None:
        self.handcrafted: list[FeatureExtractor] = []
        cell = config.cell_size
        if config.use_gray:
            self.handcrafted.append(Gray(cell_size=cell))
        if config.use_hog:
            self.handcrafted.append(FHOG(cell, config.hog_orients, config.hog_clip))
        if config.cn_table and color:
            self.handcrafted.append(ColorNames(config.cn_table, cell_size=cell))
        self.cnn: FeatureExtractor | None = _build_cnn(config)
        self.adaptation: Any = None
        if config.online_adaptation:
            if self.cnn is None:
                raise ConfigError("STRCFConfig.online_adaptation needs a CNN feature extractor")
            from fastcf.trackers.adaptation import from_config

            self.adaptation = from_config(self.cnn, config)
        self.cnn_minmax = config.cnn_minmax
        blocks: list[Block] = []
        if self.handcrafted:
            channels = sum(b.channels for e in self.handcrafted for b in e.blocks)
            blocks.append(Block("handcrafted", cell, channels, float(cell)))
        if self.cnn is not None:
            ratios = list(config.cnn_reg_ratio)
            for i, spec in enumerate(self.cnn.blocks):
                ratio = ratios[i] if i < len(ratios) else float(spec.stride)
                blocks.append(Block(spec.name, spec.stride, spec.channels, ratio))
        if not blocks:
            raise ConfigError("STRCF: no feature block is enabled")
        self.blocks = tuple(blocks)

    def extract(self, patches: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.float32]]:
        out: list[npt.NDArray[np.float32]] = []
        if self.handcrafted:
            maps = [m for e in self.handcrafted for m in e.extract(patches)]
            out.append(np.concatenate(maps, axis=1) if len(maps) > 1 else maps[0])
        if self.cnn is not None:
            for m in self.cnn.extract(patches):
                out.append(minmax_normalize(m) if self.cnn_minmax else m)
        return out


def _build_cnn(config: STRCFConfig) -> FeatureExtractor | None:
    source: Any = config.cnn
    if source is None and config.cnn_path:
        source = _load_network(config.cnn_path)
    elif source is None and config.shipped_student:
        from fastcf.nets.shipped import load_shipped_student

        source = load_shipped_student()  # a fresh module: already private
    elif source is not None and config.online_adaptation:
        from fastcf.trackers.adaptation import private_cnn

        source = private_cnn(source)  # never fine-tune the caller's module
    if source is None:
        if config.require_cnn:
            raise ConfigError(
                "this STRCF preset needs a CNN: pass cnn=<FeatureNetwork or FeatureExtractor> "
                "(e.g. a fastcf.nets network) or cnn_path=<MatConvNet .mat or student "
                "checkpoint>, e.g. fastcf.create('fdeepstrcf', cnn_path='CF_VGGM.mat'); "
                "use the 'strcf' preset for hand-crafted features only"
            )
        return None
    blocks = getattr(source, "blocks", None)
    if isinstance(blocks, tuple) and all(isinstance(b, BlockSpec) for b in blocks):
        return source  # a ready FeatureExtractor
    layers = tuple(config.cnn_layers)
    resolve = getattr(source, "resolve", None)
    if callable(resolve):  # TapNetwork: accepts MATLAB layer numbers written as "10"
        layers = tuple(resolve(int(x)) if x.isdigit() else resolve(x) for x in layers)
    downsample = {layer: int(d) for layer, d in zip(layers, config.cnn_downsample, strict=True)}
    try:
        # threads=None: the tracker's thread scope (config.threads) governs torch
        return CNNFeatures(source, layers=layers, downsample=downsample, threads=None)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"STRCF cnn: {exc}") from exc


def _load_network(path: str) -> Any:
    p = Path(path)
    if p.suffix.lower() == ".mat":
        from fastcf.nets.matconvnet import load_matconvnet

        return load_matconvnet(p)
    from fastcf.nets.students import load_student

    return load_student(p)
