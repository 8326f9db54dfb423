"""Background-aware online adaptation in ECO: only the declared layers of the tracker's own
copy of the network change; the caller's (or shipped) network never does; time is bounded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastcf
from fastcf.errors import ConfigError
from fastcf.features.cnn import CNNFeatures
from fastcf.nets import load_shipped_student


def _frame() -> tuple[np.ndarray, tuple[float, float, float, float]]:
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:180, 0:220]
    bg = 100 + 50 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    img = np.stack([bg, bg * 0.8, bg * 0.6], axis=2).astype(np.uint8)
    img[70:106, 90:118] = rng.integers(0, 256, (36, 28, 3), dtype=np.uint8)
    return img, (90.0, 70.0, 28.0, 36.0)


def _state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def test_adaptation_changes_only_declared_layers_of_the_private_copy() -> None:
    shared = load_shipped_student()
    before = _state(shared)
    frame, box = _frame()
    tracker = fastcf.create(
        "feco", cnn=shared, online_adaptation=True, adapt_steps=3, adapt_max_ms=5000.0
    )
    tracker.init(frame, box)
    adaptation = tracker.features.adaptation
    assert adaptation.last_steps == 3
    # the caller's network is untouched, bit for bit
    for k, v in shared.state_dict().items():
        assert torch.equal(v, before[k]), k
    # the tracker's copy differs from it exactly in the declared layer (conv5)
    copy = adaptation.network
    assert all(p is not q for p in copy.parameters() for q in shared.parameters())
    changed = {k for k, v in copy.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"layers.conv5.conv.weight", "layers.conv5.conv.bias"}
    assert tracker.update(frame).ok
    # re-initialising starts again from the distilled weights: same adapted copy
    adapted = _state(copy)
    tracker.init(frame, box)
    for k, v in copy.state_dict().items():
        assert torch.equal(v, adapted[k]), k


def test_adaptation_of_a_cnnfeatures_extractor_and_other_layers() -> None:
    shared = load_shipped_student()
    before = _state(shared)
    extractor = CNNFeatures(shared.truncated(("norm1", "relu5")), ("norm1", "relu5"), {"norm1": 2})
    frame, box = _frame()
    tracker = fastcf.create(
        "feco",
        cnn=extractor,
        online_adaptation=True,
        adapt_layers=("conv4", "conv5"),
        adapt_steps=2,
        adapt_max_ms=5000.0,
    )
    tracker.init(frame, box)
    copy = tracker.features.adaptation.network
    changed = {k for k, v in copy.state_dict().items() if not torch.equal(v, before[k])}
    assert {k.split(".")[1] for k in changed} == {"conv4", "conv5"}
    for k, v in shared.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_shipped_default_with_adaptation_leaves_the_shipped_weights_alone() -> None:
    frame, box = _frame()
    tracker = fastcf.create("feco", online_adaptation=True, adapt_max_ms=5000.0)
    tracker.init(frame, box)
    fresh = load_shipped_student()
    copy = tracker.features.adaptation.network
    assert not torch.equal(copy.layers["conv5"].conv.weight, fresh.layers["conv5"].conv.weight)
    assert torch.equal(copy.layers["conv4"].conv.weight, fresh.layers["conv4"].conv.weight)


def test_init_time_of_adaptation_is_bounded() -> None:
    # Bound: the adapter stops before a step would pass adapt_max_ms, so the adaptation
    # costs at most adapt_max_ms plus about one step (~10-30 ms here; 3x slack for a
    # loaded machine).
    frame, box = _frame()
    tracker = fastcf.create("feco", online_adaptation=True, adapt_steps=1000, adapt_max_ms=60.0)
    tracker.init(frame, box)
    assert 0.0 < tracker.adapt_ms < 3 * 60.0
    assert tracker.features.adaptation.last_steps < 1000
    off = fastcf.create("feco", online_adaptation=False)
    off.init(frame, box)
    assert off.adapt_ms == 0.0 and off.features.adaptation is None


def test_adaptation_config_errors() -> None:
    with pytest.raises(ConfigError, match="needs a CNN"):
        fastcf.create("eco-hc", online_adaptation=True)
    with pytest.raises(ConfigError, match="adapt_layers"):
        fastcf.create("feco", online_adaptation=True, adapt_layers=())
    with pytest.raises(ConfigError, match="adapt_lr"):
        fastcf.create("feco", online_adaptation=True, adapt_lr=0.0)
    with pytest.raises(ConfigError, match="no layer 'conv9'"):
        fastcf.create("feco", online_adaptation=True, adapt_layers=("conv9",))


def test_strcf_adaptation_changes_only_conv3_of_its_copy() -> None:
    shared = load_shipped_student()
    before = _state(shared)
    frame, box = _frame()
    tracker = fastcf.create("fdeepstrcf", cnn=shared, online_adaptation=True, adapt_max_ms=5000.0)
    tracker.init(frame, box)
    assert tracker.features.adaptation.last_steps == 5 and tracker.adapt_ms > 0
    copy = tracker.features.adaptation.network
    changed = {k for k, v in copy.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"layers.conv3.conv.weight", "layers.conv3.conv.bias"}
    for k, v in shared.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert tracker.update(frame).ok
    with pytest.raises(ConfigError, match="needs a CNN"):
        fastcf.create("strcf", online_adaptation=True)


def test_later_frame_gate_follows_confidence_and_interval() -> None:
    frame, box = _frame()
    tracker = fastcf.create("feco", online_adaptation=True, adapt_interval=2, adapt_max_ms=5000.0)
    tracker.init(frame, box)
    gate = tracker.features.adaptation
    # hand-computed: mean of the earlier finite scores, frames since the last adaptation
    assert not gate.wants_update(1.0)  # no earlier score
    assert not gate.wants_update(0.5)  # 0.5 < 1.0 (mean of [1.0])
    assert gate.wants_update(2.0)  # 3 frames, 2.0 >= 0.75 (mean of [1.0, 0.5])
    assert not gate.wants_update(float("nan"))  # not counted
    assert not gate.wants_update(1.0)  # 1.0 < 3.5 / 3
    assert gate.wants_update(1.5)  # 1.5 >= 4.5 / 4
    frozen = fastcf.create("feco", online_adaptation=True, adapt_interval=0)
    frozen.init(frame, box)
    assert not any(frozen.features.adaptation.wants_update(s) for s in (1.0, 5.0, 9.0))
    with pytest.raises(ConfigError, match="adapt_interval"):
        fastcf.create("feco", online_adaptation=True, adapt_interval=-1)
    with pytest.raises(ConfigError, match="adapt_update_max_ms"):
        fastcf.create("fdeepstrcf", online_adaptation=True, adapt_update_max_ms=0.0)


def _two_targets(shift: int) -> np.ndarray:
    """The test frame with the target moved ``shift`` px right and a copy of it 40 px to
    its right (a distractor inside the search area)."""
    frame, _ = _frame()
    patch = frame[70:106, 90:118].copy()
    yy, xx = np.mgrid[0:180, 0:260]
    bg = 100 + 50 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    img = np.stack([bg, bg * 0.8, bg * 0.6], axis=2).astype(np.uint8)
    img[70:106, 90 + shift : 118 + shift] = patch
    img[70:106, 130 + shift : 158 + shift] = patch
    return img


@pytest.mark.parametrize("name", ["feco", "fdeepstrcf"])
def test_later_frames_adapt_on_confident_frames_with_distractors(name: str) -> None:
    kw = dict(online_adaptation=True, adapt_interval=2, adapt_confidence=0.0)
    tracker = fastcf.create(
        name, adapt_max_ms=5000.0, adapt_update_max_ms=5000.0, adapt_distractor_ratio=0.05, **kw
    )
    tracker.init(_two_targets(0), (90.0, 70.0, 28.0, 36.0))
    adaptation = tracker.features.adaptation
    after_init = _state(adaptation.network)
    found = []
    boxes = []
    for t in range(1, 7):
        res = tracker.update(_two_targets(t))
        boxes.append(res.box)
        if tracker.update_adapt_ms > 0:
            found.extend(adaptation.last_distractors)
            assert adaptation.last_steps == 2  # adapt_update_steps
    assert adaptation.updates == 3  # frames 2, 4, 6
    # the copy (40 image px right of the target, at the same height) is a distractor
    scale = tracker.scale if name == "feco" else tracker._scale
    offset = 40.0 / scale  # patch pixels
    side = float(tracker.img_sample_sz[1]) if name == "feco" else float(tracker._support)
    assert any(abs(x - side / 2 - offset) < 0.2 * offset for x, _ in found), (found, side, offset)
    assert abs(boxes[-1][0] - 96.0) < 4.0  # still on the target, not the copy
    changed = [
        k for k, v in adaptation.network.state_dict().items() if not torch.equal(v, after_init[k])
    ]
    assert changed and all(k.split(".")[1] in tracker.config.adapt_layers for k in changed)
    # re-init resets to the distilled weights and the update counters
    tracker.init(_two_targets(0), (90.0, 70.0, 28.0, 36.0))
    assert adaptation.updates == 0
    for k, v in adaptation.network.state_dict().items():
        assert torch.equal(v, after_init[k]), k


def test_later_frame_adaptation_time_is_bounded() -> None:
    tracker = fastcf.create(
        "feco", online_adaptation=True, adapt_interval=1, adapt_confidence=0.0,
        adapt_update_steps=1000, adapt_update_max_ms=30.0,
    )  # fmt: skip
    tracker.init(_two_targets(0), (90.0, 70.0, 28.0, 36.0))
    tracker.update(_two_targets(1))
    tracker.update(_two_targets(2))
    # the cap stopped it, not the 1000 steps (seconds of work): the cap is checked before
    # each step, so the overshoot is one forward pass and a step, longer on a loaded machine
    assert tracker.features.adaptation.last_steps < 1000
    assert 0.0 < tracker.update_adapt_ms < 500.0


def test_default_adaptation_does_not_depend_on_machine_speed(monkeypatch) -> None:
    """Without a wall-clock cap (the default) a very slow machine runs the same steps and
    gets the same weights; a cap is the only thing that makes the result timing-dependent."""
    frame, box = _frame()

    def adapted(**kw: object) -> tuple[int, dict[str, torch.Tensor]]:
        tracker = fastcf.create("feco", online_adaptation=True, **kw)
        tracker.init(frame, box)
        return tracker.features.adaptation.last_steps, _state(tracker.features.adaptation.network)

    steps, fast = adapted()
    assert steps == 5
    import fastcf.distill.online as online

    clock = iter(range(0, 10**9, 1))  # every perf_counter() call: one more second
    monkeypatch.setattr(online.time, "perf_counter", lambda: float(next(clock)))
    slow_steps, slow = adapted()
    assert slow_steps == 5
    assert all(torch.equal(fast[k], slow[k]) for k in fast)
    capped_steps, _ = adapted(adapt_max_ms=150.0)
    assert capped_steps < 5


def test_an_extractor_without_a_network_tracks_without_adaptation_and_warns() -> None:
    from fastcf.features.base import BlockSpec

    class Plain:  # a FeatureExtractor with no fastcf network behind it
        blocks = (BlockSpec("plain", 4, 3),)

        def extract(self, patches: np.ndarray) -> list[np.ndarray]:
            n, h, w, _ = patches.shape
            small = patches[:, ::4, ::4, :].astype(np.float32) / 255.0
            return [np.ascontiguousarray(small.transpose(0, 3, 1, 2))[:, :, : h // 4, : w // 4]]

    frame, box = _frame()
    with pytest.warns(UserWarning, match="without online adaptation"):
        tracker = fastcf.create("feco", cnn=Plain())
    assert tracker.features.adaptation is None
    tracker.init(frame, box)
    assert tracker.update(frame).ok and tracker.adapt_ms == 0.0
