"""Loaded by the VOT toolkit (not by fastcf): its supervised experiment, run through a
single-object runtime adapter.

``vot-toolkit`` 0.9.0's ``SupervisedExperiment`` still calls its tracker runtime with
one object (``initialize(frame, ObjectStatus)``, ``update(frame)`` expecting one
``ObjectStatus`` back), while 0.9.0's ``TraxTrackerRuntime`` takes and returns *lists*
of objects, so every TraX tracker fails at its first frame with "Tracker does not
support multiple objects, but multiple objects were provided for initialization". The
adapter below wraps the runtime the experiment gets (the toolkit's own TraX runtime, and
its real-time wrapper when the stack asks for one) and converts between one object and
a list of one; the experiment's own ``execute`` (failure detection, re-initialisation,
trajectories) runs unchanged.

:func:`fastcf.evaluation.vot_toolkit.build_workspace` copies this file into the
workspace as ``fastcf_vot_adapter.py`` and names ``fastcf_vot_adapter.SupervisedExperiment``
in the stack; it imports only the toolkit.
"""

from __future__ import annotations

from typing import Any

from vot.experiment.multirun import SupervisedExperiment as _Supervised
from vot.tracker import OnlineTrackerRuntime, RealtimeTrackerRuntime
from vot.utilities import to_number


class SingleObjectRuntime(OnlineTrackerRuntime):  # type: ignore[misc]
    """One object in, one object out, around a runtime that speaks lists."""

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime.tracker)
        self._runtime = runtime

    @property
    def multiobject(self) -> bool:
        return False

    def stop(self) -> None:
        self._runtime.stop()

    def restart(self) -> None:
        self._runtime.restart()

    def initialize(self, frame: Any, new: Any = None) -> tuple[Any, float]:
        status, elapsed = self._runtime.initialize(frame, [new])
        return status[0], elapsed

    def update(self, frame: Any, new: Any = None) -> tuple[Any, float]:
        status, elapsed = self._runtime.update(frame, [])
        return status[0], elapsed


class SupervisedExperiment(_Supervised):  # type: ignore[misc]
    """The toolkit's supervised experiment with the single-object adapter."""

    def _get_runtime(self, tracker: Any, sequence: Any, multiobject: bool = False) -> Any:
        runtime: Any = SingleObjectRuntime(tracker.runtime())
        if self.realtime is not None:
            grace = to_number(self.realtime.grace, min_n=0)
            fps = to_number(self.realtime.fps, min_n=0, conversion=float)
            interval = 1 / float(sequence.metadata("fps", fps))
            runtime = RealtimeTrackerRuntime(runtime, grace, interval)
        return runtime
