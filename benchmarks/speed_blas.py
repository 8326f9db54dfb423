"""The sample-space products as BLAS calls (2026-12-07, late evening) against the einsum
formulations they replaced, in one process -> speed_blas.md / .json.

    python benchmarks/speed_blas.py [--frames 60] [--repeats 3]
                                    [--sequences Crossing,Dog,Vase,Girl,Biker,car16_1]

Four products moved from ``np.einsum`` to BLAS / matrix products (real GEMV / GEMM on
interleaved real views; the tracker's ``ThreadScope`` limits BLAS to its threads, which
is what the einsum calls had avoided before threads were scoped):
- ``SampleSpace.gram_vector``: the new sample's inner products with the stored ones,
  every frame;
- the CG right-hand side's weighted sum of the samples (``training._weighted_sum``), at
  every training step;
- the scale filter's orthonormal basis (``orthonormal_basis``: Gram matrix and
  ``y R^-1``), twice per frame;
- the Newton steps on the response's Fourier series (``optimize._series``: nine einsum
  contractions became two batched matrix products), six times per detection.

Same measurement as ``speed_primitives.py`` (whose timing and tracker loop this reuses):
thread CPU time, one thread, the previous code swapped back in as module attributes.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from speed_primitives import compare, cpu_ms


# --- the previous formulations -------------------------------------------------------------
def gram_vector_einsum(self: Any, sample: list[np.ndarray]) -> np.ndarray:
    """``SampleSpace.gram_vector`` before: a complex einsum per block."""
    g = np.zeros(self.n_samples)
    n = self.num
    if n == 0:
        return g
    for mem, x, w in zip(self.samples, sample, self._w, strict=True):
        g[:n] += np.einsum("np,p->n", mem[:n].reshape(n, -1), np.conj(x * w).ravel()).real
    return g


def weighted_sum_einsum(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The CG right-hand side's weighted sum before."""
    return np.einsum("n,nchw->chw", w, x)


def orthonormal_basis_einsum(y: np.ndarray) -> np.ndarray:
    """The scale filter's basis before: the same Cholesky route with einsum products."""
    gram = np.einsum("di,dj->ij", y, y)
    gram += 1e-12 * max(float(np.trace(gram)), 1e-30) * np.eye(gram.shape[0])
    try:
        chol = np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:
        return np.linalg.qr(y)[0]
    q = np.einsum("di,ij->dj", y, np.linalg.inv(chol.T))
    return q if np.all(np.isfinite(q)) else np.linalg.qr(y)[0]


def series_einsum(t, ky, kx, y, x):  # type: ignore[no-untyped-def]
    """``optimize._series`` before: nine einsum contractions."""
    ey = np.exp(1j * ky[None, :] * y[:, None])
    ex = np.exp(1j * kx[None, :] * x[:, None])
    a0 = np.einsum("nh,nhw->nw", ey, t)
    a1 = np.einsum("nh,nhw->nw", ey * (1j * ky), t)
    a2 = np.einsum("nh,nhw->nw", ey * (-(ky**2)), t)
    ikx = 1j * kx
    val = np.einsum("nw,nw->n", a0, ex).real
    gy = np.einsum("nw,nw->n", a1, ex).real
    gx = np.einsum("nw,nw->n", a0, ex * ikx).real
    hyy = np.einsum("nw,nw->n", a2, ex).real
    hxx = np.einsum("nw,nw->n", a0, ex * (-(kx**2))).real
    hxy = np.einsum("nw,nw->n", a1, ex * ikx).real
    grad = np.stack([gy, gx], axis=1)
    hess = np.stack([np.stack([hyy, hxy], 1), np.stack([hxy, hxx], 1)], axis=1)
    return val, grad, hess


def swap_in_einsum(old: bool) -> None:
    import fastcf.cf.optimize as optimize
    import fastcf.trackers.eco.sample_space as space
    import fastcf.trackers.eco.scale_filter as scale
    import fastcf.trackers.eco.training as training

    cur = swap_in_einsum.__dict__.setdefault(
        "current",
        (
            space.SampleSpace.gram_vector,
            training._weighted_sum,
            scale.orthonormal_basis,
            optimize._series,
        ),
    )
    space.SampleSpace.gram_vector = gram_vector_einsum if old else cur[0]  # type: ignore[method-assign]
    training._weighted_sum = weighted_sum_einsum if old else cur[1]
    scale.orthonormal_basis = orthonormal_basis_einsum if old else cur[2]
    optimize._series = series_einsum if old else cur[3]


