"""Teacher feature cache: the teacher runs once per pair, features are memory-mapped.

Layout of a cache folder (one per split)::

    meta.json        key, what it was built from, shapes; written last (marks completion)
    patches.npy      (N, 2, S, S, 3) uint8   template and search patches
    targets.npy      (N, 3) float32          dy, dx (patch pixels), scale
    <tap>.npy        (N, 2, C, h, w) float16 teacher features of template and search

The key hashes the teacher's identity (its weights), the taps, the patch size and the full
description of the pairs (sources, config, seed, count). Opening a cache whose key differs,
or an unfinished one, deletes its files and rebuilds it.
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

CACHE_VERSION = 1
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


def cache_key(teacher_id: str, taps: Sequence[str], sampler: PairSampler) -> str:
    payload = {
        "version": CACHE_VERSION,
        "teacher": teacher_id,
        "taps": list(taps),
        "patch_size": sampler.config.patch_size,
        "pairs": sampler.describe(),
    }
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _tap_file(tap: str) -> str:
    return "tap_" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in tap) + ".npy"


@dataclass
class CacheBatch:
    templates: torch.Tensor  # (B, 3, S, S) float BGR 0..255
    searches: torch.Tensor  # (B, 3, S, S)
    offsets: torch.Tensor  # (B, 2) dy, dx in patch pixels
    scales: torch.Tensor  # (B,)
    teacher_template: dict[str, torch.Tensor]  # tap -> (B, C, h, w) float32
    teacher_search: dict[str, torch.Tensor]


class TeacherCache:
    """Open (or build) the cache of ``sampler``'s pairs under ``folder``."""

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
    ) -> None:
        if not taps:
            raise ValueError("the teacher cache needs at least one tap")
        self.folder = Path(folder)
        self.taps = tuple(taps)
        self.sampler = sampler
        self.teacher_id = teacher_id or weights_fingerprint(teacher)
        self.key = cache_key(self.teacher_id, self.taps, sampler)
        self.rebuilt = False
        if not self._valid():
            if not build:
                raise FileNotFoundError(f"{self.folder}: no complete cache with key {self.key}")
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
        names = ["patches.npy", "targets.npy"] + [_tap_file(t) for t in self.taps]
        return all((self.folder / n).is_file() for n in names)

    def _open(self) -> None:
        self.meta = json.loads(self._meta_path().read_text())
        self.patches: npt.NDArray[np.uint8] = np.load(self.folder / "patches.npy", mmap_mode="r")
        self.targets: npt.NDArray[np.float32] = np.load(self.folder / "targets.npy")
        self.features: dict[str, npt.NDArray[np.float16]] = {
            t: np.load(self.folder / _tap_file(t), mmap_mode="r") for t in self.taps
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
        was_training = teacher.training
        teacher.eval()
        patches = np.lib.format.open_memmap(
            folder / "patches.npy", mode="w+", dtype=np.uint8, shape=(n, 2, s, s, 3)
        )
        targets = np.zeros((n, 3), np.float32)
        feats: dict[str, np.memmap] = {}
        peak = {t: 0.0 for t in self.taps}
        done = 0
        with torch.no_grad():
            for start in range(0, n, batch_size):
                idx = range(start, min(n, start + batch_size))
                pairs = [self.sampler[i] for i in idx]
                for k, p in zip(idx, pairs, strict=True):
                    patches[k, 0], patches[k, 1] = p.template, p.search
                    targets[k] = (p.offset[0], p.offset[1], p.scale)
                batch = np.stack([patches[k] for k in idx]).reshape(-1, s, s, 3)
                x = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float()
                out = teacher(x)
                for t in self.taps:
                    if t not in out:
                        raise KeyError(f"teacher returned no tap {t!r}; got {sorted(out)}")
                    f = out[t].float().cpu().numpy()
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
            "taps": list(self.taps),
            "n_pairs": n,
            "patch_size": s,
            "shapes": {t: list(f.shape[2:]) for t, f in feats.items()},
            "max_abs": peak,
            "clipped": {t: bool(peak[t] > FP16_MAX) for t in self.taps},
            "pairs": self.sampler.describe() | {"images": len(self.sampler.images)},
        }
        (folder / "meta.json").write_text(json.dumps(meta, indent=1))

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
