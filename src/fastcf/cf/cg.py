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


class PCGRun:
    """A preconditioned CG run on ``A x = b`` from ``x0`` that advances one iteration per
    :meth:`step` (the body of :func:`pcg`), so that a solve can be spread over several
    calls (ECO's update spread over the frames between two training frames).

    The operator ``A`` is called again at every step: when it changes between steps (new
    training samples), the run continues on the new operator with the residual it has,
    an inexact CG; :func:`pcg` (one call, a fixed ``A``) is the exact method.
    """

    def __init__(
        self,
        A: Callable[[Vec], Vec],
        b: Vec,
        x0: Vec,
        ip: Callable[[Vec, Vec], float],
        M: Callable[[Vec], Vec] | None = None,
        use_fr: bool = False,
        standard_alpha: bool = True,
        state: CGState | None = None,
        forget_factor: float = 1.0,
    ) -> None:
        self.A, self.ip, self.M = A, ip, M
        self.use_fr, self.standard_alpha = use_fr, standard_alpha
        self.p: Vec | None = None
        self.rho = 1.0
        self.r_prev: Vec | None = None
        if state is not None and forget_factor > 0:
            self.p = state.p
            if state.p is not None:
                self.rho = state.rho / forget_factor
            if not use_fr:
                self.r_prev = state.r_prev
        self.x = list(x0)
        self.r = _sub(b, A(self.x))
        self.residuals = [float(np.sqrt(max(ip(self.r, self.r), 0.0)))]
        self.stopped = False

    @property
    def state(self) -> CGState:
        """What a later run warm-starts from."""
        return CGState(p=self.p, rho=self.rho, r_prev=self.r_prev)

    def step(self, update_residual: bool = True) -> bool:
        """One iteration; False (and nothing changes) once the method has broken down."""
        if self.stopped:
            return False
        ip = self.ip
        z = self.M(self.r) if self.M is not None else self.r
        rho1 = self.rho
        rho = self.rho = ip(self.r, z)
        if rho == 0 or not np.isfinite(rho):
            self.stopped = True
            return False
        if self.p is None or rho1 == 0 or not np.isfinite(rho1):
            # no usable previous rho (first iteration, or a warm start from a state whose
            # residual vanished): restart from the preconditioned residual, never x / 0
            p = list(z)
        else:
            if self.use_fr or self.r_prev is None:
                beta = rho / rho1
            else:
                beta = (rho - ip(self.r_prev, z)) / rho1
            if beta == 0 or not np.isfinite(beta):
                self.stopped = True
                return False
            p = _axpy(max(0.0, beta), self.p, z)
        self.p = p
        q = self.A(p)
        pq = ip(p, q)
        if pq <= 0 or not np.isfinite(pq):
            self.stopped = True
            return False
        alpha = rho / pq if self.standard_alpha else ip(p, self.r) / pq
        if not np.isfinite(alpha):
            self.stopped = True
            return False
        if not self.use_fr:
            self.r_prev = self.r
        self.x = _axpy(alpha, p, self.x)
        if update_residual:
            self.r = _axpy(-alpha, q, self.r)
            self.residuals.append(float(np.sqrt(max(ip(self.r, self.r), 0.0))))
        return True


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
    run = PCGRun(A, b, x0, ip, M, use_fr, standard_alpha, state, forget_factor)
    for it in range(maxit):
        if not run.step(update_residual=it < maxit - 1):
            break
    return run.x, run.state, run.residuals
