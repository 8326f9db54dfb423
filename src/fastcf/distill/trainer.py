"""The distillation trainer: teacher cache, fidelity + tracking losses, checkpoints.

One run writes into ``out``::

    checkpoint.pt       student, adapters, optimiser, epoch, history (resume from it)
    history.json        per-epoch train/validation losses, seconds per iteration
    loss_curves.png     fidelity and tracking losses (train and validation) per epoch
    student.pt/.json    the student in the fastcf.nets package format
    student.onnx        when ``onnx`` is installed
    cache/{train,val}/  the teacher feature cache (unless another cache folder is given)

Determinism: the student/adapters are initialised from ``seed``; the batch order of epoch
``e`` is a permutation drawn from ``(seed, e)`` only, so a resumed run continues exactly
as an uninterrupted one would. Under ``torchrun`` (``WORLD_SIZE > 1``) each rank takes
every ``WORLD_SIZE``-th sample of that permutation and gradients are averaged by
:class:`~torch.nn.parallel.DistributedDataParallel`; rank 0 builds the cache and writes
every file.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fastcf.distill.cache import CacheBatch, TeacherCache, weights_fingerprint
from fastcf.distill.config import TrainConfig
from fastcf.distill.losses import FidelityLoss, label_sigma_cells, total_loss, tracking_loss
from fastcf.distill.models import init_from_teacher, tap_table
from fastcf.distill.pairs import PairSampler
from fastcf.errors import ConfigError, WeightsError

Log = Callable[[str], None]


class PooledTaps(nn.Module):
    """The teacher restricted to ``taps``, maps larger than ``max_size`` average-pooled."""

    def __init__(self, teacher: nn.Module, taps: tuple[str, ...], max_size: int) -> None:
        super().__init__()
        self.teacher = teacher
        self.tap_names = taps
        self.max_size = int(max_size)
        trunc = getattr(teacher, "truncated", None)
        self._net = trunc(taps) if callable(trunc) else teacher

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self._net(x)
        res = {}
        for t in self.tap_names:
            f = out[t]
            h, w = int(f.shape[2]), int(f.shape[3])
            if self.max_size > 0 and max(h, w) > self.max_size:
                k = math.ceil(max(h, w) / self.max_size)
                f = F.avg_pool2d(f, k, k, ceil_mode=True)
            res[t] = f
        return res


class DistillModel(nn.Module):
    """Student + fidelity adapters; ``forward`` returns the total loss and its parts."""

    def __init__(self, student: nn.Module, fidelity: FidelityLoss, config: TrainConfig) -> None:
        super().__init__()
        self.student = student
        self.fidelity = fidelity
        self.config = config
        taps = tap_table(student)
        self.strides = {t: int(taps[t].stride) for t in config.tracking}
        p = config.pairs
        self.sigmas = {
            t: max(
                config.min_sigma_cells,
                label_sigma_cells(p.patch_size, p.context, config.sigma_factor, s),
            )
            for t, s in self.strides.items()
        }

    def forward(
        self,
        templates: torch.Tensor,
        searches: torch.Tensor,
        teacher_t: Mapping[str, torch.Tensor],
        teacher_s: Mapping[str, torch.Tensor],
        offsets: torch.Tensor,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        n = templates.shape[0]
        out = self.student(torch.cat([templates, searches]))
        st = {k: v[:n] for k, v in out.items()}
        ss = {k: v[n:] for k, v in out.items()}
        ft = self.fidelity(st, teacher_t)
        fs = self.fidelity(ss, teacher_s)
        fid = {k: 0.5 * (ft[k] + fs[k]) for k in ft}
        trk: dict[str, torch.Tensor] = {}
        if self.config.beta:
            for t in self.config.tracking:
                trk[t] = tracking_loss(
                    st[t],
                    ss[t],
                    offsets,
                    self.strides[t],
                    self.sigmas[t],
                    self.config.lam,
                    window=self.config.dcf_window,
                )
        total = total_loss(fid, trk, self.config.alpha_map, self.config.beta)
        return total, fid, trk


@dataclass
class DistEnv:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> DistEnv:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        return cls(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(spec: str, env: DistEnv) -> torch.device:
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {spec!r} requested but CUDA is not available")
        if spec == "cuda":
            return torch.device("cuda", env.local_rank if env.world > 1 else 0)
    return torch.device(spec)


class Trainer:
    """Distil ``teacher`` into ``student`` on pairs from ``train``/``val`` samplers."""

    def __init__(
        self,
        student: nn.Module,
        teacher: nn.Module,
        config: TrainConfig,
        train: PairSampler,
        val: PairSampler,
        out: str | Path,
        *,
        teacher_id: str | None = None,
        teacher_label: str = "",
        student_label: str = "",
        cache_dir: str | Path | None = None,
        progress: bool = True,
        log: Log = print,
    ) -> None:
        if train.config != config.pairs or val.config != config.pairs:
            raise ConfigError("the pair samplers must use config.pairs")
        self.student = student
        self.teacher = teacher
        self.config = config
        self.train_pairs = train
        self.val_pairs = val
        self.out = Path(out)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.out / "cache"
        self.teacher_label = teacher_label or type(teacher).__name__
        self.student_label = student_label or str(getattr(student, "name", "")) or "student"
        self.progress = progress
        self.log = log
        self.env = DistEnv.from_env()
        self.device = pick_device(config.device, self.env)
        s_taps, t_taps = tap_table(student), tap_table(teacher)
        for t in set(config.student_taps) | set(config.tracking):
            if t not in s_taps:
                raise ConfigError(f"student has no tap {t!r}; taps: {', '.join(s_taps)}")
        for t in config.teacher_taps:
            if t not in t_taps:
                raise ConfigError(f"teacher has no tap {t!r}; taps: {', '.join(t_taps)}")
        self._teacher_id = teacher_id
        self.history: dict[str, Any] = {"epochs": [], "iters": []}

    # --- setup ------------------------------------------------------------------------
    def _caches(self) -> tuple[TeacherCache, TeacherCache]:
        cfg = self.config
        taps = tuple(dict.fromkeys(cfg.teacher_taps))
        stored = tuple(dict.fromkeys([*taps, *cfg.cache_extra_taps]))
        pooled = PooledTaps(self.teacher, stored, cfg.cache_max_size).to(self.device)
        tid = self._teacher_id or weights_fingerprint(self.teacher, self.teacher_label)
        tid = f"{tid}|max_size={cfg.cache_max_size}"
        caches: list[TeacherCache] = []
        for name, sampler in (("train", self.train_pairs), ("val", self.val_pairs)):
            folder = self.cache_dir / name
            # the validation pairs use the training cache's channel projection
            opts: dict[str, Any] = dict(
                teacher_id=tid, extra_taps=cfg.cache_extra_taps, pca_dims=cfg.teacher_pca_dims,
                pca_fit_pairs=cfg.pca_fit_pairs,
                projections=caches[0].projections if caches and cfg.teacher_pca_dims else None,
            )  # fmt: skip
            if self.env.world > 1 and not self.env.is_main:
                torch.distributed.barrier()  # wait for rank 0 to build
                caches.append(TeacherCache(folder, pooled, taps, sampler, build=False, **opts))
                continue
            bar = self._bar(len(sampler), f"teacher cache ({name})")
            last = [0]

            def step(done: int, total: int, bar: Any = bar, last: list[int] = last) -> None:
                if bar is not None:
                    bar.update(done - last[0])
                last[0] = done

            t0 = time.perf_counter()
            cache = TeacherCache(
                folder, pooled, taps, sampler, device=self.device, progress=step, **opts
            )
            if bar is not None:
                bar.close()
            if cache.rebuilt:
                self.log(
                    f"built {name} cache: {len(cache)} pairs in {time.perf_counter() - t0:.1f}s"
                )
            caches.append(cache)
            if self.env.world > 1:
                torch.distributed.barrier()
        return caches[0], caches[1]

    def _bar(self, total: int, desc: str) -> Any:
        if not self.progress or not self.env.is_main:
            return None
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="it", leave=False, dynamic_ncols=True)

    # --- main loop ----------------------------------------------------------------------
    def run(self, *, resume: bool = False) -> dict[str, Any]:
        cfg = self.config
        torch.set_num_threads(max(1, cfg.threads))
        if self.env.world > 1 and not torch.distributed.is_initialized():
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend=backend)
            if self.device.type == "cuda":
                torch.cuda.set_device(self.device)
        if self.env.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
        train_cache, val_cache = self._caches()
        torch.manual_seed(cfg.seed)
        if cfg.init == "teacher" and not resume:
            init_from_teacher(self.student, self.teacher)
        s_ch = {t: int(tap_table(self.student)[t].channels) for t in cfg.student_taps}
        t_ch = {t: int(train_cache.tap_shapes()[t][0]) for t in cfg.teacher_taps}
        fidelity = FidelityLoss(cfg.tap_pairs, s_ch, t_ch)
        model = DistillModel(self.student, fidelity, cfg).to(self.device)
        if cfg.fit_adapters and not resume:
            self._fit_adapters(model, train_cache)
        optim = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        start = 1
        ckpt = self.out / "checkpoint.pt"
        if resume:
            if not ckpt.is_file():
                raise ConfigError(f"--resume: no checkpoint at {ckpt}")
            state = torch.load(ckpt, map_location=self.device, weights_only=False)
            if _resume_view(state["config"]) != _resume_view(cfg.to_dict()):
                raise ConfigError(
                    f"{ckpt}: the checkpoint was written with another configuration; "
                    "resume with the same options or start a new --out"
                )
            model.load_state_dict(state["model"])
            optim.load_state_dict(state["optimizer"])
            self.history = state["history"]
            start = int(state["epoch"]) + 1
            self.log(f"resumed from {ckpt} after epoch {start - 1}")
        runner: nn.Module = model
        if self.env.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            runner = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        if start == 1 and self.env.is_main:
            self.history["teacher_val_tracking"] = self._teacher_tracking(val_cache, model)
            self.history["epochs"].append({"epoch": 0, **self._validate(model, val_cache)})
        n = len(train_cache)
        per_rank = n // self.env.world
        iters = max(1, math.ceil(per_rank / cfg.batch_size))
        for epoch in range(start, cfg.epochs + 1):
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
            perm = torch.randperm(n, generator=gen)[: per_rank * self.env.world]
            mine = perm[self.env.rank :: self.env.world].tolist()
            model.train()
            sums: dict[str, float] = {}
            bar = self._bar(iters, f"epoch {epoch}/{cfg.epochs}")
            t0 = time.perf_counter()
            for it in range(iters):
                idx = mine[it * cfg.batch_size : (it + 1) * cfg.batch_size]
                if not idx:
                    break
                step = (epoch - 1) * iters + it
                warm = min(1.0, (step + 1) / cfg.warmup_iters) if cfg.warmup_iters > 0 else 1.0
                for group in optim.param_groups:
                    group["lr"] = cfg.lr * warm
                b = train_cache.batch(idx, self.device)
                total, fid, trk = runner(
                    b.templates, b.searches, b.teacher_template, b.teacher_search, b.offsets
                )
                optim.zero_grad(set_to_none=True)
                total.backward()
                if cfg.grad_clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optim.step()
                parts = _parts(total, fid, trk)
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + v
                self.history["iters"].append(parts["total"])
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{parts['total']:.4f}")
            if bar is not None:
                bar.close()
            spi = (time.perf_counter() - t0) / iters
            row: dict[str, Any] = {"epoch": epoch, "sec_per_iter": spi}
            row.update({f"train_{k}": v / iters for k, v in sums.items()})
            if self.env.is_main and (epoch % cfg.val_every == 0 or epoch == cfg.epochs):
                row.update(self._validate(model, val_cache))
            self.history["epochs"].append(row)
            if self.env.is_main:
                self.log(_summary(row))
                if epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs:
                    self._checkpoint(ckpt, model, optim, epoch)
                self._write_history()
        if self.env.is_main:
            self.export(model)
        if self.env.world > 1:
            torch.distributed.barrier()
        return self.history

    @torch.no_grad()
    def _fit_adapters(self, model: DistillModel, cache: TeacherCache) -> None:
        """Least-squares adapters on the first ``4 * batch_size`` training pairs (every rank
        computes the same fit from the same pairs, so replicas stay identical)."""
        idx = list(range(min(len(cache), 4 * self.config.batch_size)))
        b = cache.batch(idx, self.device)
        x = torch.cat([b.templates, b.searches])
        out = model.student(x)
        teacher = {
            t: torch.cat([b.teacher_template[t], b.teacher_search[t]]) for t in b.teacher_template
        }
        model.fidelity.fit_adapters(out, teacher)

    # --- validation ------------------------------------------------------------------------
    @torch.no_grad()
    def _validate(self, model: DistillModel, cache: TeacherCache) -> dict[str, float]:
        model.eval()
        sums: dict[str, float] = {}
        count = 0
        bs = self.config.batch_size
        for start in range(0, len(cache), bs):
            idx = list(range(start, min(len(cache), start + bs)))
            b: CacheBatch = cache.batch(idx, self.device)
            total, fid, trk = model(
                b.templates, b.searches, b.teacher_template, b.teacher_search, b.offsets
            )
            for k, v in _parts(total, fid, trk).items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
            count += len(idx)
        model.train()
        return {f"val_{k}": v / count for k, v in sums.items()}

    @torch.no_grad()
    def _teacher_tracking(self, cache: TeacherCache, model: DistillModel) -> dict[str, float]:
        """The tracking loss of the (cached) teacher maps paired with the tracking taps."""
        cfg = self.config
        out: dict[str, float] = {}
        s = cfg.pairs.patch_size
        for s_tap in cfg.tracking:
            if s_tap not in cfg.tap_pairs:
                continue
            t_tap = cfg.tap_pairs[s_tap]
            vals = []
            for start in range(0, len(cache), cfg.batch_size):
                idx = list(range(start, min(len(cache), start + cfg.batch_size)))
                b = cache.batch(idx, self.device)
                x, z = b.teacher_template[t_tap], b.teacher_search[t_tap]
                stride = s / x.shape[2]
                sigma = label_sigma_cells(s, cfg.pairs.context, cfg.sigma_factor, 1) / stride
                sigma = max(cfg.min_sigma_cells, sigma)
                loss = tracking_loss(x, z, b.offsets, stride, sigma, cfg.lam,  # type: ignore[arg-type]
                                     window=cfg.dcf_window)  # fmt: skip
                vals.append(float(loss) * len(idx))
            out[t_tap] = sum(vals) / len(cache)
        return out

    # --- files ----------------------------------------------------------------------------
    def _checkpoint(
        self, path: Path, model: DistillModel, optim: torch.optim.Optimizer, epoch: int
    ) -> None:
        state = {
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optim.state_dict(),
            "history": self.history,
            "config": self.config.to_dict(),
            "teacher": self.teacher_label,
            "student": self.student_label,
        }
        tmp = path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)

    def _write_history(self) -> None:
        (self.out / "history.json").write_text(json.dumps(self.history, indent=1))
        try:
            plot_history(self.history, self.out / "loss_curves.png")
        except Exception as exc:  # plotting must never stop a training run
            self.log(f"warning: could not plot loss curves ({type(exc).__name__}: {exc})")

    def export(self, model: DistillModel) -> dict[str, Path]:
        """Write the student (package format, or state dict + json) and ONNX if possible."""
        student = model.student.to("cpu").eval()
        last = self.history["epochs"][-1] if self.history["epochs"] else {}
        extra = {
            "teacher": self.teacher_label,
            "config": self.config.to_dict(),
            "final": {k: v for k, v in last.items() if k.startswith("val_")},
        }
        files: dict[str, Path] = {}
        try:
            from fastcf.nets import TapNetwork, save_student

            if not isinstance(student, TapNetwork):
                raise WeightsError(f"{type(student).__name__} is not a fastcf.nets.TapNetwork")
            pt, js = save_student(student, self.out / "student", **extra)
        except (ImportError, WeightsError) as exc:
            self.log(f"student package format not applicable ({exc}); writing state dict + json")
            pt, js = self.out / "student.pt", self.out / "student.json"
            torch.save(student.state_dict(), pt)
            taps = tap_table(student)
            meta = {
                "format": "torch-state-dict",
                "arch": self.student_label,
                "taps": {k: [t.stride, t.channels, t.receptive_field] for k, t in taps.items()},
                "input": "float (N, 3, H, W) BGR 0..255",
                "extra": extra,
            }
            js.write_text(json.dumps(meta, indent=1))
        files["pt"], files["json"] = pt, js
        if importlib.util.find_spec("onnx") is None:
            self.log("ONNX export skipped: the `onnx` package is not installed (pip install onnx)")
        else:
            names = tuple(dict.fromkeys(self.config.student_taps + self.config.tracking))
            try:
                files["onnx"] = export_onnx_taps(
                    student, self.out / "student.onnx", names, self.config.pairs.patch_size
                )
            except Exception as exc:
                self.log(f"ONNX export failed: {type(exc).__name__}: {exc}")
        self.log(f"exported student: {', '.join(str(p) for p in files.values())}")
        model.student.to(self.device)
        return files


class _TapTuple(nn.Module):
    def __init__(self, net: nn.Module, taps: tuple[str, ...]) -> None:
        super().__init__()
        self.net = net
        self.tap_names = taps

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.net(x)
        return tuple(out[t] for t in self.tap_names)


def export_onnx_taps(net: nn.Module, path: Path, taps: tuple[str, ...], size: int) -> Path:
    """ONNX export: :func:`fastcf.nets.onnx.export_onnx` for TapNetworks, else a generic
    export with input ``image`` (N, 3, H, W BGR 0..255) and one output per tap."""
    from fastcf.nets import TapNetwork

    if isinstance(net, TapNetwork):
        from fastcf.nets.onnx import export_onnx

        return export_onnx(net, path, taps, size=(size, size))
    dynamic = {"image": {0: "batch", 2: "height", 3: "width"}}
    dynamic.update({t: {0: "batch", 2: f"{t}_h", 3: f"{t}_w"} for t in taps})
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and tracer warnings
        torch.onnx.export(
            _TapTuple(net, taps).eval(),
            (torch.zeros(1, 3, size, size),),
            str(path),
            input_names=["image"],
            output_names=list(taps),
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    return path


def _resume_view(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config fields that must match to resume (more epochs or another device is fine)."""
    return {k: v for k, v in config.items() if k not in ("epochs", "device", "threads")}


