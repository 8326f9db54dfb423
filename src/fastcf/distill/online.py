"""Background-aware online adaptation of a feature network on the first frame.

:class:`OnlineAdapter` fine-tunes only the declared layers (typically the last
convolution) for a few gradient steps on the first frame of a sequence. The loss is the
distillation tracking loss turned discriminative:

* a closed-form DCF (:mod:`fastcf.distill.dcf`) is trained on the features of the
  first-frame patch, and its responses on a few translated copies of that patch must match
  Gaussians at the translated target positions -- every background position is a
  negative (label 0);
* *distractors* -- peaks of a response map away from the target, or positions given
  explicitly -- get an extra weight ``distractor_weight`` in the squared error (they move
  with the content in the translated copies), so similar-looking background is pushed
  down hardest;
* an anchor term ``anchor * ||theta - theta0||^2 / ||theta0||^2`` keeps the adapted
  layers close to the distilled ones (L2-SP), since one frame is little data.

Cost is bounded: the layers before the first tuned one run once (no gradient), each step
runs only the tail, and (with a ``max_ms`` cap) the loop stops before a step would exceed
the cap -- which makes the number of steps depend on the machine's load. ``reset()``
restores the original weights (call it before a new sequence); ``enabled=False`` makes
``adapt`` a no-op. Works with any ``nn.Module`` returning ``{tap: map}`` with a ``taps``
table; the prefix caching needs a :class:`fastcf.nets.TapNetwork`-like ``norm`` + ``layers``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

import cv2
import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from fastcf.distill.dcf import (
    cosine_window,
    dcf_filter,
    dcf_response,
    gaussian_label,
    normalize_power,
)
from fastcf.errors import ConfigError, InvalidBoxError


@dataclass
class AdaptResult:
    steps: int
    loss_before: float
    loss_after: float
    ms: float
    distractors: list[tuple[float, float]] = field(default_factory=list)  # (x, y) patch px
    skipped: str = ""


class OnlineAdapter:
    """Fine-tune ``layers_to_tune`` of ``network`` on one patch with a tracking loss."""

    def __init__(
        self,
        network: nn.Module,
        layers_to_tune: Sequence[str],
        steps: int = 5,
        lr: float = 1e-3,
        *,
        taps: Sequence[str] | None = None,
        enabled: bool = True,
        max_ms: float | None = None,
        lam: float = 0.01,
        sigma_factor: float = 1.0 / 12.0,
        min_sigma_cells: float = 0.5,
        shift: float = 0.25,
        distractor_weight: float = 4.0,
        distractor_ratio: float = 0.3,
        max_distractors: int = 5,
        anchor: float = 1.0,
    ) -> None:
        if not layers_to_tune:
            raise ConfigError("OnlineAdapter: layers_to_tune is empty")
        if steps < 0 or lr <= 0 or lam <= 0:
            raise ConfigError("OnlineAdapter: steps must be >= 0, lr and lam > 0")
        self.network = network
        self.steps = int(steps)
        self.lr = float(lr)
        self.enabled = bool(enabled)
        self.max_ms = max_ms
        self.lam = float(lam)
        self.sigma_factor = float(sigma_factor)
        self.min_sigma_cells = float(min_sigma_cells)
        self.shift = float(shift)
        self.distractor_weight = float(distractor_weight)
        self.distractor_ratio = float(distractor_ratio)
        self.max_distractors = int(max_distractors)
        self.anchor = float(anchor)
        modules = dict(network.named_modules())
        layers = getattr(network, "layers", None)
        self.layer_names: list[str] = []
        tuned: list[nn.Module] = []
        for name in layers_to_tune:
            if isinstance(layers, nn.ModuleDict) and name in layers:
                mod, full = layers[name], f"layers.{name}"
            elif name in modules and name != "":
                mod, full = modules[name], name
            else:
                avail = list(layers.keys()) if isinstance(layers, nn.ModuleDict) else list(modules)
                raise ConfigError(f"OnlineAdapter: no layer {name!r}; layers: {', '.join(avail)}")
            if not any(True for _ in mod.parameters()):
                raise ConfigError(f"OnlineAdapter: layer {name!r} has no parameters to tune")
            tuned.append(mod)
            self.layer_names.append(full)
        self.params: list[nn.Parameter] = []
        seen: set[int] = set()
        for mod in tuned:
            for p in mod.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    self.params.append(p)
        self._initial = [p.detach().clone() for p in self.params]
        self._init_norm = float(sum(float(p.pow(2).sum()) for p in self._initial)) + 1e-12
        table = getattr(network, "taps", None)
        if not isinstance(table, dict):
            raise ConfigError("OnlineAdapter: the network declares no `taps` table")
        self.tap_info = table
        self._split = self._find_split(layers, tuned)
        names = list(taps) if taps is not None else self._default_taps(table)
        for t in names:
            if t not in table:
                raise ConfigError(f"OnlineAdapter: unknown tap {t!r}; taps: {', '.join(table)}")
        if self._split is not None:
            order = list(layers.keys())  # type: ignore[union-attr]
            early = [t for t in names if order.index(t) < self._split]
            if early and len(early) == len(names):
                raise ConfigError(
                    f"OnlineAdapter: taps {early} come before the tuned layers; they cannot change"
                )
            names = [t for t in names if t not in early]
        self.taps = names

    # --- structure ---------------------------------------------------------------------
    def _find_split(self, layers: object, tuned: list[nn.Module]) -> int | None:
        """Index of the first tuned layer when the network is ``norm`` + ordered ``layers``."""
        if not isinstance(layers, nn.ModuleDict) or not hasattr(self.network, "norm"):
            return None
        for i, mod in enumerate(layers.values()):
            if any(mod is t or any(t is m for m in mod.modules()) for t in tuned):
                return i
        return None

    def _default_taps(self, table: dict) -> list[str]:
        outputs = getattr(self.network, "outputs", None)
        names = list(outputs) if outputs else list(table)
        if self._split is None:
            return names
        order = list(self._layers().keys())
        deep = [t for t in names if order.index(t) >= self._split]
        return deep[-1:] if deep else names

    def _layers(self) -> nn.ModuleDict:
        return cast(nn.ModuleDict, self.network.layers)

    def reset(self) -> None:
        """Restore the weights the adapter was created with."""
        with torch.no_grad():
            for p, p0 in zip(self.params, self._initial, strict=True):
                p.copy_(p0)

    # --- running -----------------------------------------------------------------------
    def _prefix(self, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        net = self.network
        with torch.no_grad():
            h = cast(nn.Module, net.norm)(x)
            for mod in list(self._layers().values())[: self._split]:
                h = mod(h)
        return h, int(self._split)  # type: ignore[arg-type]

    def _tail(self, h: torch.Tensor, start: int) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        items = list(self._layers().items())
        last = max(i for i, (n, _) in enumerate(items) if n in self.taps)
        for name, mod in items[start : last + 1]:
            h = mod(h)
            if name in self.taps:
                out[name] = h
        return out

    def adapt(
        self,
        patch: npt.NDArray[np.uint8] | torch.Tensor,
        target_box_in_patch: Sequence[float],
        response_or_distractors: npt.ArrayLike | None = None,
        *,
        steps: int | None = None,
        max_ms: float | None | Literal["own"] = "own",
    ) -> AdaptResult:
        """Adapt on one patch. ``target_box_in_patch``: ``(x, y, w, h)`` in patch pixels.

        ``response_or_distractors``: ``None``; a 2-D response map aligned with the patch
        (row 0 = top, any resolution) whose peaks away from the target become distractors;
        or an ``(M, 2)`` array of distractor ``(x, y)`` positions in patch pixels.
        ``steps`` / ``max_ms`` override the adapter's own for this call (``max_ms=None``:
        no wall-clock cap).
        """
        t0 = time.perf_counter()
        n_steps = self.steps if steps is None else int(steps)
        budget = self.max_ms if max_ms == "own" else max_ms
        if n_steps < 0:
            raise ConfigError(f"OnlineAdapter.adapt: steps must be >= 0, got {n_steps}")
        if not self.enabled:
            return AdaptResult(0, math.nan, math.nan, 0.0, skipped="disabled")
        img = _as_image(patch)
        ph, pw = img.shape[:2]
        box = _check_box(target_box_in_patch, pw, ph)
        cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
        distractors = self._distractors(response_or_distractors, box, pw, ph)
        side = math.sqrt(box[2] * box[3])
        s = max(1.0, round(self.shift * side))
        shifts = [(0.0, 0.0), (s, 0.0), (-s, 0.0), (0.0, s), (0.0, -s)]
        batch = np.stack([_translate(img, dx, dy) for dx, dy in shifts])
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
        device = self.params[0].device
        x = x.to(device)
        flags = [p.requires_grad for p in self.network.parameters()]
        mode = self.network.training
        self.network.eval()
        for p in self.network.parameters():
            p.requires_grad_(False)
        for p in self.params:
            p.requires_grad_(True)
        try:
            if self._split is not None:
                h, start = self._prefix(x)

                def run() -> dict[str, torch.Tensor]:
                    return self._tail(h, start)
            else:

                def run() -> dict[str, torch.Tensor]:
                    out = self.network(x)
                    return {t: out[t] for t in self.taps}

            opt = torch.optim.Adam(self.params, lr=self.lr)
            shifts_t = torch.tensor([[dy, dx] for dx, dy in shifts], dtype=torch.float32)
            loss_before = loss_after = math.nan
            done = 0
            step_ms = 0.0
            for step in range(n_steps + 1):
                ts = time.perf_counter()
                loss = self._loss(run(), shifts_t.to(device), (cx, cy), side, distractors, pw, ph)
                if step == 0:
                    loss_before = float(loss.detach())
                if step == n_steps:
                    loss_after = float(loss.detach())
                    break
                elapsed = (time.perf_counter() - t0) * 1000.0
                if budget is not None and elapsed + 2.0 * step_ms > budget:
                    loss_after = float(loss.detach())
                    break
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                done += 1
                step_ms = (time.perf_counter() - ts) * 1000.0
        finally:
            for p, f in zip(self.network.parameters(), flags, strict=True):
                p.requires_grad_(f)
            self.network.train(mode)
        ms = (time.perf_counter() - t0) * 1000.0
        return AdaptResult(done, loss_before, loss_after, ms, distractors)

    def _loss(
        self,
        feats: dict[str, torch.Tensor],
        shifts: torch.Tensor,
        centre: tuple[float, float],
        side: float,
        distractors: list[tuple[float, float]],
        pw: int,
        ph: int,
    ) -> torch.Tensor:
        total = torch.zeros((), device=shifts.device)
        for f in feats.values():
            f = normalize_power(f)
            n, _, h, w = f.shape
            stride_y, stride_x = ph / h, pw / w
            cw = cosine_window(h, w, dtype=f.dtype, device=f.device)
            # cosine window centred on the target (not on the patch)
            cy_cells = (centre[1] - ph / 2.0) / stride_y
            cx_cells = (centre[0] - pw / 2.0) / stride_x
            cw = torch.roll(cw, (round(cy_cells), round(cx_cells)), dims=(0, 1))
            f = f * cw
            stride = math.sqrt(stride_x * stride_y)
            sigma = max(self.min_sigma_cells, self.sigma_factor * side / stride)
            y0 = gaussian_label(h, w, sigma, dtype=f.dtype, device=f.device)
            hf = dcf_filter(f[:1], y0, self.lam)
            r = dcf_response(hf.expand(n, -1, -1, -1), f)
            d = torch.stack([shifts[:, 0] / stride_y, shifts[:, 1] / stride_x], dim=1)
            y = gaussian_label(h, w, sigma, d, dtype=f.dtype, device=f.device)
            weight = torch.ones_like(y)
            for px, py in distractors:
                rel = torch.tensor(
                    [(py - centre[1]) / stride_y, (px - centre[0]) / stride_x],
                    dtype=f.dtype, device=f.device,
                )  # fmt: skip
                blob = gaussian_label(h, w, sigma, d + rel, dtype=f.dtype, device=f.device)
                weight = weight + self.distractor_weight * blob
            err = (weight * (r - y).pow(2)).sum(dim=(1, 2)) / y.pow(2).sum(dim=(1, 2))
            total = total + err.mean()
        total = total / max(1, len(feats))
        if self.anchor > 0:
            drift = sum(
                (p - p0).pow(2).sum() for p, p0 in zip(self.params, self._initial, strict=True)
            )
            total = total + self.anchor * drift / self._init_norm
        return total

    def _distractors(
        self,
        spec: npt.ArrayLike | None,
        box: tuple[float, float, float, float],
        pw: int,
        ph: int,
    ) -> list[tuple[float, float]]:
        if spec is None:
            return []
        arr = np.asarray(spec, dtype=np.float64)
        if arr.size == 0:
            return []
        if arr.ndim == 2 and arr.shape[1] == 2:
            pts = arr
        elif arr.ndim == 2 and min(arr.shape) >= 3:
            return find_distractors(
                arr, box, (pw, ph), ratio=self.distractor_ratio, limit=self.max_distractors
            )
        else:
            raise ConfigError(
                "response_or_distractors: expected a 2-D response map or an (M, 2) array of "
                f"(x, y) points, got shape {arr.shape}"
            )
        if not np.all(np.isfinite(pts)):
            raise ConfigError("response_or_distractors: non-finite distractor position")
        return [(float(a), float(b)) for a, b in pts[: self.max_distractors]]


def find_distractors(
    response: npt.NDArray[np.float64],
    box: tuple[float, float, float, float],
    patch_size: tuple[int, int],
    *,
    ratio: float = 0.3,
    limit: int = 5,
) -> list[tuple[float, float]]:
    """Local maxima (3x3) of ``response`` outside the target box, above ``ratio`` x max.

    ``response`` spans the patch (``patch_size = (w, h)``); positions come back in patch
    pixels ``(x, y)``, strongest first.
    """
    from scipy.ndimage import maximum_filter

    r = np.asarray(response, dtype=np.float64)
    if not np.all(np.isfinite(r)):
        raise ConfigError("response map contains non-finite values")
    rh, rw = r.shape
    sx, sy = patch_size[0] / rw, patch_size[1] / rh
    peak = float(r.max())
    if peak <= 0:
        return []
    local = (r == maximum_filter(r, size=3, mode="wrap")) & (r > ratio * peak)
    ys, xs = np.nonzero(local)
    out = []
    for y, x in sorted(zip(ys, xs, strict=True), key=lambda p: -r[p[0], p[1]]):
        px, py = (x + 0.5) * sx, (y + 0.5) * sy
        inside = box[0] <= px <= box[0] + box[2] and box[1] <= py <= box[1] + box[3]
        if not inside:
            out.append((float(px), float(py)))
        if len(out) >= limit:
            break
    return out


def _as_image(patch: npt.NDArray[np.uint8] | torch.Tensor) -> npt.NDArray[np.uint8]:
    if isinstance(patch, torch.Tensor):
        t = patch.detach().cpu()
        if t.ndim == 4 and t.shape[0] == 1:
            t = t[0]
        if t.ndim != 3 or t.shape[0] != 3:
            raise ConfigError(f"patch tensor must be (3, H, W) BGR, got {tuple(patch.shape)}")
        return t.permute(1, 2, 0).clamp(0, 255).round().to(torch.uint8).numpy()
    if not isinstance(patch, np.ndarray) or patch.dtype != np.uint8:
        raise ConfigError("patch must be a uint8 (H, W, 3) BGR array or a (3, H, W) tensor")
    if patch.ndim == 2:
        patch = np.repeat(patch[:, :, None], 3, axis=2)
    if patch.ndim != 3 or patch.shape[2] != 3 or min(patch.shape[:2]) < 8:
        raise ConfigError(f"patch must be (H, W, 3) with H, W >= 8, got {patch.shape}")
    return patch


def _check_box(box: Sequence[float], pw: int, ph: int) -> tuple[float, float, float, float]:
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError):
        raise InvalidBoxError(f"target_box_in_patch: expected (x, y, w, h), got {box!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise InvalidBoxError(f"target_box_in_patch: invalid box {(x, y, w, h)}")
    if x >= pw or y >= ph or x + w <= 0 or y + h <= 0:
        raise InvalidBoxError(
            f"target_box_in_patch {(x, y, w, h)} lies outside the {pw}x{ph} patch"
        )
    return (x, y, w, h)


def _translate(img: npt.NDArray[np.uint8], dx: float, dy: float) -> npt.NDArray[np.uint8]:
    if dx == 0 and dy == 0:
        return img
    m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    out = cv2.warpAffine(
        img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    return np.asarray(out, dtype=np.uint8)
