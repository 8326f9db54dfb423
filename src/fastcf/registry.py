"""Names -> tracker class + preset config.

A tracker is a config dataclass plus a class whose constructor takes that config. A
*preset* is a named config; every preset is listed here with the reference it follows.
Entries point at ``module:attribute`` strings so that ``import fastcf`` stays light
(PyTorch is only imported by the trackers that need it).

Resources: a config dataclass may define ``missing_resources(self) -> list[str]``, a
human-readable description of each file or network it needs and does not have (empty
when the tracker can be built). :func:`missing_resources` asks it generically, so that
``available(ready=True)``, ``fastcf trackers`` and the checks of ``fastcf eval`` /
``bench`` say what a preset such as ``eco`` (needs a network file) is missing before
any work starts.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastcf.api import Tracker
from fastcf.errors import ConfigError


@dataclass(frozen=True)
class TrackerEntry:
    name: str
    tracker: str | type  # "package.module:Class" or the class itself
    preset: str | Callable[[], Any]  # "package.module:function" returning a config dataclass
    summary: str
    reference: str = ""


_ENTRIES: dict[str, TrackerEntry] = {}


def register(
    name: str,
    tracker: str | type,
    preset: str | Callable[[], Any],
    summary: str,
    reference: str = "",
    *,
    replace: bool = False,
) -> None:
    """Register a tracker preset under ``name`` (user code may add its own)."""
    if name in _ENTRIES and not replace:
        raise ConfigError(f"tracker name {name!r} is already registered")
    _ENTRIES[name] = TrackerEntry(name, tracker, preset, summary, reference)


def available(*, ready: bool | None = None) -> list[str]:
    """Names accepted by :func:`create`, sorted.

    ``ready=True``: only the presets that can be built as they are (nothing missing);
    ``ready=False``: only those that need a resource first (:func:`missing_resources`
    says which); ``None`` (default): all.
    """
    names = sorted(_ENTRIES)
    if ready is None:
        return names
    return [n for n in names if (not _preset_missing(n)) == ready]


def _preset_missing(name: str) -> list[str]:
    try:
        return missing_resources(name)
    except ConfigError as exc:  # a preset that cannot even build its config
        return [str(exc)]


def config_missing_resources(config: Any) -> list[str]:
    """What ``config`` needs and lacks (its ``missing_resources()``; [] if it has none)."""
    method = getattr(config, "missing_resources", None)
    if not callable(method):
        return []
    return [str(m) for m in method()]


def missing_resources(name: str, **overrides: Any) -> list[str]:
    """What tracker ``name`` (with ``overrides``) needs before it can be built, e.g.
    ``["a CNN: ..."]`` for ``eco`` without a network file; [] when it is ready."""
    return config_missing_resources(get_config(name, **overrides))


def entry(name: str) -> TrackerEntry:
    try:
        return _ENTRIES[name]
    except KeyError:
        raise ConfigError(
            f"unknown tracker {name!r}; available: {', '.join(available())}"
        ) from None


def _resolve(target: str | Any) -> Any:
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def apply_overrides(config: Any, overrides: dict[str, Any]) -> Any:
    """Return a copy of ``config`` with ``overrides`` applied, type-checked by field.

    Values given as strings (from the command line) are converted to the field's type.
    """
    if not overrides:
        return config
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = typing.get_type_hints(type(config))
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in fields:
            raise ConfigError(
                f"{type(config).__name__} has no field {key!r}; fields: {', '.join(sorted(fields))}"
            )
        changes[key] = _coerce(key, value, getattr(config, key), hints.get(key))
    return dataclasses.replace(config, **changes)


def _optional_scalar(hint: Any) -> type | None:
    """``float`` for ``float | None`` (``int``, ``bool`` likewise); None otherwise."""
    args = typing.get_args(hint)
    if type(None) not in args:
        return None
    rest = [a for a in args if a is not type(None)]
    return rest[0] if len(rest) == 1 and rest[0] in (bool, int, float) else None


def _coerce(key: str, value: Any, current: Any, hint: Any) -> Any:
    if isinstance(value, list) and isinstance(current, tuple):
        return tuple(value)  # a list for a tuple field (the config's checks follow)
    if not isinstance(value, str) or isinstance(current, str):
        return value
    text = value.strip()
    optional = _optional_scalar(hint)
    if optional is not None and text.lower() in ("none", "null", ""):
        return None
    if current is None:
        if optional is None:
            return value
        current = optional(0)  # convert by the declared type
    try:
        if isinstance(current, bool):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if isinstance(current, tuple):
            # "1,2,3", also written as a tuple or list: "(1, 2, 3)", "[1, 2, 3]"
            if text[:1] + text[-1:] in ("()", "[]"):
                text = text[1:-1]
            parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
            kind = type(current[0]) if current else float
            return tuple(kind(p) for p in parts)
    except ValueError:
        raise ConfigError(
            f"config field {key!r}: cannot convert {value!r} to {type(current).__name__}"
        ) from None
    return value


def get_config(name: str, **overrides: Any) -> Any:
    """The preset config of tracker ``name`` with ``overrides`` applied."""
    e = entry(name)
    config = _resolve(e.preset)()
    return apply_overrides(config, overrides)


def _preset_with_overrides(base: str, overrides: dict[str, Any]) -> Any:
    return get_config(base, **overrides)


def alias(name: str, base: str, **overrides: Any) -> None:
    """Register ``name`` as preset ``base`` with some config fields changed, so that two
    settings of one tracker can run side by side (e.g. ``feco`` with another network).
    The entry pickles by reference, so it also works in the runner's worker processes."""
    e = entry(base)
    get_config(base, **overrides)  # fail now on unknown fields or bad values
    summary = f"{e.summary} [{', '.join(f'{k}={v}' for k, v in overrides.items())}]"
    register(
        name,
        e.tracker,
        functools.partial(_preset_with_overrides, base, dict(overrides)),
        summary,
        e.reference,
        replace=True,
    )


