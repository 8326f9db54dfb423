"""Distillation losses: feature fidelity to the teacher and a DCF tracking loss.

* :class:`FidelityLoss` -- per matched layer pair (student tap -> teacher tap) a 1x1
  convolution *adapter* (used in training only, thrown away afterwards) maps the student
  map to the teacher's channels; when the strides differ the adapted map is resampled to
  the teacher's grid (average pooling when the student is finer, bilinear interpolation
  when it is coarser). The error is the squared error normalised by the teacher map's
  energy, per sample: ``||A(s) - t||^2 / ||t||^2``, so that no layer dominates whatever
  its scale.
* :func:`tracking_loss` -- the student's template features train a closed-form DCF
  (:mod:`fastcf.distill.dcf`) whose response on the search features should be the
  Gaussian centred on the true target offset; the squared error is normalised by the
  label energy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from fastcf.distill.dcf import dcf_track, gaussian_label


def resample_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resample ``(N, C, h, w)`` to ``size``: average pooling down, bilinear up."""
    h, w = int(x.shape[2]), int(x.shape[3])
    if (h, w) == tuple(size):
        return x
    if h >= size[0] and w >= size[1]:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def normalized_mse(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Mean over the batch of ``||pred - target||^2 / ||target||^2`` (per sample)."""
    dims = tuple(range(1, target.ndim))
    err = (pred - target).pow(2).sum(dim=dims)
    energy = target.pow(2).sum(dim=dims)
    return (err / (energy + eps)).mean()


class FidelityLoss(nn.Module):
    """Teacher-fidelity loss with 1x1 adapters, one per ``(student_tap, teacher_tap)`` pair.

    ``pairs`` maps student tap -> teacher tap; ``student_channels`` / ``teacher_channels``
    give the channel counts of those taps. ``forward`` returns ``{student_tap: loss}``.
    """

    def __init__(
        self,
        pairs: Mapping[str, str],
        student_channels: Mapping[str, int],
        teacher_channels: Mapping[str, int],
    ) -> None:
        super().__init__()
        if not pairs:
            raise ValueError("FidelityLoss needs at least one (student tap, teacher tap) pair")
        self.pairs = dict(pairs)
        self.adapters = nn.ModuleDict()
        for s_tap, t_tap in self.pairs.items():
            if s_tap not in student_channels:
                raise KeyError(f"student tap {s_tap!r} has no channel count")
            if t_tap not in teacher_channels:
                raise KeyError(f"teacher tap {t_tap!r} has no channel count")
            conv = nn.Conv2d(student_channels[s_tap], teacher_channels[t_tap], 1)
            self.adapters[_key(s_tap)] = conv

    def adapter(self, student_tap: str) -> nn.Conv2d:
        return self.adapters[_key(student_tap)]  # type: ignore[return-value]

    @torch.no_grad()
    def fit_adapters(
        self,
        student: Mapping[str, torch.Tensor],
        teacher: Mapping[str, torch.Tensor],
        ridge: float = 1e-3,
    ) -> None:
        """Set every adapter to the ridge least-squares map student -> teacher on a batch.

        A data-dependent start: a random 1x1 adapter on unnormalised student maps can
        predict values orders of magnitude off the teacher's, which wastes the first epochs
        (and large gradients) on fixing scale. ``ridge`` is relative to the mean eigenvalue.
        """
        for s_tap, t_tap in self.pairs.items():
            t = teacher[t_tap].double()
            s = resample_to(student[s_tap].double(), (t.shape[2], t.shape[3]))
            x = s.permute(0, 2, 3, 1).reshape(-1, s.shape[1])
            y = t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])
            xm, ym = x.mean(0), y.mean(0)
            xc, yc = x - xm, y - ym
            a = xc.T @ xc
            reg = ridge * torch.trace(a) / a.shape[0] + 1e-12
            w = torch.linalg.solve(
                a + reg * torch.eye(a.shape[0], dtype=a.dtype, device=a.device), xc.T @ yc
            )
            conv = self.adapter(s_tap)
            conv.weight.copy_(w.T.reshape(conv.weight.shape).to(conv.weight.dtype))
            bias = cast(torch.Tensor, conv.bias)
            bias.copy_((ym - xm @ w).to(bias.dtype))

    def forward(
        self, student: Mapping[str, torch.Tensor], teacher: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for s_tap, t_tap in self.pairs.items():
            t = teacher[t_tap].to(student[s_tap].dtype)
            # a 1x1 conv commutes with linear resampling: adapt on the smaller grid
            s = student[s_tap]
            if s.shape[2] * s.shape[3] > t.shape[2] * t.shape[3]:
                pred = self.adapter(s_tap)(resample_to(s, (t.shape[2], t.shape[3])))
            else:
                pred = resample_to(self.adapter(s_tap)(s), (t.shape[2], t.shape[3]))
            out[s_tap] = normalized_mse(pred, t)
        return out


def _key(tap: str) -> str:
    return tap.replace(".", "_")


def label_sigma_cells(patch_size: int, context: float, sigma_factor: float, stride: int) -> float:
    """Gaussian label width in feature cells: ``sigma_factor * target size / stride``.

    The target side in the patch is ``patch_size / context`` pixels.
    """
    return sigma_factor * (patch_size / context) / stride


def tracking_loss(
    template: torch.Tensor,
    search: torch.Tensor,
    offsets_px: torch.Tensor,
    stride: int,
    sigma: float,
    lam: float,
    *,
    window: bool = True,
    normalize: bool = True,
) -> torch.Tensor:
    """DCF tracking loss for one feature layer.

    ``template``/``search``: ``(N, C, h, w)`` features of the template (target centred)
    and search patches; ``offsets_px``: ``(N, 2)`` ``(dy, dx)`` target offsets in the search
    patch from its centre, in patch pixels; ``stride``: pixels per cell; ``sigma`` in cells.
    """
    r = dcf_track(template, search, sigma, lam, window=window, normalize=normalize)
    centre = offsets_px.to(r.dtype) / float(stride)
    y = gaussian_label(r.shape[1], r.shape[2], sigma, centre, dtype=r.dtype, device=r.device)
    return normalized_mse(r, y)


def total_loss(
    fidelity: Mapping[str, torch.Tensor],
    tracking: Mapping[str, torch.Tensor],
    alphas: Mapping[str, float],
    beta: float,
    tracking_weights: Sequence[float] | None = None,
) -> torch.Tensor:
    """``sum_l alpha_l * fidelity_l + beta * mean/weighted tracking``."""
    values = [*fidelity.values(), *tracking.values()]
    total = torch.zeros((), device=values[0].device if values else None)
    for tap, value in fidelity.items():
        total = total + float(alphas.get(tap, 1.0)) * value
    if tracking and beta:
        values = list(tracking.values())
        weights = list(tracking_weights) if tracking_weights else [1.0 / len(values)] * len(values)
        total = total + beta * sum(w * v for w, v in zip(weights, values, strict=True))
    return total
