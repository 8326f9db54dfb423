"""ECO's filter learning: the normal equations of the factorised, spatially regularised
multi-block least-squares problem, solved by preconditioned CG (``train_filter``) and, on
the first frame, jointly with the projection matrices by Gauss-Newton (``train_joint``).

All filters/samples are half spectra (see ``fastcf.cf.fourier``); block ``k`` occupies
``slices[k]`` of the ``output_sz`` grid on which the block responses are summed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fastcf.cf.cg import CGState, PCGRun, pcg
from fastcf.cf.fourier import inner_product, real_view, symmetrize_filter
from fastcf.cf.projection import project
from fastcf.cf.regularization import apply_reg_filter

Vec = list[np.ndarray]


@dataclass
class Geometry:
    """Where each block lives in the summed response, plus its regularisation filter."""

    slices: list[tuple[slice, slice]]
    out_shape: tuple[int, int]  # (H_out, Wh_out) of the half spectrum
    reg_filters: list[np.ndarray]  # ECO's reg_filter per block


def filter_ip(a: Vec, b: Vec) -> float:
    return sum(inner_product(x, y) for x, y in zip(a, b, strict=True))


def _responses(samples: Vec, hf: Vec, geo: Geometry) -> np.ndarray:
    """``sum_k pad(sum_c x_kc h_kc)`` for a batch ``(N, C, H, Wh)`` -> ``(N, Hout, Whout)``."""
    n = samples[0].shape[0]
    sh = np.zeros((n, *geo.out_shape), np.complex64)
    for x, h, (rs, cs) in zip(samples, hf, geo.slices, strict=True):
        sh[:, rs, cs] += (x * h).sum(axis=1)
    return sh


def _proj(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``(D, H, Wh)`` complex times real ``(D, C)`` on the channel axis -> ``(C, H, Wh)``."""
    return project(x, p)


