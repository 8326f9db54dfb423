"""A differentiable closed-form multi-channel discriminative correlation filter (DCF).

Conventions (all transforms are unnormalised ``torch.fft.fft2`` over the last two axes):

* the filter ``w`` (C channels, ``h x w`` cells) responds to a feature map ``z`` with the
  circular cross-correlation ``r(s) = sum_c sum_u w_c(u) z_c(u + s)``, i.e.
  ``R = sum_c H_c Z_c`` with ``H_c = conj(W_c)``;
* training on template features ``x`` with label ``y`` solves the ridge regression over all
  circular shifts of ``x``: ``min_w sum_s (r_x(s) - y(s))^2 + lam * ||w||^2``. Because each
  frequency holds exactly one (multi-channel) sample, its solution is, by Sherman-Morrison,
  ``H_c = conj(X_c) Y / (sum_k |X_k|^2 + lam)`` -- the standard multi-channel DCF, and the
  *exact* ridge solution (checked against brute force in the tests).

A label centred on cell ``(0, 0)`` (circularly) yields a response that peaks at the
displacement of the content: if ``z`` is ``x`` moved by ``d`` cells, ``r_z`` peaks at ``d``.
"""

from __future__ import annotations

import math

import torch


def cosine_window(h: int, w: int, *, dtype: torch.dtype = torch.float32, device=None):
    """Separable Hann window ``(h, w)`` (MATLAB ``hann(n)``: zero at both ends)."""

    def hann(n: int) -> torch.Tensor:
        if n == 1:
            return torch.ones(1, dtype=dtype, device=device)
        k = torch.arange(n, dtype=dtype, device=device)
        return 0.5 - 0.5 * torch.cos(2.0 * math.pi * k / (n - 1))

    return hann(h)[:, None] * hann(w)[None, :]


def gaussian_label(
    h: int,
    w: int,
    sigma: float | torch.Tensor,
    center: torch.Tensor | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    device=None,
) -> torch.Tensor:
    """Circular Gaussian label(s) on an ``h x w`` grid, peak value 1.

    ``center`` is ``None`` (peak at cell ``(0, 0)``) or an ``(N, 2)`` tensor of
    ``(dy, dx)`` cell offsets (fractional allowed); distances wrap around the grid.
    ``sigma`` is a scalar or an ``(N,)`` tensor, in cells. Returns ``(h, w)`` or ``(N, h, w)``.
    """
    ys = torch.arange(h, dtype=dtype, device=device)
    xs = torch.arange(w, dtype=dtype, device=device)
    if center is None:
        dy = _wrap(ys, h)[:, None]
        dx = _wrap(xs, w)[None, :]
        s = torch.as_tensor(sigma, dtype=dtype, device=device)
        return torch.exp(-(dy**2 + dx**2) / (2.0 * s**2))
    c = center.to(dtype=dtype, device=device)
    dy = _wrap(ys[None, :] - c[:, 0:1], h)[:, :, None]  # (N, h, 1)
    dx = _wrap(xs[None, :] - c[:, 1:2], w)[:, None, :]  # (N, 1, w)
    s = torch.as_tensor(sigma, dtype=dtype, device=device)
    if s.ndim == 1:
        s = s[:, None, None]
    return torch.exp(-(dy**2 + dx**2) / (2.0 * s**2))


def _wrap(d: torch.Tensor, n: int) -> torch.Tensor:
    """Map offsets to the symmetric range ``[-n/2, n/2)`` (circular distance)."""
    return torch.remainder(d + n / 2.0, float(n)) - n / 2.0


def normalize_power(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each sample so that the mean over cells of ``sum_c x_c^2`` is 1.

    This makes ``lam`` meaningful whatever the scale of the features (ECO normalises its
    features the same way before learning a filter).
    """
    energy = x.pow(2).sum(dim=(1, 2, 3), keepdim=True) / (x.shape[2] * x.shape[3])
    return x / torch.sqrt(energy + eps)


def dcf_filter(x: torch.Tensor, y: torch.Tensor, lam: float) -> torch.Tensor:
    """Closed-form filter ``H = conj(X) Y / (sum_c |X_c|^2 + lam)`` in the Fourier domain.

    ``x``: ``(N, C, h, w)`` real features; ``y``: ``(h, w)`` or ``(N, h, w)`` real label.
    Returns complex ``(N, C, h, w)``.
    """
    if x.ndim != 4:
        raise ValueError(f"features must be (N, C, h, w), got shape {tuple(x.shape)}")
    if lam <= 0:
        raise ValueError(f"regularisation lam must be > 0, got {lam}")
    xf = torch.fft.fft2(x)
    yf = torch.fft.fft2(y)
    if yf.ndim == 2:
        yf = yf[None, None]
    elif yf.ndim == 3:
        yf = yf[:, None]
    denom = (xf.real**2 + xf.imag**2).sum(dim=1, keepdim=True) + lam
    return torch.conj(xf) * yf / denom


def dcf_response(hf: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Real response ``(N, h, w)`` of filter ``hf`` (from :func:`dcf_filter`) on ``z``."""
    if hf.shape[-2:] != z.shape[-2:]:
        raise ValueError(
            f"filter grid {tuple(hf.shape[-2:])} differs from features {tuple(z.shape[-2:])}"
        )
    rf = (hf * torch.fft.fft2(z)).sum(dim=1)
    return torch.fft.ifft2(rf).real


def dcf_track(
    x: torch.Tensor,
    z: torch.Tensor,
    sigma: float,
    lam: float,
    *,
    window: bool = True,
    normalize: bool = True,
) -> torch.Tensor:
    """Train on template ``x`` (target at the centre), respond on search ``z``.

    Both maps are ``(N, C, h, w)``. The label is centred at cell ``(0, 0)`` circularly; as
    the template is centred on the target, a peak at cell ``d`` means the target moved by
    ``d`` cells from the patch centre. Returns the response ``(N, h, w)``.
    """
    if x.shape != z.shape:
        raise ValueError(f"template {tuple(x.shape)} and search {tuple(z.shape)} differ")
    if normalize:
        x = normalize_power(x)
        z = normalize_power(z)
    if window:
        cw = cosine_window(x.shape[2], x.shape[3], dtype=x.dtype, device=x.device)
        x = x * cw
        z = z * cw
    y = gaussian_label(x.shape[2], x.shape[3], sigma, dtype=x.dtype, device=x.device)
    return dcf_response(dcf_filter(x, y, lam), z)
