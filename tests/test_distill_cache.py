"""Teacher feature cache: contents, reuse, and rebuild when its key changes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from distill_helpers import TinyNet, write_images
from fastcf.distill.cache import (
    TeacherCache,
    fit_projection,
    project_channels,
    weights_fingerprint,
)
from fastcf.distill.pairs import PairConfig, PairSampler


def _sampler(folder, seed=0, n=5):
    return PairSampler(f"images:{folder}", n, config=PairConfig(patch_size=32), seed=seed)


def test_cache_contents_reuse_and_rebuild(tmp_path) -> None:
    folder = write_images(tmp_path / "imgs", 6)
    teacher = TinyNet(6, 8, seed=0)
    root = tmp_path / "cache"
    sampler = _sampler(folder)
    c1 = TeacherCache(root, teacher, ("a", "b"), sampler, batch_size=2)
    assert c1.rebuilt and len(c1) == 5
    assert c1.tap_shapes() == {"a": (6, 16, 16), "b": (8, 8, 8)}
    # stored features are the teacher's, in fp16
    p = sampler[3]
    x = torch.from_numpy(np.stack([p.template, p.search])).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        ref = teacher(x)["b"].numpy()
    assert c1.features["b"].dtype == np.float16
    np.testing.assert_allclose(c1.features["b"][3].astype(np.float32), ref, rtol=2e-3, atol=2e-3)
    batch = c1.batch([3, 0])
    assert torch.equal(batch.templates[0], x[0]) and torch.equal(batch.searches[0], x[1])
    assert batch.offsets[0].tolist() == [np.float32(v) for v in p.offset]
    # same key: reused
    c2 = TeacherCache(root, teacher, ("a", "b"), _sampler(folder), batch_size=2)
    assert not c2.rebuilt and c2.key == c1.key
    # a subset of the cached taps: reused; a tap the cache lacks: rebuilt with it
    c3 = TeacherCache(root, teacher, ("b",), _sampler(folder))
    assert not c3.rebuilt and c3.key == c1.key and set(c3.features) == {"b"}
    TeacherCache(root, teacher, ("b",), _sampler(folder, seed=2))  # now only "b" is stored
    c3b = TeacherCache(root, teacher, ("a",), _sampler(folder, seed=2), extra_taps=("b",))
    assert c3b.rebuilt and c3b.meta["taps"] == ["a", "b"]
    # key changes: seed, teacher weights, patch size
    c4 = TeacherCache(root, teacher, ("b",), _sampler(folder, seed=1))
    assert c4.rebuilt
    with torch.no_grad():
        teacher.c2.bias.add_(0.5)
    c5 = TeacherCache(root, teacher, ("b",), _sampler(folder, seed=1))
    assert c5.rebuilt
    c6 = TeacherCache(root, teacher, ("b",), _sampler(folder, seed=1))
    assert not c6.rebuilt
    # an unfinished cache (no completion mark) is rebuilt
    meta = json.loads((root / "meta.json").read_text())
    meta["complete"] = False
    (root / "meta.json").write_text(json.dumps(meta))
    assert TeacherCache(root, teacher, ("b",), _sampler(folder, seed=1)).rebuilt


def test_weights_fingerprint_tracks_values() -> None:
    a, b = TinyNet(4, 4, seed=0), TinyNet(4, 4, seed=0)
    assert weights_fingerprint(a) == weights_fingerprint(b)
    with torch.no_grad():
        b.c1.weight[0, 0, 0, 0] += 1e-3
    assert weights_fingerprint(a) != weights_fingerprint(b)


def test_same_data_by_another_path_reuses_the_cache(tmp_path, monkeypatch) -> None:
    folder = write_images(tmp_path / "imgs", 4)
    teacher = TinyNet(6, 8, seed=0)
    root = tmp_path / "cache"
    first = TeacherCache(root, teacher, ("b",), _sampler(folder.resolve(), n=3))
    assert first.rebuilt
    monkeypatch.chdir(tmp_path / "imgs")
    again = TeacherCache(root, teacher, ("b",), _sampler("../imgs", n=3))
    assert not again.rebuilt and again.key == first.key
    # built in a private folder and moved into place: nothing is left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "imgs"]


def test_cache_of_one_teacher_is_never_used_for_another(tmp_path) -> None:
    folder = write_images(tmp_path / "imgs", 4)
    root = tmp_path / "cache"
    first, other = TinyNet(6, 8, seed=0), TinyNet(6, 8, seed=1)
    a = TeacherCache(root, first, ("b",), _sampler(folder, n=3))
    with pytest.raises(FileNotFoundError, match="no complete cache"):
        TeacherCache(root, other, ("b",), _sampler(folder, n=3), build=False)
    b = TeacherCache(root, other, ("b",), _sampler(folder, n=3))
    assert b.rebuilt and b.key != a.key and b.meta["teacher_id"] != a.meta["teacher_id"]
    p = _sampler(folder, n=3)[1]
    x = torch.from_numpy(np.stack([p.template, p.search])).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        ref = other(x)["b"].numpy()
    np.testing.assert_allclose(b.features["b"][1].astype(np.float32), ref, rtol=2e-3, atol=2e-3)


def test_fit_projection_is_the_top_eigenvectors() -> None:
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    m = basis @ np.diag([9.0, 5.0, 2.0, 0.5, 0.1, 0.01]) @ basis.T
    p = fit_projection(m, 2)
    assert p.shape == (2, 6) and p.dtype == np.float32
    np.testing.assert_allclose(np.abs(p @ basis[:, :2]), np.eye(2), atol=1e-5)
    assert all(row[np.abs(row).argmax()] > 0 for row in p)  # deterministic signs
    f = rng.normal(size=(2, 6, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(
        project_channels(f, p), np.einsum("kc,nchw->nkhw", p, f), rtol=1e-5, atol=1e-6
    )


def test_pca_cache_stores_projected_taps_and_shares_the_projection(tmp_path) -> None:
    folder = write_images(tmp_path / "imgs", 6)
    teacher = TinyNet(6, 8, seed=0)
    train = TeacherCache(
        tmp_path / "train", teacher, ("a", "b"), _sampler(folder, n=4), pca_dims=7, pca_fit_pairs=3
    )
    # only "b" has more than 7 channels: projected to 7; "a" (6) is stored as it is
    assert train.tap_shapes() == {"a": (6, 16, 16), "b": (7, 8, 8)}
    assert set(train.projections) == {"b"} and train.projections["b"].shape == (7, 8)
    assert 0.9 < train.meta["energy_kept"]["b"] <= 1.0
    p = _sampler(folder, n=4)[2]
    x = torch.from_numpy(np.stack([p.template, p.search])).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        ref = project_channels(teacher(x)["b"].numpy(), train.projections["b"])
    np.testing.assert_allclose(train.features["b"][2].astype(np.float32), ref, rtol=3e-3, atol=3e-3)
    val = TeacherCache(
        tmp_path / "val", teacher, ("b",), _sampler(folder, seed=5, n=2),
        projections=train.projections,
    )  # fmt: skip
    np.testing.assert_array_equal(val.projections["b"], train.projections["b"])
    again = TeacherCache(
        tmp_path / "train", teacher, ("b",), _sampler(folder, n=4), pca_dims=7, pca_fit_pairs=3
    )
    assert not again.rebuilt
    # another projection is another key
    other = TeacherCache(
        tmp_path / "train", teacher, ("b",), _sampler(folder, n=4), pca_dims=5, pca_fit_pairs=3
    )
    assert other.rebuilt and other.tap_shapes()["b"] == (5, 8, 8)
