"""Adapters for OpenCV's DNN trackers NanoTrack v2 (``cv2.TrackerNano``) and VitTrack
(``cv2.TrackerVit``), for side-by-side comparisons. The networks are not shipped with
fastcf: the configs take the ONNX paths (docs/trackers.md says where they come from).

* ``score`` is the tracker's own confidence, ``getTrackingScore()`` after each update:
  NanoTrack's classification score of the chosen position, VitTrack's peak score, both in
  [0, 1]. ``ok`` is OpenCV's return value combined with the box checks every OpenCV
  adapter applies (:mod:`fastcf.trackers.opencv`); a box rejected by those checks gets
  ``ok=False``, ``score=0.0`` at the last accepted box.
* Colour order: OpenCV's trackers take BGR frames. ``cv2.TrackerNano`` swaps R and B
  before its network, while NanoTrack v2 was trained on BGR crops: fed BGR frames as
  OpenCV expects, the network sees RGB. ``rgb=True`` converts frames to RGB before OpenCV,
  so that the network sees the order it was trained on (preset ``opencv-nanotrack-rgb``).
  ``cv2.TrackerVit`` normalises with ImageNet's RGB mean and deviation after its swap, so
  BGR frames are its right input (``rgb`` stays off in ``opencv-vittrack``).
* The networks load when the tracker is created (errors surface before any frame is read);
  the first ``init`` uses them, a later ``init`` (a new video) loads a fresh OpenCV object.

Each config lists what it still needs in :meth:`missing_resources` (empty when ready);
creating the tracker with a non-empty list raises :class:`~fastcf.errors.ConfigError`
naming the fields and the expected files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from fastcf.api import Frame, as_uint8
from fastcf.errors import ConfigError, WeightsError
from fastcf.trackers.base import TrackerSettings
from fastcf.trackers.opencv import OpenCVAdapter, cv_message


def _missing(fields: dict[str, tuple[str, str]]) -> list[str]:
    """``field=<.../file> (why)`` for every empty or absent path; ``fields`` maps a field
    name to ``(path, expected file name)``."""
    out: list[str] = []
    for key, (path, expected) in fields.items():
        if not path:
            out.append(f"{key}=<.../{expected}> (not set)")
        elif not Path(path).expanduser().is_file():
            out.append(f"{key}=<.../{expected}> (no such file: {path})")
    return out


@dataclass(frozen=True)
class NanoTrackConfig(TrackerSettings):
    """NanoTrack v2 in OpenCV (``cv2.TrackerNano``; HonglinChu/SiamTrackers, Apache-2.0).

    ``backbone`` / ``neckhead``: paths to the v2 ``backbone.onnx`` and ``head.onnx``
    (empty by default: the models are not shipped). ``rgb``: convert frames to RGB before
    OpenCV (which swaps channels inside), so that the network sees BGR as in training."""

    backbone: str = ""
    neckhead: str = ""
    rgb: bool = False

    @property
    def display_name(self) -> str:
        return "opencv-nanotrack-rgb" if self.rgb else "opencv-nanotrack"

    def missing_resources(self) -> list[str]:
        """What is missing before this config can run (empty when ready)."""
        return _missing(
            {"backbone": (self.backbone, "backbone.onnx"), "neckhead": (self.neckhead, "head.onnx")}
        )


@dataclass(frozen=True)
class VitTrackConfig(TrackerSettings):
    """VitTrack in OpenCV (``cv2.TrackerVit``; opencv_zoo, Apache-2.0).

    ``net``: path to ``object_tracking_vittrack_2023sep.onnx`` (empty by default: not
    shipped). ``rgb``: convert frames to RGB before OpenCV (off: OpenCV expects BGR)."""

    net: str = ""
    rgb: bool = False

    @property
    def display_name(self) -> str:
        return "opencv-vittrack-rgb" if self.rgb else "opencv-vittrack"

    def missing_resources(self) -> list[str]:
        """What is missing before this config can run (empty when ready)."""
        return _missing({"net": (self.net, "object_tracking_vittrack_2023sep.onnx")})


def nanotrack() -> NanoTrackConfig:
    """NanoTrack v2 fed BGR frames, as OpenCV expects (needs ``backbone=``, ``neckhead=``)."""
    return NanoTrackConfig()


def nanotrack_rgb() -> NanoTrackConfig:
    """NanoTrack v2 fed RGB frames: the network sees the channel order it was trained on."""
    return NanoTrackConfig(rgb=True)


def vittrack() -> VitTrackConfig:
    """VitTrack fed BGR frames, as OpenCV expects (needs ``net=``)."""
    return VitTrackConfig()


def _quiet(make: Callable[[], Any]) -> Any:
    """Run ``make`` with OpenCV's log level at ERROR (the DNN engine warns about targets it
    ignores at every load), restoring the caller's level afterwards."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        return make()
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    try:
        return make()
    finally:
        logging.setLogLevel(level)


def _opencv_api(cls: str) -> tuple[Any, Any]:
    """``(cv2.<cls>_Params, cv2.<cls>_create)``; ConfigError when this build lacks them."""
    params, create = getattr(cv2, f"{cls}_Params", None), getattr(cv2, f"{cls}_create", None)
    if params is None or create is None:
        raise ConfigError(f"this OpenCV build ({cv2.__version__}) has no cv2.{cls}")
    return params, create


class _DNNAdapter(OpenCVAdapter):
    """An OpenCV DNN tracker: checks the model paths, loads the networks at construction
    and reports ``getTrackingScore()`` as the score."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        missing = config.missing_resources()
        if missing:
            raise ConfigError(
                f"{config.display_name} needs {' and '.join(missing)}; these ONNX models are "
                "not shipped with fastcf (docs/trackers.md says where they come from)"
            )
        self._loaded: Any = self._load()

    def _files(self) -> list[str]:
        raise NotImplementedError

    def _factory(self) -> Any:
        raise NotImplementedError

    def _load(self) -> Any:
        try:
            return _quiet(self._factory)
        except cv2.error as exc:
            raise WeightsError(
                f"{self.config.display_name}: OpenCV cannot load {', '.join(self._files())}: "
                f"{cv_message(exc)}"
            ) from None

    def _create(self) -> Any:
        impl, self._loaded = self._loaded, None
        return impl if impl is not None else self._load()

    def _prepare(self, frame: Frame) -> Frame:
        frame = super()._prepare(frame)
        if self.config.rgb:
            return as_uint8(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        return frame

    def _score(self, ok: bool) -> float:
        return float(self._impl.getTrackingScore())


class NanoTrackTracker(_DNNAdapter):
    """NanoTrack v2 through ``cv2.TrackerNano`` (config: :class:`NanoTrackConfig`)."""

    name = "opencv-nanotrack"

    def _files(self) -> list[str]:
        return [self.config.backbone, self.config.neckhead]

    def _factory(self) -> Any:
        params_cls, create = _opencv_api("TrackerNano")
        params = params_cls()
        params.backbone = str(Path(self.config.backbone).expanduser())
        params.neckhead = str(Path(self.config.neckhead).expanduser())
        return create(params)


class VitTrackTracker(_DNNAdapter):
    """VitTrack through ``cv2.TrackerVit`` (config: :class:`VitTrackConfig`)."""

    name = "opencv-vittrack"

    def _files(self) -> list[str]:
        return [self.config.net]

    def _factory(self) -> Any:
        params_cls, create = _opencv_api("TrackerVit")
        params = params_cls()
        params.net = str(Path(self.config.net).expanduser())
        return create(params)
