"""A TraX server around a fastcf tracker, so that the VOT toolkit can run it.

TraX (Čehovin, "TraX: The visual Tracking eXchange protocol and library",
Neurocomputing 2017) is the protocol the VOT toolkit speaks to trackers: the client (the
toolkit) starts the tracker as a process and exchanges ``hello`` / ``initialize`` /
``frame`` / ``state`` / ``quit`` messages over its standard streams (or a socket when
``TRAX_SOCKET`` is set). The message layer is the ``vot-trax`` package (PyPI, 4.x); this
module only maps it to the :class:`fastcf.api.Tracker` protocol:

* **regions in**: rectangles ``x, y, w, h`` are used as they are (VOT coordinates are
  0-based, as fastcf's); a polygon becomes its axis-aligned bounds
  ``(min x, min y, max x - min x, max y - min y)``. Masks are not offered to the client.
* **images in**: ``path`` (read with OpenCV as BGR), ``memory`` (TraX memory images are
  RGB or 8-bit gray; converted to BGR / gray), ``buffer`` (an encoded JPEG / PNG).
  Only the ``color`` channel is requested.
* **out**: the tracker's box as a TraX rectangle, with the properties ``confidence``
  (the tracker's score, its own scale) and ``ok`` (1 / 0). The reply to ``initialize``
  is the initial box with ``confidence`` 1.
* **re-initialisation**: every ``initialize`` calls ``init`` again on the same tracker
  (fastcf's trackers reset their whole state there, the online adaptation included), as
  the VOT supervised experiment re-initialises after a failure without restarting the
  process.
* **quit**: a ``quit`` from the client ends :func:`serve` normally.
* **errors**: any error (a bad config, an unreadable image, a tracker exception) is sent
  to the client as a ``quit`` message whose reason is the error text, so the toolkit shows
  it instead of waiting; then it is raised again for the caller (``fastcf trax`` prints
  it as one line and exits with status 2).

While serving, Python's ``sys.stdout`` is redirected to ``sys.stderr`` so that stray
prints cannot interleave with the protocol lines on the standard output.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from fastcf.api import Box, Frame, Tracker, check_box
from fastcf.errors import ConfigError, FastCFError, FrameError, InvalidBoxError

REGION_FORMATS = ("rectangle", "polygon")
IMAGE_FORMATS = ("path", "memory", "buffer")
MISSING_TRAX = (
    "the TraX server needs the vot-trax package (4.x), which is not installed: "
    "pip install 'fastcf[vot]' (or: pip install vot-trax)"
)


def import_trax() -> ModuleType:
    """The ``trax`` module of ``vot-trax``; :class:`ConfigError` with the install line if
    it is missing or its native library cannot be loaded."""
    try:
        import trax
        import trax.server  # noqa: F401 - the Server class lives there
    except ImportError:
        raise ConfigError(MISSING_TRAX) from None
    except OSError as exc:  # libtrax.so present but not loadable
        raise ConfigError(f"vot-trax is installed but its native library fails: {exc}") from None
    return trax


def region_to_box(region: Any, where: str = "TraX region") -> Box:
    """A TraX rectangle or polygon as an ``(x, y, w, h)`` box (polygon: its bounds).

    Raises :class:`InvalidBoxError` for other region types (special codes, masks) and for
    boxes without area."""
    kind = getattr(region, "type", None)
    if kind == "rectangle":
        x, y, w, h = region.bounds()
        return check_box((x, y, w, h), where=where)
    if kind == "polygon":
        points = [region.get(i) for i in range(region.size())]
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        return check_box(box, where=f"{where} (bounds of a {len(points)}-point polygon)")
    raise InvalidBoxError(
        f"{where}: region of type {kind!r} is not supported (rectangle or polygon expected)"
    )


def image_to_frame(image: Any, where: str = "TraX image") -> Frame:
    """A TraX image (path, memory or buffer) as a uint8 BGR (or gray) frame."""
    import cv2

    kind = image.type()
    if kind == "path":
        from fastcf.io.frames import read_image

        path = image.path()
        try:
            return read_image(path)  # the decoder fastcf's dataset readers use
        except FrameError as exc:
            raise FrameError(f"{where}: {exc}") from None
    if kind == "memory":
        data = np.asarray(image.array())
        if data.dtype != np.uint8:
            raise FrameError(
                f"{where}: memory image of type {data.dtype} is not supported "
                "(8-bit RGB or gray expected)"
            )
        if data.ndim == 3 and data.shape[2] == 1:
            return np.ascontiguousarray(data[:, :, 0])
        return np.ascontiguousarray(data[:, :, ::-1])  # TraX memory images are RGB
    if kind == "buffer":
        encoded = np.frombuffer(image.buffer(), dtype=np.uint8)
        frame = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        if frame is None:
            raise FrameError(f"{where}: cannot decode the {len(encoded)}-byte image buffer")
        return np.asarray(frame, dtype=np.uint8)
    raise FrameError(f"{where}: image format {kind!r} is not supported ({IMAGE_FORMATS})")


@dataclass
class ServeStats:
    """What one session did: initialisations (first + re-initialisations) and frames."""

    initializations: int = 0
    frames: int = 0


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    saved = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = saved


def _describe(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, FastCFError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())  # one line


def serve(
    factory: Callable[[], Tracker],
    *,
    name: str = "fastcf",
    description: str = "",
    log: bool | str = False,
) -> ServeStats:
    """Serve one TraX session on the standard streams (or ``TRAX_SOCKET``).

    ``factory`` creates the tracker; it is called once, before the handshake (so that the
    first ``initialize`` is not charged with loading the tracker), and an error it raises
    is sent to the client as the quit reason, then raised. Returns when the client quits.
    Raises :class:`ConfigError` when vot-trax is missing, and whatever the tracker or the
    input raised (after telling the client).
    """
    trax = import_trax()
    with _stdout_to_stderr():
        tracker: Tracker | None = None
        error: BaseException | None = None
        try:
            tracker = factory()
        except Exception as exc:  # noqa: BLE001 - reported to the client, then raised
            error = exc
        server = trax.server.Server(
            list(REGION_FORMATS),
            list(IMAGE_FORMATS),
            ["color"],
            tracker_name=name,
            tracker_description=description,
            tracker_family="fastcf",
            log=log,
        )
        if error is not None or tracker is None:
            _quit(server, _describe(error) if error else "no tracker was created")
            raise error if error else FastCFError("no tracker was created")
        stats = ServeStats()
        try:
            _loop(trax, server, tracker, stats)
        except trax.TraxException as exc:  # the client broke the protocol or went away
            _quit(server, f"TraX protocol error: {exc}")
            raise FastCFError(
                f"TraX protocol error after {stats.frames} frames: {' '.join(str(exc).split())}"
            ) from None
        except Exception as exc:
            _quit(server, _describe(exc))
            raise
        _quit(server, None)
        return stats


def _loop(trax: ModuleType, server: Any, tracker: Tracker, stats: ServeStats) -> None:
    status = trax.TraxStatus
    initialized = False
    while True:
        request = server.wait()
        if request.type == status.QUIT:
            return
        index = stats.frames
        images = request.image or {}
        if "color" not in images:
            raise FrameError(f"request {index}: no image on the 'color' channel")
        if request.type == status.INITIALIZE:
            objects = request.objects or []
            if len(objects) != 1:
                raise ConfigError(
                    f"initialize: {len(objects)} objects given; fastcf trackers follow one"
                )
            frame = image_to_frame(images["color"], where=f"initialize image (request {index})")
            box = region_to_box(objects[0][0], where="initialize region")
            tracker.init(frame, box)
            initialized = True
            stats.initializations += 1
            stats.frames += 1
            server.status([(trax.Rectangle.create(*box), {"confidence": 1.0, "ok": 1})])
        elif request.type == status.FRAME:
            if not initialized:
                raise FastCFError(f"frame request {index} before any initialize request")
            frame = image_to_frame(images["color"], where=f"frame image (request {index})")
            ok, box, score = tracker.update(frame)
            stats.frames += 1
            x, y, w, h = (float(v) for v in box)
            props = {"confidence": float(score), "ok": int(bool(ok))}
            server.status([(trax.Rectangle.create(x, y, w, h), props)])
        else:  # pragma: no cover - vot-trax raises for unknown messages itself
            raise FastCFError(f"unexpected TraX request {request.type!r}")


def _quit(server: Any, reason: str | None) -> None:
    """Send ``quit`` (with the reason, if any); the client may already be gone."""
    with contextlib.suppress(Exception):
        server.quit(reason=reason)
