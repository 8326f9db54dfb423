"""Check every tracker of a run before any work starts, and resolve what it will run with.

:func:`prepare_trackers` is shared by ``fastcf eval`` (the runner) and ``fastcf bench``:

1. names are known and not repeated; ``overrides`` name known config fields (converted
   by field type, :func:`fastcf.registry.apply_overrides`);
2. ``threads`` becomes the ``threads`` override of every tracker whose config has that
   field (unless the overrides set it), so each tracker scopes its own threads;
3. every config's ``missing_resources()`` is asked, and all that is missing (e.g. ``eco``
   without a network file, ``eco-vgg16`` without the cached teacher) is reported in one
   :class:`~fastcf.errors.ConfigError`;
4. every tracker is constructed once, so that a network file that cannot be read fails
   here, not on every sequence later;
5. the :class:`~fastcf.evaluation.identity.TrackerIdentity` of each tracker (config,
   weights, fingerprint) is resolved.

Tracker objects (anything with ``init`` / ``update``) may be given instead of names; they
are used as they are (no overrides, no thread override) and can only run in-process.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastcf.errors import ConfigError, FastCFError
from fastcf.evaluation.identity import TrackerIdentity, identify, identify_object
from fastcf.registry import (
    TrackerEntry,
    config_missing_resources,
    create,
    entry,
    get_config,
)
from fastcf.threads import check_threads


@dataclass(frozen=True)
class PreparedTracker:
    """One tracker of a run, checked: what to create and where its results go."""

    name: str  # registered name, or the label of a tracker object
    folder: str  # results folder: name, plus "_<tag>" when tagged
    overrides: dict[str, Any]
    identity: TrackerIdentity
    entry: TrackerEntry | None  # None for a tracker object
    instance: Any = None  # a tracker object given by the caller (in-process only)

    def create(self) -> Any:
        """A fresh tracker (the caller's object itself for a tracker object)."""
        if self.instance is not None:
            return self.instance
        return create(self.name, **self.overrides)


def tracker_label(tracker: Any) -> str:
    """The name a tracker object's results are stored under."""
    name = getattr(tracker, "name", None)
    if isinstance(name, str) and name and name != "base":
        return name
    return type(tracker).__name__


def split_overrides(
    trackers: Sequence[str], overrides: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """``{"field": v}`` applies to every tracker, ``{"tracker:field": v}`` to one."""
    per: dict[str, dict[str, Any]] = {t: {} for t in trackers}
    for key, value in (overrides or {}).items():
        name, sep, fieldname = key.rpartition(":")
        if not sep:
            for t in trackers:
                per[t][key] = value
        elif name in per:
            per[name][fieldname] = value
        else:
            raise ConfigError(
                f"override {key!r} names tracker {name!r}, which is not among the trackers "
                f"being run ({', '.join(trackers)})"
            )
    return per


def _has_field(config: Any, name: str) -> bool:
    return dataclasses.is_dataclass(config) and any(
        f.name == name for f in dataclasses.fields(config)
    )


def check_tag(tag: str) -> str:
    if tag and any(c in tag for c in "/\\:"):
        raise ConfigError(f"tag {tag!r} must not contain '/', '\\' or ':'")
    return tag


def prepare_trackers(
    trackers: Sequence[Any],
    overrides: Mapping[str, Any] | None = None,
    *,
    threads: int = 1,
    tag: str = "",
    construct: bool = True,
) -> list[PreparedTracker]:
    """Check and resolve ``trackers`` (names or tracker objects); see the module doc.

    Raises :class:`ConfigError` naming every problem found, before any work is done.
    """
    if not trackers:
        raise ConfigError("no trackers given")
    check_threads(threads, "threads")
    check_tag(tag)
    labels = [t if isinstance(t, str) else tracker_label(t) for t in trackers]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"tracker list has duplicates: {', '.join(labels)}")
    objects = {label for label, t in zip(labels, trackers, strict=True) if not isinstance(t, str)}
    for label, t in zip(labels, trackers, strict=True):
        if label in objects and not (
            callable(getattr(t, "init", None)) and callable(getattr(t, "update", None))
        ):
            raise ConfigError(
                f"{label!r} is neither a tracker name nor an object with init() and update()"
            )
    per = split_overrides(labels, overrides)
    for label in objects:
        if per[label]:
            raise ConfigError(
                f"overrides {sorted(per[label])} cannot apply to the tracker object {label!r}: "
                "set its config when you build it, or register it and pass its name"
            )
    configs: dict[str, Any] = {}
    for label in labels:
        if label in objects:
            continue
        entry(label)  # unknown name: a ConfigError listing the available ones
        config = get_config(label, **per[label])
        if "threads" not in per[label] and _has_field(config, "threads"):
            per[label]["threads"] = threads
            config = get_config(label, **per[label])
        configs[label] = config
    missing = [
        f"{label} needs {need}"
        for label, config in configs.items()
        for need in config_missing_resources(config)
    ]
    if missing:
        raise ConfigError("cannot run: " + "; ".join(missing))
    if construct:
        problems = []
        for label in configs:
            try:
                create(label, **per[label])
            except FastCFError as exc:
                problems.append(f"{label}: {exc}")
            except Exception as exc:  # noqa: BLE001 - reported with the tracker's name
                problems.append(f"{label}: {type(exc).__name__}: {exc}")
        if problems:
            raise ConfigError("cannot create tracker " + "; ".join(problems))
    prepared = []
    for label, t in zip(labels, trackers, strict=True):
        folder = f"{label}_{tag}" if tag else label
        if label in objects:
            ident = identify_object(t, label)
            prepared.append(PreparedTracker(label, folder, {}, ident, None, t))
        else:
            ident = identify(label, per[label])
            prepared.append(PreparedTracker(label, folder, per[label], ident, entry(label)))
    return prepared
