"""Teacher feature cache: contents, reuse, and rebuild when its key changes."""

from __future__ import annotations

import json

import numpy as np
import torch

from distill_helpers import TinyNet, write_images
from fastcf.distill.cache import TeacherCache, weights_fingerprint
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
    # key changes: taps, seed, teacher weights, patch size
    c3 = TeacherCache(root, teacher, ("b",), _sampler(folder))
    assert c3.rebuilt and c3.key != c1.key
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
