"""Exceptions raised by fastcf.

Every error names what was wrong (file, line, frame, value) so that a user can fix the
input without reading a traceback from inside NumPy or OpenCV.
"""

from __future__ import annotations


class FastCFError(Exception):
    """Base class of every error fastcf raises on purpose."""


class ConfigError(FastCFError, ValueError):
    """Unknown tracker/preset name, unknown config field or invalid config value."""


class InvalidBoxError(FastCFError, ValueError):
    """A box with zero/negative/NaN size, or entirely outside the image."""


class FrameError(FastCFError, ValueError):
    """A frame that is missing, unreadable, of the wrong dtype/shape, or changes size."""


class DatasetError(FastCFError, ValueError):
    """A dataset layout that cannot be read: missing folders, empty dataset, bad spec."""


class AnnotationError(DatasetError):
    """An annotation file with wrong column counts or non-numeric values."""


class WeightsError(FastCFError, ValueError):
    """A weight file that is missing, truncated or does not match the network."""


class TrackerError(FastCFError, RuntimeError):
    """A tracker failed on a frame and cannot go on: an error inside its backend (OpenCV;
    the message names the tracker, the frame and the box) or a numerical failure it
    refuses to hide (e.g. a non-finite training sample in ECO's sample space)."""
