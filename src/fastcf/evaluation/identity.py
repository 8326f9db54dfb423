"""What a tracker's results were produced with: resolved config, weights, fingerprint.

:func:`identify` resolves a registered tracker's preset with its overrides and returns a
:class:`TrackerIdentity`:

* ``config``: every field of the config dataclass as JSON (nested dataclasses as objects,
  tuples as lists, a network object as its class and the sha256 of its weights);
* ``weights``: each file the tracker reads its network or tables from, with its sha256:
  every string field naming an existing file (``cnn_path``, ``cn_table``, an ONNX file,
  ...), the shipped student when the config falls back on it (``shipped_student`` with no
  ``cnn`` / ``cnn_path``), and an object's ``weights_path`` (e.g. the cached VGG16
  teacher of ``eco-vgg16``);
* ``fingerprint``: sha256 of the tracker class, the config and the weights' digests (a
  file field enters by its content, not its path: the same network moved elsewhere keeps
  the fingerprint). fastcf's version is recorded beside it, not in it.

The runner stores the identity with the results (``configs/<fingerprint>.json``, and
the fingerprint in each sequence's ``meta/<seq>.json``), resumes only results of the same
fingerprint, and the report marks trackers whose sequences have different ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Files hashed in this process: (path, size, mtime_ns) -> sha256.
_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path) -> str | None:
    """sha256 of a file (cached on path, size and mtime); None when it is not a file."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return None
    if not p.is_file():
        return None
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def _qualname(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _module_sha256(module: Any) -> str:
    """sha256 over a torch module's state dict (names, dtypes, shapes, values)."""
    h = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        try:
            h.update(t.numpy().tobytes())
        except TypeError:  # a dtype numpy lacks (bfloat16): hash its float32 values
            h.update(t.float().numpy().tobytes())
    return h.hexdigest()


def _is_torch_module(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.nn.Module)


@dataclass
class _Walk:
    weights: list[dict[str, Any]] = field(default_factory=list)
    unhashed: list[str] = field(default_factory=list)


def _to_json(value: Any, where: str, walk: _Walk, for_fingerprint: bool) -> Any:
    """JSON form of a config value; files are hashed into ``walk.weights``."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str | Path):
        text = str(value)
        sha = file_sha256(text) if text else None
        if sha is None:
            return text
        walk.weights.append({"field": where, "path": text, "sha256": sha})
        return {"file_sha256": sha} if for_fingerprint else text
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "__class__": _qualname(value),
            **{
                f.name: _to_json(getattr(value, f.name), f"{where}.{f.name}", walk, for_fingerprint)
                for f in dataclasses.fields(value)
            },
        }
    if isinstance(value, dict):
        return {
            str(k): _to_json(v, f"{where}.{k}", walk, for_fingerprint) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_to_json(v, f"{where}[{i}]", walk, for_fingerprint) for i, v in enumerate(value)]
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return {"ndarray": list(value.shape), "dtype": str(value.dtype), "sha256": digest}
    if np is not None and isinstance(value, np.generic):
        return _to_json(value.item(), where, walk, for_fingerprint)
    if _is_torch_module(value):
        return {"__class__": _qualname(value), "state_sha256": _module_sha256(value)}
    network = getattr(value, "network", None)
    if network is not None and _is_torch_module(network):  # a CNN feature extractor
        return {"__class__": _qualname(value), "network": _to_json(network, where, walk, False)}
    weights_path = getattr(value, "weights_path", None)
    if isinstance(weights_path, str | Path):  # e.g. the lazily loaded VGG16 teacher
        sha = file_sha256(weights_path)
        walk.weights.append({"field": where, "path": str(weights_path), "sha256": sha})
        return {"__class__": _qualname(value), "weights_sha256": sha}
    if callable(value) and hasattr(value, "__qualname__"):
        return {"callable": f"{getattr(value, '__module__', '?')}:{value.__qualname__}"}
    walk.unhashed.append(where)
    return {"__class__": _qualname(value), "hashed": False}


@dataclass(frozen=True)
class TrackerIdentity:
    """The settings behind a tracker's results (see the module doc)."""

    tracker: str  # registered name (or the object's name)
    tracker_class: str  # "module:Class"
    config: dict[str, Any] | None  # resolved config as JSON (None: object without a config)
    weights: list[dict[str, Any]]  # {"field", "path", "sha256"} per file read
    fastcf_version: str
    fingerprint: str  # sha256 hex
    unhashed: list[str] = field(default_factory=list)  # config values not fingerprinted

    @property
    def short(self) -> str:
        """The first 12 hex digits (for messages and tables)."""
        return self.fingerprint[:12]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _shipped_student(config: Any) -> list[dict[str, Any]]:
    if not getattr(config, "shipped_student", False):
        return []
    cnn: Any = getattr(config, "cnn", None)
    cnn_path: Any = getattr(config, "cnn_path", "")
    if cnn is not None or cnn_path:
        return []
    from fastcf.nets.shipped import shipped_student_paths

    pt, _ = shipped_student_paths()
    return [{"field": "shipped_student", "path": str(pt), "sha256": file_sha256(pt)}]


def identify_config(config: Any, tracker_class: Any, name: str) -> TrackerIdentity:
    """The identity of ``tracker_class`` built from the dataclass ``config``."""
    import fastcf

    walk = _Walk()
    as_json = _to_json(config, "config", walk, for_fingerprint=False)
    fp_walk = _Walk()
    for_fp = _to_json(config, "config", fp_walk, for_fingerprint=True)
    weights = walk.weights + _shipped_student(config)
    payload = {
        "tracker_class": _qualname(tracker_class),
        "config": for_fp,
        "weights": sorted(str(w["sha256"]) for w in weights),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return TrackerIdentity(
        tracker=name,
        tracker_class=_qualname(tracker_class),
        config=as_json if isinstance(as_json, dict) else {"value": as_json},
        weights=weights,
        fastcf_version=fastcf.__version__,
        fingerprint=hashlib.sha256(text.encode()).hexdigest(),
        unhashed=walk.unhashed,
    )


def identify(name: str, overrides: dict[str, Any] | None = None) -> TrackerIdentity:
    """The identity of registered tracker ``name`` with config ``overrides``."""
    from fastcf.registry import _resolve, entry, get_config

    config = get_config(name, **(overrides or {}))
    return identify_config(config, _resolve(entry(name).tracker), name)


def identify_object(tracker: Any, name: str) -> TrackerIdentity:
    """The identity of a tracker object (its ``config`` dataclass when it has one)."""
    import fastcf

    config = getattr(tracker, "config", None)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return identify_config(config, type(tracker), name)
    text = json.dumps({"tracker_class": _qualname(tracker), "config": None})
    return TrackerIdentity(
        tracker=name,
        tracker_class=_qualname(tracker),
        config=None,
        weights=[],
        fastcf_version=fastcf.__version__,
        fingerprint=hashlib.sha256(text.encode()).hexdigest(),
        unhashed=["config"],
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "__class__" and prefix:
                out[f"{prefix}.__class__"] = v
                continue
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def config_differences(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """``"field: old -> new"`` for every config field that differs (flattened names)."""
    a = _flatten(old or {})
    b = _flatten(new or {})
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            out.append(f"{key}: {a.get(key, '<absent>')!r} -> {b.get(key, '<absent>')!r}")
    return out
