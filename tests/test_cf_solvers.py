"""Solvers of fastcf.cf: CG, closed-form DCF, regularisation, Newton maximum, PCA, and
ECO's filter / joint training on small problems with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from fastcf.cf.cg import pcg
from fastcf.cf.dcf import dcf_response, dcf_train
from fastcf.cf.fourier import cfft2, inner_product, sample_fs, symmetrize_filter
from fastcf.cf.optimize import optimize_scores
from fastcf.cf.projection import pca_projection, project
from fastcf.cf.regularization import apply_reg_filter, reg_filter, reg_window
from fastcf.trackers.eco.training import Geometry, filter_ip, lhs_filter, train_filter, train_joint

RNG = np.random.default_rng(1)


def _real_ip(a, b):
    return float(sum(np.vdot(x, y).real for x, y in zip(a, b, strict=True)))


@pytest.mark.parametrize("use_fr", [True, False])
def test_pcg_matches_direct_solve(use_fr):
    n = 12
    q = RNG.standard_normal((n, n))
    a = q @ q.T + n * np.eye(n)
    b = RNG.standard_normal(n)
    d = np.diag(a)
    x, _, res = pcg(
        lambda v: [a @ v[0]],
        [b],
        [np.zeros(n)],
        _real_ip,
        lambda r: [r[0] / d],
        maxit=3 * n,
        use_fr=use_fr,
    )
    np.testing.assert_allclose(x[0], np.linalg.solve(a, b), rtol=1e-8, atol=1e-10)
    assert res[-1] < res[0]


def test_pcg_warm_start_state_continues_the_solve():
    n = 30
    q = RNG.standard_normal((n, n))
    a = q @ q.T + 0.5 * np.eye(n)
    b = RNG.standard_normal(n)
    x_ref = np.linalg.solve(a, b)
    x, state, _ = pcg(lambda v: [a @ v[0]], [b], [np.zeros(n)], _real_ip, maxit=5)
    x_warm, _, _ = pcg(lambda v: [a @ v[0]], [b], x, _real_ip, maxit=5, state=state)
    x_cold, _, _ = pcg(lambda v: [a @ v[0]], [b], x, _real_ip, maxit=5)
    err_warm = np.linalg.norm(x_warm[0] - x_ref)
    err_cold = np.linalg.norm(x_cold[0] - x_ref)
    assert err_warm <= err_cold * 1.05


def test_closed_form_dcf_equals_brute_force_ridge_regression():
    h, w, lam = 6, 5, 0.3
    x = RNG.standard_normal((h, w))
    y = RNG.standard_normal((h, w))
    # row n of the data matrix holds x circularly shifted by n: r[n] = sum_m g[m] x[m + n]
    rows = []
    for dy in range(h):
        for dx in range(w):
            rows.append(np.roll(x, (-dy, -dx), axis=(0, 1)).ravel())
    a = np.array(rows)
    g = np.linalg.solve(a.T @ a + lam * np.eye(h * w), a.T @ y.ravel())
    gf = dcf_train(x, y, lam)
    np.testing.assert_allclose(np.real(np.fft.ifft2(gf)).ravel(), g, atol=1e-10)
    np.testing.assert_allclose(dcf_response(gf, x).ravel(), a @ g, atol=1e-10)


def _eco_reg_reference(hf, filt):
    """ECO's lhs_operation regularisation, written on ECO's own layout (kx <= 0 stored)."""
    eco = hf[..., ::-1, ::-1].conj()  # columns -(Wh-1)..0, rows flipped accordingly
    out = np.empty_like(eco)
    reg_pad = min(filt.shape[1] - 1, eco.shape[-1] - 1)
    for c in range(eco.shape[0]):
        e = eco[c]
        ext = np.concatenate([e, np.conj(np.rot90(e[:, -reg_pad - 1 : -1], 2))], axis=1)
        full = signal.convolve2d(ext, filt, mode="full")
        out[c] = signal.convolve2d(full[:, : full.shape[1] - reg_pad], filt, mode="valid")
    return out[..., ::-1, ::-1].conj()


@pytest.mark.parametrize(
    ("support", "target", "size"),
    [((60, 60), (20, 14), 13), ((60, 60), (20, 14), 3), ((90, 90), (12, 40), 9)],
)
def test_reg_filter_operation_matches_eco_convolutions(support, target, size):
    filt = reg_filter(support, target, 1e-4, 10e-3, 2, 0.05)
    assert filt.shape[0] % 2 == 1 and filt.shape[1] % 2 == 1
    np.testing.assert_allclose(filt, filt[::-1, ::-1], atol=1e-7)
    hf = symmetrize_filter(cfft2(RNG.standard_normal((3, size, size))))
    ours = apply_reg_filter(hf, filt)
    np.testing.assert_allclose(ours, _eco_reg_reference(hf, filt.astype(np.float64)), atol=1e-8)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("shape", [(10, 53, 27), (12, 13, 7), (41, 21), (2, 9, 1), (2, 3, 5, 4)])
def test_reg_filter_opencv_path_matches_numpy_sums(dtype, shape):
    # the OpenCV implementation against the shifted sums over the taps, on ECO's cross-shaped
    # filter and on a dense one, for channel stacks, a single 2-D filter, one column
    from fastcf.cf.regularization import _apply_reg_filter_numpy

    rng = np.random.default_rng(3)
    hf = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    for filt in (reg_filter((60, 60), (20, 14)), rng.random((5, 7)).astype(np.float32)):
        ours = apply_reg_filter(hf, filt)
        ref = _apply_reg_filter_numpy(hf.astype(np.complex128), filt)
        assert ours.shape == hf.shape and ours.dtype == hf.dtype
        tol = 1e-6 if dtype == np.complex64 else 1e-12
        np.testing.assert_allclose(ours, ref, atol=tol * np.abs(ref).max())


def test_reg_operator_is_self_adjoint_and_positive():
    filt = reg_filter((50, 40), (12, 10))
    kern = filt
    a = cfft2(RNG.standard_normal((2, 11, 9)))
    b = cfft2(RNG.standard_normal((2, 11, 9)))
    lhs = inner_product(a, apply_reg_filter(b, kern))
    rhs = inner_product(apply_reg_filter(a, kern), b)
    assert lhs == pytest.approx(rhs, rel=1e-6)
    assert inner_product(a, apply_reg_filter(a, kern)) > 0


def test_reg_filter_sparse_window_keeps_min_and_shape():
    sz, tgt = (61, 61), (20, 20)
    filt = reg_filter(sz, tgt, 1e-4, 10e-3, 2, 0.05)
    dft = np.zeros(sz, complex)
    fh, fw = filt.shape
    c0, c1 = sz[0] // 2, sz[1] // 2
    dft[c0 - fh // 2 : c0 + fh // 2 + 1, c1 - fw // 2 : c1 + fw // 2 + 1] = filt
    win = np.real(np.fft.ifft2(np.fft.ifftshift(dft))) * np.prod(sz)
    assert win.min() == pytest.approx(1e-4, rel=1e-3, abs=1e-6)
    full = reg_window(sz, tgt, 1e-4, 10e-3, 2)
    # the sparse window follows the quadratic at the centre and grows towards the border
    assert win.max() > 10 * win.min()
    assert full[c0, c1] == pytest.approx(1e-4)


def test_newton_maximum_matches_dense_grid_search():
    h, w = 15, 17
    for seed in range(5):
        rng = np.random.default_rng(seed)
        yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        cy, cx = rng.uniform(2, h - 2), rng.uniform(2, w - 2)
        s = np.exp(-(((yy - cy) / 2.0) ** 2 + ((xx - cx) / 2.5) ** 2) / 2)
        s += 0.2 * np.exp(
            -(((yy - rng.uniform(0, h)) / 1.5) ** 2 + ((xx - rng.uniform(0, w)) / 1.5) ** 2) / 2
        )
        sf = cfft2(s) / (h * w)
        best = optimize_scores(sf[None], 5)
        fine = sample_fs(sf, (20 * h, 20 * w))
        r, c = np.unravel_index(np.argmax(fine), fine.shape)
        r = (r / 20 + h / 2) % h - h / 2
        c = (c / 20 + w / 2) % w - w / 2
        assert best.row == pytest.approx(r, abs=0.06)
        assert best.col == pytest.approx(c, abs=0.06)
        assert best.score == pytest.approx(fine.max(), rel=1e-3)


def test_optimize_scores_picks_the_best_scale():
    h = w = 11
    s = np.zeros((3, h, w))
    s[0, 2, 3] = 0.5
    s[1, 9, 1] = 0.9
    s[2, 4, 4] = 0.7
    sf = cfft2(s) / (h * w)
    best = optimize_scores(sf, 0)
    assert best.scale_index == 1
    assert (best.row, best.col) == pytest.approx((-2, 1))


def test_pca_projection_is_orthonormal_and_finds_the_dominant_direction():
    d, n = 6, 400
    direction = np.array([1, 2, 0, 0, -1, 0.5])
    direction /= np.linalg.norm(direction)
    data = np.outer(direction, 10 * RNG.standard_normal(n)) + 0.1 * RNG.standard_normal((d, n))
    p = pca_projection(data.reshape(d, 20, 20), 3)
    np.testing.assert_allclose(p.T @ p, np.eye(3), atol=1e-5)
    assert abs(p[:, 0] @ direction) > 0.99
    x = RNG.standard_normal((2, d, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(
        project(x, p), np.einsum("ndhw,dc->nchw", x, p), rtol=1e-5, atol=1e-5
    )


def test_pca_projection_rank_deficient_matches_the_thin_svd():
    # more channels than pixels (VGG16 conv4_3: 512 channels over 15x15 cells), ReLU-sparse
    # and with dead channels: the Gram matrix has rank <= 225 (the case where NumPy 2.4's
    # SVD driver failed to converge)
    rng = np.random.default_rng(3)
    d, h, w = 512, 15, 15
    x = np.maximum(rng.standard_normal((d, h * w)) @ rng.standard_normal((h * w, h * w)), 0)
    x[::7] = 0.0
    x = x.reshape(d, h, w).astype(np.float32)
    p = pca_projection(x, 64)
    assert p.shape == (512, 64) and np.isfinite(p).all()
    np.testing.assert_allclose(p.T @ p, np.eye(64), atol=1e-5)
    centred = x.reshape(d, -1).astype(np.float64)
    centred -= centred.mean(axis=1, keepdims=True)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)  # thin SVD of the data itself
    assert s[63] > 1.001 * s[64]  # distinct leading singular values: the basis is unique
    np.testing.assert_allclose(np.abs(p.T @ u[:, :64]), np.eye(64), atol=1e-4)
    assert (p[np.abs(p).argmax(axis=0), np.arange(64)] > 0).all()  # sign convention


def _problem(c=3, n=1, size=9, reg=0.1, seed=5):
    rng = np.random.default_rng(seed)
    samples = [cfft2(rng.standard_normal((n, c, size, size))).astype(np.complex64)]
    yf = [cfft2(rng.standard_normal((size, size))).astype(np.complex64)]
    geo = Geometry(
        [(slice(0, size), slice(0, (size + 1) // 2))],
        (size, (size + 1) // 2),
        [np.array([[reg]])],
    )
    return samples, yf, geo


def test_train_filter_solves_the_per_frequency_normal_equations():
    c, reg = 3, 2.0
    samples, yf, geo = _problem(c=c, n=5, reg=reg)
    weights = np.array([0.3, 0.1, 0.2, 0.25, 0.15])
    x, y = samples[0].astype(np.complex128), yf[0].astype(np.complex128)
    # direct: for every frequency (sum_j w_j conj(x_j) x_j^T + reg^2 I) h = conj(sum_j w_j x_j) y
    a = np.einsum("n,nchw,ndhw->hwcd", weights, np.conj(x), x) + reg**2 * np.eye(c)
    rhs = np.conj(np.einsum("n,nchw->hwc", weights, x)) * y[..., None]
    direct = np.moveaxis(np.linalg.solve(a, rhs[..., None])[..., 0], -1, 0)
    energy = [np.mean(np.abs(x) ** 2, axis=0)]
    hf, _, res = train_filter(
        [np.zeros_like(samples[0][0])],
        samples,
        weights,
        yf,
        geo,
        energy,
        maxit=60,
        state=None,
        forget_factor=1.0,
    )
    np.testing.assert_allclose(hf[0], direct, rtol=2e-3, atol=2e-4)
    assert res[-1] < 1e-3 * res[0]


def test_lhs_filter_is_self_adjoint():
    samples, _, geo = _problem(c=2, n=3)
    w = np.array([0.2, 0.5, 0.3])
    a = [symmetrize_filter(cfft2(RNG.standard_normal((2, 9, 9))))]
    b = [symmetrize_filter(cfft2(RNG.standard_normal((2, 9, 9))))]
    assert filter_ip(a, lhs_filter(b, samples, w, geo)) == pytest.approx(
        filter_ip(lhs_filter(a, samples, w, geo), b), rel=1e-4
    )


def _objective(hf, proj, xlf, yf, reg, lam):
    z = np.einsum("dhw,dc->chw", xlf, proj)
    r = (z * hf).sum(0) - yf
    return inner_product(r, r) + reg**2 * inner_product(hf, hf) + lam * float(np.sum(proj**2))


def test_gauss_newton_joint_training_beats_fixed_pca_projection():
    rng = np.random.default_rng(1)
    d, c, size, reg, lam = 8, 3, 11, 0.05, 1e-6
    xlf = cfft2(rng.standard_normal((d, size, size))).astype(np.complex64)
    yf = cfft2(rng.standard_normal((size, size))).astype(np.complex64)
    geo = Geometry([(slice(0, size), slice(0, 6))], (size, 6), [np.array([[reg]])])
    p0 = pca_projection(rng.standard_normal((d, size, size)), c)
    z0 = np.einsum("dhw,dc->chw", xlf, p0)
    energy = [np.abs(z0) ** 2]
    h_fixed, _, _ = train_filter(
        [np.zeros_like(z0)],
        [z0[None]],
        np.ones(1),
        [yf],
        geo,
        energy,
        maxit=200,
        state=None,
        forget_factor=1.0,
    )
    hf, proj, _ = train_joint(
        [np.zeros_like(z0)],
        [p0],
        [xlf],
        [yf],
        geo,
        energy,
        [reg**2],
        gn_iter=10,
        cg_iter=20,
        projection_reg=lam,
        precond_data_param=0.75,
        precond_reg_param=0.25,
        precond_proj_param=40,
    )
    fixed = _objective(h_fixed[0], p0, xlf, yf, reg, 0.0)
    joint = _objective(hf[0], proj[0], xlf, yf, reg, 0.0)
    # ECO's budget (10 GN x 20 CG) already beats the converged fixed-projection filter
    assert joint < 0.8 * fixed
    hf2, proj2, _ = train_joint(
        [np.zeros_like(z0)],
        [p0],
        [xlf],
        [yf],
        geo,
        energy,
        [reg**2],
        gn_iter=10,
        cg_iter=100,
        projection_reg=lam,
        precond_data_param=0.75,
        precond_reg_param=0.25,
        precond_proj_param=40,
    )
    assert _objective(hf2[0], proj2[0], xlf, yf, reg, 0.0) < 0.2 * fixed


def test_resize_factor_keeps_search_area_within_bounds():
    from fastcf.cf.sample_size import resize_factor

    # 40x50 target, search scale 4: area 160*200 = 32000 px within [150^2, 200^2] -> 1.0
    assert resize_factor([40, 50], 4.0, 150**2, 200**2) == 1.0
    # a large target is scaled down to exactly the maximum area
    f = resize_factor([100, 120], 4.0, 150**2, 200**2)
    assert abs((400 / f) * (480 / f) - 200**2) < 1e-6
    # a small target is scaled up (factor < 1) to the minimum area
    f = resize_factor([10, 10], 4.0, 150**2, 200**2)
    assert f < 1 and abs((40 / f) ** 2 - 150**2) < 1e-6


def test_series_value_gradient_and_hessian_against_direct_sums():
    """``optimize._series`` (two batched matrix products) against the trigonometric
    polynomial and its derivatives summed term by term."""
    from fastcf.cf.fourier import freq_indices
    from fastcf.cf.optimize import _series

    rng = np.random.default_rng(11)
    n, h, wh = 3, 9, 5
    t = rng.standard_normal((n, h, wh)) + 1j * rng.standard_normal((n, h, wh))
    ky, kx = freq_indices(h, wh)
    y, x = rng.uniform(-3, 3, n), rng.uniform(-3, 3, n)
    val, grad, hess = _series(t, ky, kx, y, x)
    for i in range(n):
        e = np.exp(1j * (ky[:, None] * y[i] + kx[None, :] * x[i]))
        term = t[i] * e
        assert val[i] == pytest.approx(term.sum().real, rel=1e-12, abs=1e-12)
        dy, dx = 1j * ky[:, None], 1j * kx[None, :]
        np.testing.assert_allclose(
            grad[i], [(term * dy).sum().real, (term * dx).sum().real], rtol=1e-12, atol=1e-10
        )
        np.testing.assert_allclose(
            hess[i],
            [
                [(term * dy * dy).sum().real, (term * dy * dx).sum().real],
                [(term * dx * dy).sum().real, (term * dx * dx).sum().real],
            ],
            rtol=1e-12,
            atol=1e-9,
        )
