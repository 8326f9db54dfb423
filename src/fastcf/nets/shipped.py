"""The default student shipped with fastcf (package data under ``fastcf/nets/weights``).

``student.pt`` + ``student.json`` are a :func:`fastcf.nets.save_student` package: a
``vggm-64x`` student distilled from VGG16-HED (see docs/model_card.md). Nothing is ever
downloaded: the files are installed with the package. :func:`load_shipped_student`
verifies the sha256 recorded in the json (a missing digest is an error too) and returns a
fresh network each call, so callers own their copy and can fine-tune it freely.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastcf.errors import WeightsError
from fastcf.nets.base import TapNetwork

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SHIPPED_STEM = "student"


def shipped_student_paths() -> tuple[Path, Path]:
    """``(student.pt, student.json)`` of the shipped student (they may not exist)."""
    base = WEIGHTS_DIR / SHIPPED_STEM
    return base.with_suffix(".pt"), base.with_suffix(".json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_shipped_student() -> TapNetwork:
    """The shipped default student (eval mode, a new module every call).

    Raises :class:`~fastcf.errors.WeightsError` naming the file when a file is missing,
    the json has no sha256, or the ``.pt`` does not match it.
    """
    from fastcf.nets.students import load_student

    pt, js = shipped_student_paths()
    for p in (pt, js):
        if not p.is_file():
            raise WeightsError(
                f"{p}: the shipped student is missing (fastcf installation is incomplete); "
                "pass cnn= or cnn_path= explicitly"
            )
    try:
        meta = json.loads(js.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{js}: invalid JSON ({exc})") from None
    want = meta.get("sha256") if isinstance(meta, dict) else None
    if not isinstance(want, str) or len(want) != 64:
        raise WeightsError(f"{js}: no sha256 recorded for {pt.name}; refusing to load it")
    got = _sha256(pt)
    if got != want:
        raise WeightsError(
            f"{pt}: sha256 {got} does not match {want} recorded in {js.name}; "
            "the shipped weights are corrupted or were replaced"
        )
    return load_student(pt)
