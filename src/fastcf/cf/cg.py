"""Preconditioned conjugate gradient with a warm-startable state (ECO's ``pcg_ccot``).

Unknowns are lists of arrays (one per feature block, plus projection matrices for the
joint problem); the caller supplies the operator ``A``, the preconditioner ``M`` (applied
as ``M(r)``, i.e. the inverse) and the inner product ``ip``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Vec = list[np.ndarray]


@dataclass
class CGState:
    """Search direction and ``rho`` kept between calls (warm start across frames)."""

    p: Vec | None = None
    rho: float = 1.0
    r_prev: Vec | None = None


def _axpy(a: float, x: Sequence[np.ndarray], y: Sequence[np.ndarray]) -> Vec:
    return [yi + a * xi for xi, yi in zip(x, y, strict=True)]


def _sub(x: Sequence[np.ndarray], y: Sequence[np.ndarray]) -> Vec:
    return [xi - yi for xi, yi in zip(x, y, strict=True)]


def pcg(
    A: Callable[[Vec], Vec],
    b: Vec,
    x0: Vec,
    ip: Callable[[Vec, Vec], float],
    M: Callable[[Vec], Vec] | None = None,
    maxit: int = 5,
    use_fr: bool = False,
    standard_alpha: bool = True,
    state: CGState | None = None,
    forget_factor: float = 1.0,
) -> tuple[Vec, CGState, list[float]]:
    """Run ``maxit`` iterations of preconditioned CG on ``A x = b`` from ``x0``.

    ``use_fr``: Fletcher-Reeves beta, else Polak-Ribiere (clamped at 0). With a ``state``
    from a previous call (and ``forget_factor > 0``) the old direction is reused and its
    ``rho`` divided by ``forget_factor``, ECO's warm start across frames. Returns the new
    iterate, the state to pass next time and the residual norms (``sqrt(ip(r, r))``).
    """
    p: Vec | None = None
    rho = 1.0
    r_prev: Vec | None = None
    if state is not None and forget_factor > 0:
        p = state.p
        if state.p is not None:
            rho = state.rho / forget_factor
        if not use_fr:
            r_prev = state.r_prev
    x = list(x0)
    r = _sub(b, A(x))
    resvec = [float(np.sqrt(max(ip(r, r), 0.0)))]
    for it in range(maxit):
        z = M(r) if M is not None else r
        rho1 = rho
        rho = ip(r, z)
        if rho == 0 or not np.isfinite(rho):
            break
        if p is None or rho1 == 0 or not np.isfinite(rho1):
            # no usable previous rho (first iteration, or a warm start from a state whose
            # residual vanished): restart from the preconditioned residual, never x / 0
            p = list(z)
        else:
            if use_fr or r_prev is None:
                beta = rho / rho1
            else:
                beta = (rho - ip(r_prev, z)) / rho1
            if beta == 0 or not np.isfinite(beta):
                break
            beta = max(0.0, beta)
            p = _axpy(beta, p, z)
        q = A(p)
        pq = ip(p, q)
        if pq <= 0 or not np.isfinite(pq):
            break
        alpha = rho / pq if standard_alpha else ip(p, r) / pq
        if not np.isfinite(alpha):
            break
        if not use_fr:
            r_prev = r
        x = _axpy(alpha, p, x)
        if it < maxit - 1:
            r = _axpy(-alpha, q, r)
            resvec.append(float(np.sqrt(max(ip(r, r), 0.0))))
    return x, CGState(p=p, rho=rho, r_prev=r_prev), resvec
