"""Online adaptation: only the declared layers change, within a time budget."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from distill_helpers import TinyNet, texture
from fastcf.distill.online import OnlineAdapter, find_distractors
from fastcf.errors import ConfigError, InvalidBoxError


def _patch(size: int = 64) -> np.ndarray:
    return texture(np.random.default_rng(2), size, size)


def _snapshot(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_only_declared_layers_change_and_loss_drops() -> None:
    torch.set_num_threads(1)
    net = TinyNet(6, 8, seed=0)
    before = _snapshot(net)
    ad = OnlineAdapter(net, ["c2"], steps=8, lr=1e-2, taps=["b"], max_ms=None)
    res = ad.adapt(_patch(), (24, 24, 16, 16), [(8.0, 50.0)])
    assert res.steps == 8 and res.loss_after < res.loss_before
    assert res.distractors == [(8.0, 50.0)]
    after = net.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"c2.weight", "c2.bias"}
    assert all(p.requires_grad for p in net.parameters())  # flags restored
    ad.reset()
    assert all(torch.equal(before[k], net.state_dict()[k]) for k in before)


def test_tap_network_prefix_is_cached_and_frozen() -> None:
    import fastcf.nets as nets

    torch.set_num_threads(1)
    net = nets.build_student("vggm-96x", seed=0)
    before = _snapshot(net)
    ad = OnlineAdapter(net, ["conv5"], steps=3, lr=1e-3, max_ms=None)
    assert ad.taps == ["relu5"]
    res = ad.adapt(_patch(96), (36, 36, 24, 24))
    assert res.steps == 3 and np.isfinite(res.loss_after)
    after = net.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"layers.conv5.conv.weight", "layers.conv5.conv.bias"}


def test_time_budget_is_respected() -> None:
    torch.set_num_threads(1)
    net = TinyNet(6, 8, seed=0)
    ad = OnlineAdapter(net, ["c2"], steps=100000, lr=1e-3, taps=["b"], max_ms=60.0)
    ad.adapt(_patch(), (24, 24, 16, 16))  # warm-up (first FFT / allocator)
    t0 = time.perf_counter()
    res = ad.adapt(_patch(), (24, 24, 16, 16))
    wall = (time.perf_counter() - t0) * 1000
    assert 0 < res.steps < 100000
    assert res.ms <= 60.0 + 40.0 and wall <= 60.0 + 60.0  # generous on a shared machine


def test_disabled_and_bad_input() -> None:
    net = TinyNet(4, 4, seed=0)
    before = _snapshot(net)
    off = OnlineAdapter(net, ["c2"], enabled=False)
    assert off.adapt(_patch(), (24, 24, 16, 16)).skipped == "disabled"
    assert all(torch.equal(before[k], net.state_dict()[k]) for k in before)
    with pytest.raises(ConfigError, match="no layer 'c9'"):
        OnlineAdapter(net, ["c9"])
    ad = OnlineAdapter(net, ["c2"], taps=["b"])
    with pytest.raises(InvalidBoxError):
        ad.adapt(_patch(), (0, 0, -3, 5))
    with pytest.raises(InvalidBoxError, match="outside"):
        ad.adapt(_patch(), (100, 100, 5, 5))
    with pytest.raises(ConfigError, match="response_or_distractors"):
        ad.adapt(_patch(), (24, 24, 16, 16), np.zeros((5, 1)))


def test_find_distractors_from_a_response_map() -> None:
    r = np.zeros((16, 16))
    r[8, 8] = 1.0  # target peak (inside the box)
    r[2, 12] = 0.6  # distractor
    r[13, 3] = 0.2  # below ratio
    found = find_distractors(r, (24, 24, 16, 16), (64, 64), ratio=0.3)
    assert found == [((12 + 0.5) * 4, (2 + 0.5) * 4)]
    assert find_distractors(np.zeros((8, 8)), (0, 0, 4, 4), (32, 32)) == []
