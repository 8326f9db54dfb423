"""ECO's products on the sample space as BLAS calls on interleaved real views (sample-space
gram vector, the CG right-hand side's weighted sum, the scale filter's basis) against
brute-force complex128 / float64 references."""

from __future__ import annotations

import numpy as np

from fastcf.trackers.eco.sample_space import SampleSpace
from fastcf.trackers.eco.scale_filter import orthonormal_basis
from fastcf.trackers.eco.training import _weighted_sum


def _cplx(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def test_gram_vector_equals_full_spectrum_inner_products():
    rng = np.random.default_rng(3)
    shapes = [(3, 61, 31), (12, 15, 8), (10, 7, 4)]
    space = SampleSpace(shapes, n_samples=9, learning_rate=0.05)
    for _ in range(7):
        space.update([_cplx(rng, s) for s in shapes])
    new = [_cplx(rng, s) for s in shapes]
    g = space.gram_vector(new)
    n = space.num
    # full-spectrum inner product of half spectra: every column twice except the first
    expect = np.zeros(space.n_samples)
    for k in range(n):
        for mem, x in zip(space.samples, new, strict=True):
            a = mem[k].astype(np.complex128)
            b = x.astype(np.complex128)
            expect[k] += 2 * np.vdot(b, a).real - np.vdot(b[..., 0], a[..., 0]).real
    np.testing.assert_allclose(g[:n], expect[:n], rtol=2e-5, atol=1e-3)
    assert np.all(g[n:] == 0)


def test_gram_vector_of_an_empty_space_is_zero():
    space = SampleSpace([(2, 3, 2)], n_samples=4, learning_rate=0.1)
    assert np.array_equal(space.gram_vector([np.ones((2, 3, 2), np.complex64)]), np.zeros(4))


def test_weighted_sum_equals_the_complex_reference():
    rng = np.random.default_rng(4)
    x = _cplx(rng, (30, 10, 61, 31))
    w = rng.random(30).astype(np.float32)
    got = _weighted_sum(w, x)
    assert got.dtype == np.complex64 and got.shape == (10, 61, 31)
    ref = np.einsum("n,nchw->chw", w.astype(np.float64), x.astype(np.complex128))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    # a view of the first samples (the tracker passes s[:num])
    np.testing.assert_allclose(
        _weighted_sum(w[:7], x[:7]),
        np.einsum("n,nchw->chw", w[:7].astype(np.float64), x[:7].astype(np.complex128)),
        rtol=1e-5,
        atol=1e-5,
    )


def test_orthonormal_basis_spans_y_like_qr():
    rng = np.random.default_rng(5)
    y = rng.standard_normal((837, 17))
    q = orthonormal_basis(y)
    np.testing.assert_allclose(q.T @ q, np.eye(17), atol=1e-10)
    np.testing.assert_allclose(q @ (q.T @ y), y, atol=1e-9)
    ref = np.linalg.qr(y)[0]
    signs = np.sign(np.sum(q * ref, axis=0))  # Q equals QR's Q up to column signs
    np.testing.assert_allclose(q, ref * signs, atol=1e-9)
