"""What a tracker config needs from outside the package, and whether it is there.

Shared by the ECO and STRCF configs' ``missing_resources()`` (the contract of
:func:`fastcf.registry.missing_resources`): each returns human-readable descriptions of
the files / networks that are missing, empty when the tracker can be built. Nothing is
loaded here; only file existence is checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def missing_file(path: str, field_name: str, what: str) -> list[str]:
    """``[description]`` when ``path`` is set but is not a file, else []."""
    if path and not Path(path).is_file():
        return [f"{what} {field_name}={path!r} does not exist"]
    return []


def missing_cnn(config: Any) -> list[str]:
    """The CNN slot of an ECO / STRCF config (``cnn``, ``cnn_path``, ``shipped_student``,
    ``require_cnn``): what is missing for the network the config would use."""
    cnn = getattr(config, "cnn", None)
    if cnn is not None:
        method = getattr(cnn, "missing_resources", None)  # e.g. the lazy VGG16 teacher
        return [str(m) for m in method()] if callable(method) else []
    path = getattr(config, "cnn_path", "")
    if path:
        return missing_file(path, "cnn_path", "the network file")
    if getattr(config, "shipped_student", False):
        from fastcf.nets.shipped import shipped_student_paths

        absent = [str(p) for p in shipped_student_paths() if not p.is_file()]
        if absent:
            return [
                f"the shipped student ({', '.join(absent)}) is missing: the fastcf installation "
                "is incomplete; reinstall it or give cnn_path="
            ]
        return []
    if getattr(config, "require_cnn", False):
        return [
            "a CNN: give a network file with cnn_path= (a MatConvNet .mat such as CF_VGGM.mat "
            "or a fastcf student checkpoint; on the command line --set cnn_path=FILE) or a "
            "network object with cnn="
        ]
    return []
