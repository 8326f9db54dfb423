"""Shared fixtures. Data in ../shared is optional: tests that need it skip cleanly."""

from __future__ import annotations

import os
from pathlib import Path

# One BLAS/OpenMP thread, as the trackers are meant to run: multi-threaded BLAS makes the
# trackers' many small matrix products slower, not faster, on a shared 2-core machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402  (after the thread variables, before numpy is imported)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FASTCF_SHARED", REPO.parent / "shared")).resolve()


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test when it is absent."""
    p = SHARED.joinpath("data", *parts)
    if not p.exists():
        pytest.skip(f"shared data not available: {p}")
    return p


@pytest.fixture
def shared_sequences() -> Path:
    return shared_path("sequences")


def require(module: str, reason: str | None = None) -> object:
    """Import an optional test dependency: skip when it is missing on a user's machine,
    but fail in CI (``CI`` set), where the dev extra must have installed it."""
    if os.environ.get("CI"):
        import importlib

        return importlib.import_module(module)
    return pytest.importorskip(module, reason=reason)
