"""Distillation losses: DCF layer vs brute-force ridge regression, gradients, fidelity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fastcf.distill.dcf import (
    cosine_window,
    dcf_filter,
    dcf_response,
    dcf_track,
    gaussian_label,
    normalize_power,
)
from fastcf.distill.losses import (
    FidelityLoss,
    label_sigma_cells,
    normalized_mse,
    resample_to,
    total_loss,
    tracking_loss,
)


def _shift_matrix(x: np.ndarray) -> np.ndarray:
    """Rows s = (sy, sx): the features x_c(u + s) (circular), flattened over (c, u)."""
    c, h, w = x.shape
    rows = []
    for sy in range(h):
        for sx in range(w):
            rows.append(np.roll(x, shift=(-sy, -sx), axis=(1, 2)).ravel())
    return np.array(rows)


def _brute_force(x: np.ndarray, y: np.ndarray, z: np.ndarray, lam: float) -> np.ndarray:
    a = _shift_matrix(x)
    w = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ y.ravel())
    return (_shift_matrix(z) @ w).reshape(y.shape)


@pytest.mark.parametrize("channels", [1, 3])
def test_dcf_equals_brute_force_ridge_over_circular_shifts(channels: int) -> None:
    rng = np.random.default_rng(channels)
    h, w, lam = 5, 6, 0.3
    x = rng.standard_normal((channels, h, w))
    z = rng.standard_normal((channels, h, w))
    y = gaussian_label(h, w, 1.2, dtype=torch.float64).numpy()
    expected = _brute_force(x, y, z, lam)
    hf = dcf_filter(torch.from_numpy(x)[None], torch.from_numpy(y), lam)
    got = dcf_response(hf, torch.from_numpy(z)[None])[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10)
    # and on the template itself the response is the ridge fit of the label
    fit = dcf_response(hf, torch.from_numpy(x)[None])[0].numpy()
    np.testing.assert_allclose(fit, _brute_force(x, y, x, lam), rtol=1e-9, atol=1e-10)


def test_dcf_gradient_matches_finite_differences() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64, generator=g, requires_grad=True)
    z = torch.randn(2, 3, 5, 6, dtype=torch.float64, generator=g, requires_grad=True)
    off = torch.tensor([[4.0, -3.0], [0.0, 2.5]], dtype=torch.float64)

    def f(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return tracking_loss(a, b, off, stride=4, sigma=0.8, lam=0.1)

    assert torch.autograd.gradcheck(f, (x, z), eps=1e-6, atol=1e-6)

    def g_resp(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return dcf_track(a, b, 0.8, 0.1, window=True, normalize=False)

    assert torch.autograd.gradcheck(g_resp, (x, z), eps=1e-6, atol=1e-6)


def test_response_peaks_at_content_displacement() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 4, 16, 16, generator=g, dtype=torch.float64)
    z = torch.roll(x, shifts=(3, -2), dims=(2, 3))  # content moved by dy=3, dx=-2
    r = dcf_track(x, z, sigma=1.0, lam=1e-2, window=False)[0]
    iy, ix = np.unravel_index(int(torch.argmax(r)), r.shape)
    assert (iy, ix) == (3, 16 - 2)
    good = tracking_loss(
        x, z, torch.tensor([[12.0, -8.0]]), stride=4, sigma=1.0, lam=1e-2, window=False
    )
    bad = tracking_loss(
        x, z, torch.tensor([[0.0, 0.0]]), stride=4, sigma=1.0, lam=1e-2, window=False
    )
    assert float(good) < 0.1 < float(bad)


def test_gaussian_label_and_window_values() -> None:
    y = gaussian_label(4, 4, 1.0, dtype=torch.float64)
    assert y[0, 0] == 1.0
    assert float(y[0, 3]) == pytest.approx(np.exp(-0.5))  # wraps: distance 1
    assert float(y[2, 2]) == pytest.approx(np.exp(-4.0))  # distance (2, 2) -> -2, -2
    yc = gaussian_label(4, 6, 1.0, torch.tensor([[1.0, -1.0]]), dtype=torch.float64)
    assert yc.shape == (1, 4, 6) and yc[0, 1, 5] == 1.0
    cw = cosine_window(3, 5, dtype=torch.float64)
    assert float(cw[1, 2]) == 1.0 and float(cw[0, 2]) == 0.0
    x = torch.full((2, 3, 4, 4), 5.0)
    n = normalize_power(x)
    assert float(n.pow(2).sum(dim=1).mean()) == pytest.approx(1.0, rel=1e-5)


def test_fidelity_loss_hand_computed() -> None:
    loss = FidelityLoss({"a": "t1", "b": "t2"}, {"a": 1, "b": 1}, {"t1": 1, "t2": 1})
    with torch.no_grad():
        for tap, weight in (("a", 2.0), ("b", 1.0)):
            loss.adapter(tap).weight.fill_(weight)
            loss.adapter(tap).bias.zero_()
    student = {
        "a": torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]),  # finer: avg-pooled to 2.5 -> x2 = 5
        "b": torch.tensor([[[[1.0]]]]),  # coarser: bilinear up to 2x2 of ones
    }
    teacher = {"t1": torch.tensor([[[[4.0]]]]), "t2": torch.tensor([[[[1.0, 1.0], [1.0, 3.0]]]])}
    out = {k: v.detach() for k, v in loss(student, teacher).items()}
    assert float(out["a"]) == pytest.approx((5.0 - 4.0) ** 2 / 16.0, rel=1e-5)
    assert float(out["b"]) == pytest.approx(4.0 / 12.0, rel=1e-5)
    tot = total_loss(out, {"x": torch.tensor(2.0)}, {"a": 2.0}, beta=0.5)
    assert float(tot) == pytest.approx(2.0 / 16.0 + 1.0 / 3.0 + 1.0, rel=1e-5)


def test_fidelity_adapter_channels_and_errors() -> None:
    loss = FidelityLoss({"s": "t"}, {"s": 5}, {"t": 7})
    assert loss.adapter("s").weight.shape == (7, 5, 1, 1)
    out = loss({"s": torch.randn(2, 5, 8, 8)}, {"t": torch.randn(2, 7, 4, 4)})
    assert out["s"].ndim == 0
    with pytest.raises(KeyError, match="teacher tap"):
        FidelityLoss({"s": "missing"}, {"s": 5}, {"t": 7})
    with pytest.raises(ValueError, match="at least one"):
        FidelityLoss({}, {}, {})


def test_resample_and_normalized_mse() -> None:
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert resample_to(x, (2, 2)).flatten().tolist() == [2.5, 4.5, 10.5, 12.5]
    assert resample_to(x, (8, 8)).shape == (1, 1, 8, 8)
    t = torch.tensor([[3.0, 4.0]])
    assert float(normalized_mse(torch.zeros(1, 2), t)) == pytest.approx(1.0)
    assert label_sigma_cells(128, 4.0, 0.125, 4) == pytest.approx(1.0)


def test_fit_adapters_recovers_an_exact_linear_map() -> None:
    g = torch.Generator().manual_seed(3)
    s = torch.randn(4, 5, 8, 8, generator=g, dtype=torch.float64)
    w = torch.randn(7, 5, generator=g, dtype=torch.float64)
    t = torch.einsum("oc,nchw->nohw", w, s) + 0.5  # teacher = 1x1 conv of the student
    loss = FidelityLoss({"s": "t"}, {"s": 5}, {"t": 7}).double()
    loss.fit_adapters({"s": s}, {"t": t}, ridge=1e-12)
    assert torch.allclose(loss.adapter("s").weight[:, :, 0, 0], w, atol=1e-6)
    assert float(loss({"s": s}, {"t": t})["s"].detach()) < 1e-10
