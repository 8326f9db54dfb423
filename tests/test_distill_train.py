"""Distillation trainer: losses go down, resume is exact, export reloads identically."""

from __future__ import annotations

import json

import pytest
import torch

from distill_helpers import TinyNet, write_images
from fastcf.distill.config import TrainConfig
from fastcf.distill.models import init_from_teacher, match_taps
from fastcf.distill.pairs import PairConfig, PairSampler
from fastcf.distill.trainer import Trainer
from fastcf.errors import ConfigError


def _setup(tmp_path, epochs=3, n=64, patch=48, **kw):
    folder = tmp_path / "imgs"
    if not folder.exists():
        write_images(folder, 20)
    pc = PairConfig(patch_size=patch)
    cfg = TrainConfig(
        student_taps=kw.pop("student_taps", ("a", "b")),
        teacher_taps=kw.pop("teacher_taps", ("a", "b")),
        epochs=epochs,
        batch_size=8,
        lr=3e-3,
        warmup_iters=kw.pop("warmup_iters", 4),
        n_train_pairs=n,
        n_val_pairs=16,
        device=kw.pop("device", "cpu"),
        pairs=pc,
        **kw,
    )
    train = PairSampler(f"images:{folder}", n, config=pc, seed=0)
    val = PairSampler(f"images:{folder}", 16, config=pc, seed=0, split="val")
    return cfg, train, val


def test_short_training_lowers_fidelity_and_tracking_losses(tmp_path) -> None:
    torch.set_num_threads(1)
    cfg, train, val = _setup(tmp_path, epochs=4)
    out = tmp_path / "run"
    t = Trainer(TinyNet(4, 8, 1), TinyNet(16, 32, 0), cfg, train, val, out, progress=False,
                log=lambda s: None)  # fmt: skip
    h = t.run()
    first, last = h["epochs"][0], h["epochs"][-1]
    assert first["epoch"] == 0 and last["epoch"] == 4
    for tap in ("a", "b"):
        assert last[f"val_fid_{tap}"] < 0.9 * first[f"val_fid_{tap}"]
    trk0 = first["val_trk_a"] + first["val_trk_b"]
    trk1 = last["val_trk_a"] + last["val_trk_b"]
    assert trk1 < trk0
    for name in ("checkpoint.pt", "history.json", "loss_curves.png", "student.pt", "student.json"):
        assert (out / name).is_file(), name
    assert set(h["teacher_val_tracking"]) == {"a", "b"}
    assert h["epochs"][1]["sec_per_iter"] > 0
    # the exported state dict reproduces the trained student's features exactly
    meta = json.loads((out / "student.json").read_text())
    assert meta["taps"]["b"][0] == 4
    fresh = TinyNet(4, 8, 99)
    fresh.load_state_dict(torch.load(out / "student.pt", weights_only=True))
    x = torch.rand(2, 3, 48, 48) * 255
    with torch.no_grad():
        a, b = t.student(x), fresh(x)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_training_on_a_projected_teacher_cache(tmp_path) -> None:
    """PCA-compressed teacher taps: adapters target the principal coordinates, the
    validation cache uses the training cache's projection, the fidelity loss falls."""
    torch.set_num_threads(1)
    cfg, train, val = _setup(tmp_path, epochs=3, teacher_pca_dims=12, pca_fit_pairs=8)
    out = tmp_path / "run"
    t = Trainer(TinyNet(4, 8, 1), TinyNet(16, 32, 0), cfg, train, val, out, progress=False,
                log=lambda s: None)  # fmt: skip
    h = t.run()
    tc, vc = t._caches()
    assert tc.tap_shapes()["b"][0] == 12 and tc.tap_shapes()["a"][0] == 12
    assert all((tc.projections[k] == vc.projections[k]).all() for k in ("a", "b"))
    first, last = h["epochs"][0], h["epochs"][-1]
    assert last["val_fid_b"] < 0.9 * first["val_fid_b"]


def test_resume_continues_exactly(tmp_path) -> None:
    torch.set_num_threads(1)
    cfg2, train, val = _setup(tmp_path, epochs=2, n=32)
    cache = tmp_path / "cache"
    quiet = {"progress": False, "log": lambda s: None, "cache_dir": cache}
    straight = TinyNet(4, 8, 1)
    Trainer(straight, TinyNet(8, 8, 0), cfg2, train, val, tmp_path / "a", **quiet).run()
    cfg1, _, _ = _setup(tmp_path, epochs=1, n=32)
    part = TinyNet(4, 8, 1)
    Trainer(part, TinyNet(8, 8, 0), cfg1, train, val, tmp_path / "b", **quiet).run()
    resumed = TinyNet(4, 8, 1)
    h = Trainer(resumed, TinyNet(8, 8, 0), cfg2, train, val, tmp_path / "b", **quiet).run(
        resume=True
    )
    assert [r["epoch"] for r in h["epochs"]] == [0, 1, 2]
    for p, q in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(p, q)
    # a different configuration cannot resume
    cfg_bad, _, _ = _setup(tmp_path, epochs=2, n=32, beta=0.5)
    with pytest.raises(ConfigError, match="another configuration"):
        Trainer(TinyNet(4, 8, 1), TinyNet(8, 8, 0), cfg_bad, train, val, tmp_path / "b",
                **quiet).run(resume=True)  # fmt: skip