def primitives() -> list[dict[str, Any]]:
    from fastcf.cf.fourier import freq_indices
    from fastcf.cf.optimize import _series
    from fastcf.trackers.eco.sample_space import SampleSpace
    from fastcf.trackers.eco.scale_filter import orthonormal_basis
    from fastcf.trackers.eco.training import _weighted_sum

    rng = np.random.default_rng(0)

    def cplx(shape: tuple[int, ...]) -> np.ndarray:
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)

    rows: list[dict[str, Any]] = []
    # feco's blocks (norm1, relu5, hog) with 50 samples; eco-hc's (hog, gray) with 30
    for label, shapes, n in [
        ("feco", [(3, 61, 31), (12, 15, 8), (10, 61, 31)], 50),
        ("eco-hc", [(10, 35, 18), (1, 50, 26)], 30),
    ]:
        space = SampleSpace(shapes, n, 0.01)
        for _ in range(n):
            space.update([cplx(s) for s in shapes])
        new = [cplx(s) for s in shapes]
        a, b = gram_vector_einsum(space, new), space.gram_vector(new)
        rows.append({
            "primitive": f"gram vector, {label}: {n} x {shapes}",
            "old": cpu_ms(gram_vector_einsum, (space, new), 20),
            "new": cpu_ms(space.gram_vector, (new,), 20),
            "max_diff": float(np.abs(a - b).max() / np.abs(a).max()),
        })  # fmt: skip
        w = space.prior_weights.astype(np.float32)
        x = space.samples[-1]
        a, b = weighted_sum_einsum(w, x), _weighted_sum(w, x)
        rows.append({
            "primitive": f"CG rhs weighted sum, {label}: {x.shape}",
            "old": cpu_ms(weighted_sum_einsum, (w, x), 20),
            "new": cpu_ms(_weighted_sum, (w, x), 20),
            "max_diff": float(np.abs(a - b).max() / np.abs(a).max()),
        })  # fmt: skip
    y = rng.standard_normal((837, 17))
    a, b = orthonormal_basis_einsum(y), orthonormal_basis(y)
    rows.append({
        "primitive": "scale filter basis 837 x 17 (float64)",
        "old": cpu_ms(orthonormal_basis_einsum, (y,), 50),
        "new": cpu_ms(orthonormal_basis, (y,), 50),
        "max_diff": float(np.abs(a - b).max()),
    })  # fmt: skip
    for n, h, wh in [(1, 75, 38), (5, 61, 31)]:  # one scale (fDSST), five (eco)
        t = rng.standard_normal((n, h, wh)) + 1j * rng.standard_normal((n, h, wh))
        ky, kx = freq_indices(h, wh)
        ang = (rng.uniform(-3, 3, n), rng.uniform(-3, 3, n))
        a, b = series_einsum(t, ky, kx, *ang), _series(t, ky, kx, *ang)
        diff = max(float(np.abs(p - q).max() / np.abs(p).max()) for p, q in zip(a, b, strict=True))
        rows.append({
            "primitive": f"Newton step on the response series ({n}, {h}, {wh}) complex128",
            "old": cpu_ms(series_einsum, (t, ky, kx, *ang), 50),
            "new": cpu_ms(_series, (t, ky, kx, *ang), 50),
            "max_diff": diff,
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    return compare(
        argv,
        doc=__doc__ or "",
        stem="speed_blas",
        title="Sample-space products: einsum (previous) against BLAS (current), one process",
        measure_primitives=primitives,
        swap=swap_in_einsum,
        diff_note="max difference: relative to the largest output (gram vector, weighted sum, "
        "series terms); the largest absolute difference of the basis.",
        boxes_note="The boxes differ only through float rounding (summation order).",
    )


if __name__ == "__main__":
    sys.exit(main())