def _weighted_sum(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``sum_n w_n x_n`` for real float32 ``w`` ``(N,)`` and complex64 ``x`` ``(N, ...)``: one
    real GEMV on the interleaved real view (BLAS, threads limited by the tracker's
    ThreadScope)."""
    flat = real_view(np.asarray(x, dtype=np.complex64), x.shape[0], -1)
    out = w.astype(np.float32, copy=False) @ flat
    return out.view(np.complex64).reshape(x.shape[1:])


def lhs_filter(hf: Vec, samples: Vec, weights: np.ndarray, geo: Geometry) -> Vec:
    """``(A^H Gamma A + W^H W) h`` of ECO's ``lhs_operation``."""
    sh = _responses(samples, hf, geo)
    sh *= weights.astype(np.float32)[:, None, None]
    out: Vec = []
    for x, h, (rs, cs), kern in zip(samples, hf, geo.slices, geo.reg_filters, strict=True):
        data = np.conj((x * np.conj(sh[:, None, rs, cs])).sum(axis=0))
        out.append(data + apply_reg_filter(h, kern))
    return out


def preconditioner(
    sample_energy: Vec, reg_energy: list[float], data_param: float, reg_param: float
) -> Vec:
    """ECO's diagonal preconditioner per block."""
    return [
        (1 - reg_param) * (data_param * m + (1 - data_param) * m.mean(axis=0, keepdims=True))
        + reg_param * r
        for m, r in zip(sample_energy, reg_energy, strict=True)
    ]


def inverse_preconditioner(diag_m: Vec) -> Vec:
    """``1 / M`` elementwise, with ``M`` floored at float32's smallest normal number: an
    empty (all-zero) patch with a vanishing ``precond_reg_param`` would otherwise give
    1/0 (inf, then NaN in CG). With the presets ``M >= reg_param * reg_energy`` is far
    above the floor, so the floor changes nothing there."""
    tiny = np.finfo(np.float32).tiny
    return [1.0 / np.maximum(m, tiny) for m in diag_m]


def filter_cg(
    hf: Vec,
    samples: Vec,
    weights: np.ndarray,
    yf: Vec,
    geo: Geometry,
    diag_m: Vec,
    state: CGState | None,
    forget_factor: float,
    use_fr: bool = False,
    standard_alpha: bool = True,
) -> PCGRun:
    """The warm-started CG run of ``train_filter.m``, to be advanced by the caller (the
    samples are read again at every step: the same arrays may change in between)."""
    w32 = weights.astype(np.float32)
    wsum = [_weighted_sum(w32, x) for x in samples]
    rhs = [np.conj(x) * y for x, y in zip(wsum, yf, strict=True)]
    inv_m = inverse_preconditioner(diag_m)
    return PCGRun(
        lambda v: lhs_filter(v, samples, weights, geo),
        rhs,
        hf,
        filter_ip,
        lambda r: [ri * mi for ri, mi in zip(r, inv_m, strict=True)],
        use_fr=use_fr,
        standard_alpha=standard_alpha,
        state=state,
        forget_factor=forget_factor,
    )


def train_filter(
    hf: Vec,
    samples: Vec,
    weights: np.ndarray,
    yf: Vec,
    geo: Geometry,
    diag_m: Vec,
    maxit: int,
    state: CGState | None,
    forget_factor: float,
    use_fr: bool = False,
    standard_alpha: bool = True,
) -> tuple[Vec, CGState, list[float]]:
    """Warm-started CG on the filter only (``train_filter.m``): ``maxit`` iterations."""
    run = filter_cg(
        hf, samples, weights, yf, geo, diag_m, state, forget_factor, use_fr, standard_alpha
    )
    for it in range(maxit):
        if not run.step(update_residual=it < maxit - 1):
            break
    return run.x, run.state, run.residuals


def _re_full(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Re sum_freq conj(x_d) v_c`` over the full spectrum, for half spectra ``x``
    ``(D, H, Wh)`` and ``v`` ``(C, H, Wh)`` -> ``(D, C)``.

    ``Re(conj(a) b) = a_re b_re + a_im b_im`` is the dot product of the interleaved real
    views, so this is one real GEMM (complex GEMMs were pathologically slow under
    multi-threaded BLAS on a busy machine).
    """
    d, c = x.shape[0], v.shape[0]
    full = real_view(x, d, -1) @ real_view(v.astype(x.dtype), c, -1).T
    center = real_view(x[..., 0], d, -1) @ real_view(v[..., 0].astype(x.dtype), c, -1).T
    return 2 * full - center


def train_joint(
    hf: Vec,
    proj: list[np.ndarray],
    xlf: Vec,
    yf: Vec,
    geo: Geometry,
    sample_energy: Vec,
    reg_energy: list[float],
    *,
    gn_iter: int,
    cg_iter: int,
    projection_reg: float,
    precond_data_param: float,
    precond_reg_param: float,
    precond_proj_param: float,
) -> tuple[Vec, list[np.ndarray], list[float]]:
    """Gauss-Newton on (filter, projection) for the first frame (``train_joint.m``).

    ``xlf``: the unprojected sample per block ``(D, H, Wh)``; ``proj``: ``(D, C)`` real.
    Each GN step linearises the bilinear model around the current filter and solves the
    normal equations for (new filter, projection increment) with ``cg_iter`` iterations
    of Fletcher-Reeves CG (no warm start), as the reference.
    """
    nb = len(hf)
    feature_dim = sum(x.shape[0] for x in xlf)
    proj_energy = [
        2 * float(np.sum(np.abs(y) ** 2)) / feature_dim * np.ones_like(p)
        for p, y in zip(proj, yf, strict=True)
    ]
    diag_m = preconditioner(sample_energy, reg_energy, precond_data_param, precond_reg_param)
    diag_m += [precond_proj_param * (e + projection_reg) for e in proj_energy]
    inv_m = inverse_preconditioner(diag_m)
    proj = [p.astype(np.float32).copy() for p in proj]
    hf = [h.copy() for h in hf]
    residuals: list[float] = []

    def ip(a: Vec, b: Vec) -> float:
        return filter_ip(a[:nb], b[:nb]) + sum(
            float(np.vdot(x, y).real) for x, y in zip(a[nb:], b[nb:], strict=True)
        )

    for _ in range(gn_iter):
        z = [_proj(x, p) for x, p in zip(xlf, proj, strict=True)]
        h0 = [h.copy() for h in hf]

        def lhs(v: Vec, z: Vec = z, h0: Vec = h0) -> Vec:
            hv, dp = v[:nb], [np.real(p).astype(np.float32) for p in v[nb:]]
            sh = _responses([zk[None] for zk in z], hv, geo)[0]
            bp = _responses(
                [_proj(x, d)[None] for x, d in zip(xlf, dp, strict=True)],
                h0,
                geo,
            )[0]
            tot = sh + bp
            out_h: Vec = []
            out_p: Vec = []
            for k in range(nb):
                rs, cs = geo.slices[k]
                t = tot[rs, cs]
                out_h.append(np.conj(z[k]) * t + apply_reg_filter(hv[k], geo.reg_filters[k]))
                out_p.append(
                    (_re_full(xlf[k], np.conj(h0[k]) * t) + projection_reg * dp[k]).astype(
                        np.float32
                    )
                )
            return out_h + out_p

        rhs_h = [np.conj(zk) * y for zk, y in zip(z, yf, strict=True)]
        rhs_p = [
            (_re_full(x, np.conj(h) * y) - projection_reg * p).astype(np.float32)
            for x, h, y, p in zip(xlf, h0, yf, proj, strict=True)
        ]
        x0 = hf + [np.zeros_like(p) for p in proj]
        sol, _, res = pcg(
            lhs,
            rhs_h + rhs_p,
            x0,
            ip,
            lambda r: [ri * mi for ri, mi in zip(r, inv_m, strict=True)],
            maxit=cg_iter,
            use_fr=True,
            standard_alpha=True,
        )
        residuals += res
        hf = [symmetrize_filter(h) for h in sol[:nb]]
        proj = [p + np.real(d).astype(np.float32) for p, d in zip(proj, sol[nb:], strict=True)]
    return hf, proj, residuals