def test_vggm_student_exports_in_package_format_and_reloads(tmp_path) -> None:
    import fastcf.nets as nets

    torch.set_num_threads(1)
    student = nets.build_student("vggm-96x", seed=0)
    teacher = nets.build_vgg16(((4, 4), (8, 8), (8, 8, 8), (8, 8, 8), (8, 8, 8)))
    cfg, train, val = _setup(
        tmp_path,
        epochs=1,
        n=8,
        patch=96,
        student_taps=("norm1", "relu5"),
        teacher_taps=tuple(match_taps(student, teacher, ["norm1", "relu5"])),
    )
    assert cfg.teacher_taps == ("conv2_2", "conv5_3")
    out = tmp_path / "run"
    Trainer(student, teacher, cfg, train, val, out, progress=False, log=lambda s: None).run()
    loaded = nets.load_student(out / "student.json")
    x = torch.rand(1, 3, 96, 96) * 255
    with torch.no_grad():
        a, b = student.eval()(x), loaded(x)
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    meta = json.loads((out / "student.json").read_text())
    assert meta["extra"]["config"]["student_taps"] == ["norm1", "relu5"]


def test_init_from_teacher_by_channel_selection() -> None:
    import fastcf.nets as nets

    teacher = nets.build_vgg16(((6, 6), (8, 8), (8, 8, 8), (8, 8, 8), (8, 8, 8)))
    student = nets.build_vgg16(((3, 3), (4, 4), (4, 4, 4), (4, 4, 4), (4, 4, 4)))
    kept = init_from_teacher(student, teacher)
    t1 = teacher.layers["conv1_1"].conv
    s1 = student.layers["conv1_1"].conv
    norms = t1.weight.flatten(1).norm(dim=1)
    expect = sorted(torch.argsort(norms, descending=True)[:3].tolist())
    assert kept[0] == expect
    assert torch.equal(s1.weight, t1.weight[expect]) and torch.equal(s1.bias, t1.bias[expect])
    t2, s2 = teacher.layers["conv1_2"].conv, student.layers["conv1_2"].conv
    w = t2.weight[kept[1]][:, kept[0]]
    scale = t2.weight[kept[1]].flatten(1).norm(dim=1) / w.flatten(1).norm(dim=1)
    assert torch.allclose(s2.weight, w * scale.view(-1, 1, 1, 1))
    with pytest.raises(ConfigError, match="same topology"):
        init_from_teacher(nets.build_student("vggm-96x"), teacher)


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="matched pairwise"):
        TrainConfig(student_taps=("a", "b"), teacher_taps=("x",))
    with pytest.raises(ConfigError, match="init"):
        TrainConfig(init="imagenet")
    cfg = TrainConfig(student_taps=("a",), teacher_taps=("x",), pairs={"patch_size": 64})
    assert cfg.pairs.patch_size == 64 and cfg.tracking == ("a",) and cfg.alpha_map == {"a": 1.0}
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_pick_device(monkeypatch) -> None:
    from fastcf.distill.trainer import DistEnv, pick_device

    one, rank1 = DistEnv(), DistEnv(rank=1, world=2, local_rank=1)
    assert pick_device("cpu", rank1) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto", one) == torch.device("cpu")
    for spec in ("cuda", "cuda:1"):
        with pytest.raises(ConfigError, match="CUDA is not available"):
            pick_device(spec, one)
    # with CUDA: "auto"/"cuda" is GPU 0, or the local rank's GPU under torchrun
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto", one) == torch.device("cuda", 0)
    assert pick_device("cuda", rank1) == torch.device("cuda", 1)
    assert pick_device("cuda:0", rank1) == torch.device("cuda", 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_short_training_on_cuda_matches_cpu_features(tmp_path) -> None:
    """The CUDA path: training runs on the GPU, losses go down, and the exported student
    (moved back to the CPU) reproduces the trained network's features."""
    cfg, train, val = _setup(tmp_path, epochs=3, device="cuda")
    out = tmp_path / "run"
    t = Trainer(TinyNet(4, 8, 1), TinyNet(16, 32, 0), cfg, train, val, out, progress=False,
                log=lambda s: None)  # fmt: skip
    assert t.device.type == "cuda"
    h = t.run()
    first, last = h["epochs"][0], h["epochs"][-1]
    assert last["val_fid_a"] < 0.9 * first["val_fid_a"]
    fresh = TinyNet(4, 8, 99)
    fresh.load_state_dict(torch.load(out / "student.pt", weights_only=True))
    x = torch.rand(2, 3, 48, 48) * 255
    with torch.no_grad():
        a, b = t.student.to("cpu")(x), fresh(x)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_training_step_creates_no_tensor_off_the_model_device() -> None:
    """Without a GPU here, the ``meta`` device stands in for CUDA: a tensor that the losses
    or the DCF layer create on the CPU instead of the input's device fails the step."""
    import fastcf.nets as nets
    from fastcf.distill.losses import FidelityLoss
    from fastcf.distill.trainer import DistillModel

    cfg = TrainConfig(student_taps=("norm1", "relu5"), teacher_taps=("conv2_2", "conv4_3"))
    fidelity = FidelityLoss(cfg.tap_pairs, {"norm1": 12, "relu5": 64},
                            {"conv2_2": 16, "conv4_3": 32})  # fmt: skip
    meta = torch.device("meta")
    model = DistillModel(nets.build_student("vggm-64x"), fidelity, cfg).to(meta)
    n, p = 2, cfg.pairs.patch_size
    x = torch.empty(n, 3, p, p, device=meta)
    teacher = {"conv2_2": torch.empty(n, 16, p // 2, p // 2, device=meta),
               "conv4_3": torch.empty(n, 32, p // 8, p // 8, device=meta)}  # fmt: skip
    with torch.no_grad():
        model.fidelity.fit_adapters(model.student(x), teacher)
    total, fid, trk = model(x, x, teacher, teacher, torch.empty(n, 2, device=meta))
    assert total.device == meta and set(fid) == {"norm1", "relu5"} and trk
    total.backward()
    assert all(q.grad is not None and q.grad.device == meta for q in model.student.parameters())
