"""fastcf: real-time deep correlation-filter object tracking on one CPU core."""

from fastcf.api import Box, Frame, Tracker, TrackResult, check_box, check_frame
from fastcf.errors import (
    AnnotationError,
    ConfigError,
    DatasetError,
    FastCFError,
    FrameError,
    InvalidBoxError,
    TrackerError,
    WeightsError,
)
from fastcf.registry import available, create, get_config, missing_resources, register

__version__ = "0.1.0"

__all__ = [
    "AnnotationError",
    "Box",
    "ConfigError",
    "DatasetError",
    "FastCFError",
    "Frame",
    "FrameError",
    "InvalidBoxError",
    "TrackResult",
    "Tracker",
    "TrackerError",
    "WeightsError",
    "__version__",
    "available",
    "check_box",
    "check_frame",
    "create",
    "get_config",
    "missing_resources",
    "register",
]