def _parts(
    total: torch.Tensor, fid: Mapping[str, torch.Tensor], trk: Mapping[str, torch.Tensor]
) -> dict[str, float]:
    parts = {"total": float(total.detach())}
    parts.update({f"fid_{k}": float(v.detach()) for k, v in fid.items()})
    parts.update({f"trk_{k}": float(v.detach()) for k, v in trk.items()})
    return parts


def _summary(row: Mapping[str, Any]) -> str:
    keys = [k for k in row if k.startswith(("train_total", "val_"))]
    vals = ", ".join(f"{k}={row[k]:.4f}" for k in keys)
    return f"epoch {row['epoch']}: {vals} ({row['sec_per_iter'] * 1000:.0f} ms/iter)"


def plot_history(history: Mapping[str, Any], path: Path) -> Path:
    """Fidelity and tracking losses per epoch (train dashed, validation solid)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = history["epochs"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, prefix, title in (
        (axes[0], "fid_", "fidelity (normalised MSE)"),
        (axes[1], "trk_", "tracking (normalised L2)"),
    ):
        keys = sorted(
            {
                k.split("_", 1)[1]
                for r in rows
                for k in r
                if k.startswith(("train_" + prefix, "val_" + prefix))
            }
        )
        for i, key in enumerate(keys):
            colour = f"C{i}"
            for split, style in (("train", "--"), ("val", "-")):
                pts = [(r["epoch"], r[f"{split}_{key}"]) for r in rows if f"{split}_{key}" in r]
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(xs, ys, style, color=colour, marker="o", ms=3,
                            label=f"{split} {key[len(prefix):]}")  # fmt: skip
        if prefix == "trk_":
            for j, (tap, v) in enumerate(history.get("teacher_val_tracking", {}).items()):
                ax.axhline(v, color=f"C{j + 5}", ls=":", label=f"teacher {tap} (val)")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    it = np.asarray(history.get("iters", []), dtype=float)
    if it.size:
        k = max(1, it.size // 50)
        smooth = np.convolve(it, np.ones(k) / k, mode="valid")
        axes[2].plot(it, alpha=0.3, color="C0")
        axes[2].plot(np.arange(smooth.size) + k - 1, smooth, color="C0")
    axes[2].set_title("total training loss per iteration")
    axes[2].set_xlabel("iteration")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
