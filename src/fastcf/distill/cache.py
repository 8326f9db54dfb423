"""Teacher feature cache: the teacher runs once per pair, features are memory-mapped.

Layout of a cache folder (one per split)::

    meta.json        key, taps, what it was built from, shapes; written last (completion)
    patches.npy      (N, 2, S, S, 3) uint8   template and search patches
    targets.npy      (N, 3) float32          dy, dx (patch pixels), scale
    tap_<tap>.npy    (N, 2, C, h, w) float16 teacher features of template and search
    proj_<tap>.npy   (k, C_teacher) float32  channel projection of that tap (PCA), if any

The key hashes the teacher's identity (its weights), the patch size, the full description
of the pairs (sources, config, seed, count) and the channel projection. A cache holds a set
of taps; opening it for taps it holds reuses it, otherwise (another key, a missing tap, an
unfinished build) its files are deleted and it is rebuilt. A cache built from one teacher
is therefore never used for another.

**Channel projection (PCA).** Deep teacher maps at tracker-sized patches are large (conv4_3
of a 224 px patch: 28 x 28 x 512). With ``pca_dims = k`` every tap with more than ``k``
channels is stored as its coordinates on the top-``k`` eigenvectors of the *uncentred*
channel second-moment matrix ``E[t t^T]`` (fitted on the first ``pca_fit_pairs`` pairs of
the split that builds it; another split reuses that projection). ``||P t||`` keeps almost
all of ``||t||`` (the fraction is stored in ``meta.json``), and since the fidelity adapters
are linear, fitting ``P t`` instead of ``t`` drops only the residual the student could not
reach through a ``k``-dimensional adapter anyway (docs/distillation.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from fastcf.distill.pairs import PairSampler

CACHE_VERSION = 2
FP16_MAX = 65504.0


def weights_fingerprint(module: nn.Module, name: str = "") -> str:
    """SHA-1 of a module's class, name and every parameter/buffer (names, shapes, values)."""
    h = hashlib.sha1()
    h.update(f"{type(module).__name__}:{name}".encode())
    for key, value in sorted(module.state_dict().items()):
        t = value.detach().cpu().contiguous()
        h.update(f"{key}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()


def cache_key(teacher_id: str, sampler: PairSampler, projection: object = None) -> str:
    """What determines the cached values of any tap: teacher, pairs, channel projection."""
    payload = {
        "version": CACHE_VERSION,
        "teacher": teacher_id,
        "patch_size": sampler.config.patch_size,
        "pairs": sampler.describe(),
        "projection": projection,
    }
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _safe(tap: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in tap)


def _tap_file(tap: str) -> str:
    return f"tap_{_safe(tap)}.npy"


def _proj_file(tap: str) -> str:
    return f"proj_{_safe(tap)}.npy"


def fit_projection(second_moment: npt.NDArray[np.float64], dims: int) -> npt.NDArray[np.float32]:
    """Top-``dims`` eigenvectors (rows, ``(dims, C)``) of a channel second-moment matrix,
    by decreasing eigenvalue; each row's largest entry is made positive (deterministic)."""
    values, vectors = np.linalg.eigh(second_moment)
    order = np.argsort(values)[::-1][:dims]
    rows = vectors[:, order].T
    signs = np.sign(rows[np.arange(rows.shape[0]), np.abs(rows).argmax(axis=1)])
    return (rows * np.where(signs == 0, 1.0, signs)[:, None]).astype(np.float32)


def project_channels(f: npt.NDArray[np.float32], proj: npt.NDArray[np.float32]) -> np.ndarray:
    """``(N, C, h, w)`` maps -> ``(N, k, h, w)`` coordinates on the rows of ``proj (k, C)``."""
    return np.einsum("kc,nchw->nkhw", proj, f, optimize=True).astype(np.float32)


@dataclass
class CacheBatch:
    templates: torch.Tensor  # (B, 3, S, S) float BGR 0..255
    searches: torch.Tensor  # (B, 3, S, S)
    offsets: torch.Tensor  # (B, 2) dy, dx in patch pixels
    scales: torch.Tensor  # (B,)
    teacher_template: dict[str, torch.Tensor]  # tap -> (B, C, h, w) float32
    teacher_search: dict[str, torch.Tensor]


class TeacherCache:
    """Open (or build) the cache of ``sampler``'s pairs under ``folder``.

    ``taps``: the teacher taps needed now (a cache holding more is reused); ``extra_taps``:
    more taps to store when the cache is (re)built, so that runs with other tap choices
    reuse it. ``pca_dims``: store taps with more channels as their top-``pca_dims``
    principal coordinates, the projection fitted on ``pca_fit_pairs`` pairs, or taken from
    ``projections`` (``{tap: (k, C)}``, e.g. the training cache's for the validation one).
    """

    def __init__(
        self,
        folder: str | Path,
        teacher: nn.Module,
        taps: Sequence[str],
        sampler: PairSampler,
        *,
        teacher_id: str | None = None,
        batch_size: int = 16,
        device: str | torch.device = "cpu",
        progress: Callable[[int, int], None] | None = None,
        build: bool = True,
        extra_taps: Sequence[str] = (),
        pca_dims: int = 0,
        pca_fit_pairs: int = 64,
        projections: dict[str, npt.NDArray[np.float32]] | None = None,
    ) -> None:
        if not taps:
            raise ValueError("the teacher cache needs at least one tap")
        if pca_dims < 0 or pca_fit_pairs < 1:
            raise ValueError("pca_dims must be >= 0 and pca_fit_pairs >= 1")
        self.folder = Path(folder)
        self.taps = tuple(dict.fromkeys(taps))
        self.build_taps = tuple(dict.fromkeys([*self.taps, *extra_taps]))
        self.sampler = sampler
        self.teacher_id = teacher_id or weights_fingerprint(teacher)
        self.pca_dims = int(pca_dims)
        self.pca_fit_pairs = min(int(pca_fit_pairs), len(sampler))
        self.given_projections = projections
        projection: object = None
        if projections is not None:
            h = hashlib.sha1()
            for tap in sorted(projections):
                h.update(tap.encode())
                h.update(np.ascontiguousarray(projections[tap], np.float32).tobytes())
            projection = {"given": h.hexdigest()}
        elif self.pca_dims:
            projection = {"pca_dims": self.pca_dims, "fit_pairs": self.pca_fit_pairs}
        self.key = cache_key(self.teacher_id, sampler, projection)
        self.rebuilt = False
        if not self._valid():
            if not build:
                raise FileNotFoundError(
                    f"{self.folder}: no complete cache with key {self.key} and taps {self.taps}"
                )
            self._build(teacher, batch_size, torch.device(device), progress)
            self.rebuilt = True
        self._open()

    # --- state ---------------------------------------------------------------------------
    def _meta_path(self) -> Path:
        return self.folder / "meta.json"

    def _valid(self) -> bool:
        try:
            meta = json.loads(self._meta_path().read_text())
        except (OSError, ValueError):
            return False
        if meta.get("key") != self.key or not meta.get("complete"):
            return False
        if not set(self.taps) <= set(meta.get("taps", [])):
            return False
        names = ["patches.npy", "targets.npy"] + [_tap_file(t) for t in self.taps]
        names += [_proj_file(t) for t in meta.get("projected", []) if t in self.taps]
        return all((self.folder / n).is_file() for n in names)

    def _open(self) -> None:
        self.meta = json.loads(self._meta_path().read_text())
        self.patches: npt.NDArray[np.uint8] = np.load(self.folder / "patches.npy", mmap_mode="r")
        self.targets: npt.NDArray[np.float32] = np.load(self.folder / "targets.npy")
        self.features: dict[str, npt.NDArray[np.float16]] = {
            t: np.load(self.folder / _tap_file(t), mmap_mode="r") for t in self.taps
        }
        #: the channel projection of each projected tap, ``(k, C_teacher)``
        self.projections: dict[str, npt.NDArray[np.float32]] = {
            t: np.load(self.folder / _proj_file(t))
            for t in self.meta.get("projected", [])
            if t in self.taps
        }

    def __len__(self) -> int:
        return int(self.patches.shape[0])

    def tap_shapes(self) -> dict[str, tuple[int, int, int]]:
        return {t: tuple(int(v) for v in f.shape[2:]) for t, f in self.features.items()}  # type: ignore[misc]

    # --- building ------------------------------------------------------------------------
    def _build(
        self,
        teacher: nn.Module,
        batch_size: int,
        device: torch.device,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        # build in a private folder, then move it into place: a concurrent build of the same
        # cache (another process) cannot interleave writes with this one
        tmp = self.folder.parent / f".{self.folder.name}.building-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        try:
            self._write(tmp, teacher, batch_size, device, progress)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if self.folder.exists():
            shutil.rmtree(self.folder)
        os.replace(tmp, self.folder)

    def _write(
        self,
        folder: Path,
        teacher: nn.Module,
        batch_size: int,
        device: torch.device,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        n, s = len(self.sampler), self.sampler.config.patch_size
        taps = self.build_taps
        was_training = teacher.training
        teacher.eval()
        proj, kept = self._projections(teacher, taps, batch_size, device)
        for t, matrix in proj.items():
            np.save(folder / _proj_file(t), matrix)
        patches = np.lib.format.open_memmap(
            folder / "patches.npy", mode="w+", dtype=np.uint8, shape=(n, 2, s, s, 3)
        )
        targets = np.zeros((n, 3), np.float32)
        feats: dict[str, np.memmap] = {}
        peak = {t: 0.0 for t in taps}
        done = 0
        with torch.no_grad():
            for start in range(0, n, batch_size):
                idx = range(start, min(n, start + batch_size))
                pairs = [self.sampler[i] for i in idx]
                for k, p in zip(idx, pairs, strict=True):
                    patches[k, 0], patches[k, 1] = p.template, p.search
                    targets[k] = (p.offset[0], p.offset[1], p.scale)
                batch = np.stack([patches[k] for k in idx]).reshape(-1, s, s, 3)
                out = self._run(teacher, batch, taps, device)
                for t in taps:
                    f = out[t]
                    if t in proj:
                        f = project_channels(f, proj[t])
                    f = f.reshape(len(idx), 2, *f.shape[1:])
                    if t not in feats:
                        feats[t] = np.lib.format.open_memmap(
                            folder / _tap_file(t),
                            mode="w+",
                            dtype=np.float16,
                            shape=(n, 2, *f.shape[2:]),
                        )
                    peak[t] = max(peak[t], float(np.abs(f).max()))
                    feats[t][idx.start : idx.stop] = np.clip(f, -FP16_MAX, FP16_MAX)
                done += len(idx)
                if progress is not None:
                    progress(done, n)
        teacher.train(was_training)
        np.save(folder / "targets.npy", targets)
        patches.flush()
        for f in feats.values():
            f.flush()
        meta = {
            "key": self.key,
            "complete": True,
            "version": CACHE_VERSION,
            "teacher_id": self.teacher_id,
            "taps": list(taps),
            "projected": sorted(proj),
            "energy_kept": kept,
            "n_pairs": n,
            "patch_size": s,
            "shapes": {t: list(f.shape[2:]) for t, f in feats.items()},
            "max_abs": peak,
            "clipped": {t: bool(peak[t] > FP16_MAX) for t in taps},
            "pairs": self.sampler.describe() | {"images": len(self.sampler.images)},
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=1))

    @staticmethod
    def _run(
        teacher: nn.Module, batch: npt.NDArray[np.uint8], taps: Sequence[str], device: torch.device
    ) -> dict[str, npt.NDArray[np.float32]]:
        x = torch.from_numpy(np.ascontiguousarray(batch)).to(device).permute(0, 3, 1, 2).float()
        out = teacher(x)
        for t in taps:
            if t not in out:
                raise KeyError(f"teacher returned no tap {t!r}; got {sorted(out)}")
        return {t: out[t].float().cpu().numpy() for t in taps}

    def _projections(
        self, teacher: nn.Module, taps: Sequence[str], batch_size: int, device: torch.device
    ) -> tuple[dict[str, npt.NDArray[np.float32]], dict[str, float]]:
        """The channel projection per tap (given, or fitted on the first pairs) and the
        fraction of the teacher's energy it keeps on those pairs."""
        if self.given_projections is not None:
            # taps without a given projection are stored as they are
            given = self.given_projections.items()
            return {t: np.asarray(p, np.float32) for t, p in given if t in taps}, {}
        if not self.pca_dims:
            return {}, {}
        s = self.sampler.config.patch_size
        moments: dict[str, npt.NDArray[np.float64]] = {}
        with torch.no_grad():
            for start in range(0, self.pca_fit_pairs, batch_size):
                idx = range(start, min(self.pca_fit_pairs, start + batch_size))
                pairs = [self.sampler[i] for i in idx]
                batch = np.stack([np.stack([p.template, p.search]) for p in pairs])
                out = self._run(teacher, batch.reshape(-1, s, s, 3), taps, device)
                for t, f in out.items():
                    if f.shape[1] <= self.pca_dims:
                        continue
                    flat = f.transpose(1, 0, 2, 3).reshape(f.shape[1], -1).astype(np.float64)
                    moments[t] = moments.get(t, 0.0) + flat @ flat.T
        proj = {t: fit_projection(m, self.pca_dims) for t, m in moments.items()}
        kept = {
            t: float(np.trace(p.astype(np.float64) @ moments[t] @ p.T.astype(np.float64)))
            / float(np.trace(moments[t]))
            for t, p in proj.items()
        }
        return proj, kept

    # --- reading -------------------------------------------------------------------------
    def batch(self, indices: Sequence[int], device: str | torch.device = "cpu") -> CacheBatch:
        idx = np.asarray([int(i) for i in indices], np.int64)
        p = torch.from_numpy(np.ascontiguousarray(self.patches[idx])).to(device)
        p = p.permute(0, 1, 4, 2, 3).float()  # (B, 2, 3, S, S)
        tg = torch.from_numpy(self.targets[idx]).to(device)
        tt: dict[str, torch.Tensor] = {}
        ts: dict[str, torch.Tensor] = {}
        for t, f in self.features.items():
            v = torch.from_numpy(np.ascontiguousarray(f[idx])).to(device).float()
            tt[t], ts[t] = v[:, 0], v[:, 1]
        return CacheBatch(p[:, 0], p[:, 1], tg[:, :2], tg[:, 2], tt, ts)