def create(name: str, **overrides: Any) -> Tracker:
    """Create a tracker from a registered preset, e.g. ``create("opencv-csrt")``.

    Keyword arguments override fields of the preset's config dataclass.
    """
    e = entry(name)
    config = get_config(name, **overrides)
    cls = _resolve(e.tracker)
    tracker = cls(config)
    tracker.name = name
    return typing.cast(Tracker, tracker)


# --- built-in presets --------------------------------------------------------------
# One line per preset; the reference each one follows is documented in docs/trackers.md.
register(
    "opencv-csrt",
    "fastcf.trackers.opencv:OpenCVTracker",
    "fastcf.trackers.opencv:csrt",
    "OpenCV CSRT (discriminative CF with channel and spatial reliability)",
    "Lukezic et al., CVPR 2017; OpenCV contrib implementation",
)
register(
    "opencv-kcf",
    "fastcf.trackers.opencv:OpenCVTracker",
    "fastcf.trackers.opencv:kcf",
    "OpenCV KCF (kernelized correlation filter, HOG + CN)",
    "Henriques et al., TPAMI 2015; OpenCV contrib implementation",
)
register(
    "opencv-mosse",
    "fastcf.trackers.opencv:OpenCVTracker",
    "fastcf.trackers.opencv:mosse",
    "OpenCV MOSSE (single-channel CF on grayscale)",
    "Bolme et al., CVPR 2010; OpenCV contrib (legacy) implementation",
)
# OpenCV's DNN trackers (fastcf.trackers.opencv_dnn); the ONNX models are not shipped
register(
    "opencv-nanotrack",
    "fastcf.trackers.opencv_dnn:NanoTrackTracker",
    "fastcf.trackers.opencv_dnn:nanotrack",
    "OpenCV TrackerNano: NanoTrack v2 (Siamese, ONNX backbone= + neckhead=), fed BGR frames",
    "HonglinChu/SiamTrackers NanoTrack v2 (Apache-2.0); OpenCV implementation",
)
register(
    "opencv-nanotrack-rgb",
    "fastcf.trackers.opencv_dnn:NanoTrackTracker",
    "fastcf.trackers.opencv_dnn:nanotrack_rgb",
    "OpenCV TrackerNano fed RGB frames, so the network sees the BGR order it was trained on",
    "HonglinChu/SiamTrackers NanoTrack v2 (Apache-2.0); OpenCV implementation",
)
register(
    "opencv-vittrack",
    "fastcf.trackers.opencv_dnn:VitTrackTracker",
    "fastcf.trackers.opencv_dnn:vittrack",
    "OpenCV TrackerVit: VitTrack (one-stream transformer, ONNX net=), fed BGR frames",
    "opencv_zoo object_tracking_vittrack_2023sep (Apache-2.0); OpenCV implementation",
)

