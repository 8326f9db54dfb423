"""Numerical guards: the ECO sample space never writes NaN, the preconditioner and CG
never divide by zero; 0/0 and empty-weight paths raise or recover explicitly (issue 12,
item 4). Before the guards, a learning rate of 1 (or one close to
1 with many samples, through underflow) merged two zero-weight samples: 0/0, NaN in the
store, and only a NumPy RuntimeWarning as a sign."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastcf
from fastcf.cf.cg import CGState, pcg
from fastcf.errors import ConfigError, TrackerError
from fastcf.trackers.eco.sample_space import SampleSpace
from synthetic import moving_object_clip

SHAPES = [(3, 5, 3), (2, 7, 4)]


def _sample(rng: np.random.Generator, scale: float = 1.0) -> list[np.ndarray]:
    return [
        (scale * (rng.standard_normal(s) + 1j * rng.standard_normal(s))).astype(np.complex64)
        for s in SHAPES
    ]


def _assert_clean(space: SampleSpace) -> None:
    assert all(np.all(np.isfinite(m)) for m in space.samples)
    w = space.prior_weights
    assert np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    n = space.num
    assert np.all(np.isfinite(space.gram[:n, :n]))


@pytest.mark.parametrize(
    "learning_rate, n_samples",
    [(0.011, 50), (0.5, 3), (0.9999999, 5), (0.9999999, 50), (1 - 1e-12, 30), (1e-300, 4)],
)
def test_store_never_holds_nan_after_it_is_full(learning_rate, n_samples):
    rng = np.random.default_rng(0)
    space = SampleSpace(SHAPES, n_samples, learning_rate)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning must never be the only sign
        for _ in range(3 * n_samples + 20):
            space.update(_sample(rng))
            _assert_clean(space)
    assert space.num == n_samples


@pytest.mark.parametrize("learning_rate", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_learning_rates_that_break_the_weights_are_refused(learning_rate):
    with pytest.raises(ConfigError, match=r"learning_rate must be in \(0, 1\)"):
        SampleSpace(SHAPES, 5, learning_rate)
    with pytest.raises(ConfigError, match="n_samples"):
        SampleSpace(SHAPES, 0, 0.1)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_sample_is_refused_and_the_store_is_unchanged(bad):
    rng = np.random.default_rng(1)
    space = SampleSpace(SHAPES, 4, 0.2)
    for _ in range(6):  # full
        space.update(_sample(rng))
    before = (
        [m.copy() for m in space.samples],
        space.prior_weights.copy(),
        space.gram.copy(),
        space.num,
    )
    sample = _sample(rng)
    sample[1][0, 2, 1] = bad
    with pytest.raises(TrackerError, match="not finite"):
        space.update(sample)
    for a, b in zip(before[0], space.samples, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(before[1], space.prior_weights)
    np.testing.assert_array_equal(before[2], space.gram)
    assert before[3] == space.num
    space.update(_sample(rng))  # still usable
    _assert_clean(space)


def test_eco_with_a_learning_rate_near_one_keeps_a_finite_model():
    """The tracker-level replay: a full store (30 samples, training every frame) with a
    rate whose older weights underflow to 0 (0/0 in a merge before the guards); no
    warning, no NaN, a box on every frame."""
    frames, gt = moving_object_clip(60)
    tracker = fastcf.create(
        "eco-hc", learning_rate=1 - 1e-12, n_samples=30, train_gap=0, skip_after_frame=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.init(frames[0], gt[0])
        for f in frames[1:]:
            result = tracker.update(f)
            assert np.all(np.isfinite(result.box))
    space = tracker.space  # type: ignore[attr-defined]
    assert space.num == 30
    _assert_clean(space)


def test_black_first_frame_with_a_vanishing_preconditioner_gives_no_division_by_zero():
    """An all-zero first patch leaves only ``precond_reg_param`` in ECO's preconditioner;
    with a tiny (allowed) value it became 1/0 in float32 before the floor."""
    frames, gt = moving_object_clip(8)
    black = np.zeros_like(frames[0])
    tracker = fastcf.create("eco-hc", precond_reg_param=1e-300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.init(black, gt[0])
        for f in [black] * 3 + frames[1:4]:
            assert np.all(np.isfinite(tracker.update(f).box))
    assert all(np.all(np.isfinite(h)) for h in tracker.hf)  # type: ignore[attr-defined]


def test_cg_warm_start_from_a_vanished_residual_restarts_instead_of_dividing_by_zero():
    """A CG state whose rho is 0 (its residual vanished, e.g. on an empty patch) used to
    raise ZeroDivisionError in the Polak-Ribiere beta of the next call."""
    a = np.diag([2.0, 3.0, 4.0])
    b = [np.array([1.0, -2.0, 0.5])]

    def ip(u, v):
        return float(np.dot(u[0], v[0]))

    state = CGState(p=[np.ones(3)], rho=0.0, r_prev=[np.zeros(3)])
    for use_fr in (False, True):
        x, new_state, res = pcg(
            lambda v: [a @ v[0]],
            b,
            [np.zeros(3)],
            ip,
            maxit=3,
            use_fr=use_fr,
            state=state,
            forget_factor=1.0,
        )
        np.testing.assert_allclose(x[0], np.linalg.solve(a, b[0]), rtol=1e-8)
        assert np.isfinite(new_state.rho)