# ECO (fastcf.trackers.eco; parameters and deviations in docs/eco.md)
register(
    "eco-hc",
    "fastcf.trackers.eco.tracker:ECOTracker",
    "fastcf.trackers.eco.config:eco_hc",
    "ECO with hand-crafted features: fHOG + ColorNames (cn_table=...) or grayscale, fDSST scale",
    "Danelljan et al., CVPR 2017; MATLAB reference runfiles/OTB_HC_settings.m",
)
register(
    "eco",
    "fastcf.trackers.eco.tracker:ECOTracker",
    "fastcf.trackers.eco.config:eco_deep",
    "ECO with deep features from a CNN (cnn= or cnn_path=) + fHOG, 5-scale search",
    "Danelljan et al., CVPR 2017; MATLAB reference runfiles/OTB_DEEP_settings.m",
)
register(
    "feco",
    "fastcf.trackers.eco.tracker:ECOTracker",
    "fastcf.trackers.eco.config:feco",
    "fECO: ECO on the shipped student CNN (norm1 + relu5; or cnn=/cnn_path=) + fHOG, fDSST",
    "Wang et al., TIP 2020 (fECO settings)",
)
register(
    "feco-accurate",
    "fastcf.trackers.eco.tracker:ECOTracker",
    "fastcf.trackers.eco.config:feco_accurate",
    "feco with the CNN blocks projected to 8 / 32 dims (3 / 12 in feco): more accurate, slower",
    "Wang et al., TIP 2020 (fECO) + the frontier of docs/frontier.md",
)
register(
    "eco-vgg16",
    "fastcf.trackers.eco.tracker:ECOTracker",
    "fastcf.trackers.eco.teacher_presets:eco_vgg16",
    "ECO deep settings on the cached ImageNet VGG16 teacher + fHOG, 5 scales",
    "Danelljan et al., CVPR 2017 (OTB_DEEP_settings.m); taps chosen in docs/networks.md",
)
register(
    "feco-vgg16",
    "fastcf.trackers.eco.tracker:ECOTracker",
    "fastcf.trackers.eco.teacher_presets:feco_vgg16",
    "feco's settings on the cached ImageNet VGG16 teacher instead of the student (no adaptation)",
    "Wang et al., TIP 2020 (the teacher in the student's fECO settings)",
)
register(
    "eco-vgg16-hed",
    "fastcf.trackers.eco.tracker:ECOTracker",
    "fastcf.trackers.eco.teacher_presets:eco_vgg16_hed",
    "ECO deep settings on the cached VGG16-HED teacher (conv2_2/2 + conv4_3) + fHOG, 5 scales",
    "Danelljan et al., CVPR 2017 (OTB_DEEP_settings.m); the project's first teacher",
)

# STRCF (fastcf.trackers.strcf; parameters and deviations in docs/strcf.md)
register(
    "strcf",
    "fastcf.trackers.strcf.tracker:STRCF",
    "fastcf.trackers.strcf.config:strcf",
    "STRCF: spatial-temporal regularised CF (ADMM), gray + fHOG (+ ColorNames with cn_table=)",
    "Li et al., CVPR 2018; MATLAB reference run_STRCF.m",
)
register(
    "deepstrcf",
    "fastcf.trackers.strcf.tracker:STRCF",
    "fastcf.trackers.strcf.config:deepstrcf",
    "DeepSTRCF: STRCF + a CNN layer (relu3) given as cnn= or cnn_path=",
    "Li et al., CVPR 2018; MATLAB reference run_DeepSTRCF.m",
)
register(
    "fdeepstrcf",
    "fastcf.trackers.strcf.tracker:STRCF",
    "fastcf.trackers.strcf.config:fdeepstrcf",
    "fDeepSTRCF: DeepSTRCF on the shipped student's relu3 (or cnn=/cnn_path=), 3 scales at 1.02",
    "Wang et al., TIP 2020 (fDeepSTRCF settings)",
)

# The tracker `fastcf track` uses when none is named: fECO on the student shipped in the
# package (fastcf/nets/weights), which needs no download and runs in real time on one core.
DEFAULT_TRACKER = "feco"
