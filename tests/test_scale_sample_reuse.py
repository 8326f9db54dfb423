"""The fDSST scale filter's update reusing its track step's sample
(``ECOConfig.scale_sample_reuse``): exact where the scale did not change, a linear
interpolation along the scale axis otherwise, and a fresh sample whenever the track
step's sample does not belong to this image and position."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fastcf.trackers.eco.config import eco_hc
from fastcf.trackers.eco.scale_filter import ScaleFilter


def _image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    img[40:80, 60:100] = 255 - img[40:80, 60:100] // 4  # a brighter square target
    return img


def _filter(reuse: bool) -> ScaleFilter:
    return ScaleFilter(dataclasses.replace(eco_hc(), scale_sample_reuse=reuse), [40.0, 40.0])


POS = np.array([60.0, 80.0])
BASE = np.array([40.0, 40.0])


def test_unchanged_scale_reuses_the_track_sample_exactly() -> None:
    img = _image()
    sf = _filter(True)
    sf.update(img, POS, BASE, 1.0)
    sf.track(img, POS, BASE, 1.0)
    reused = sf._reused_sample(img, POS, 1.0)
    assert reused is not None
    np.testing.assert_array_equal(reused, sf._sample(img, POS, BASE, 1.0))


def test_reused_sample_interpolates_between_neighbouring_scales() -> None:
    img = _image()
    sf = _filter(True)
    sf.update(img, POS, BASE, 1.0)
    sf.track(img, POS, BASE, 1.0)
    tracked = sf._sample(img, POS, BASE, 1.0)
    n = tracked.shape[1]
    d = 0.25  # a quarter of the spacing between two scale samples
    scale = float(np.exp(d * sf.log_step))
    reused = sf._reused_sample(img, POS, scale)
    assert reused is not None
    # by hand: sample i sits at i + 0.25; the last one repeats the end sample
    want = 0.75 * tracked[:, :-1] + 0.25 * tracked[:, 1:]
    np.testing.assert_allclose(reused[:, :-1], want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(reused[:, n - 1], tracked[:, n - 1], rtol=1e-12)
    # and towards smaller scales the first sample repeats
    sf.track(img, POS, BASE, 1.0)
    reused = sf._reused_sample(img, POS, float(np.exp(-d * sf.log_step)))
    assert reused is not None
    np.testing.assert_allclose(reused[:, 0], tracked[:, 0], rtol=1e-12)
    np.testing.assert_allclose(reused[:, 1:], 0.25 * tracked[:, :-1] + 0.75 * tracked[:, 1:])


@pytest.mark.parametrize("case", ["other image", "other position", "large change", "no track"])
def test_no_reuse_outside_the_track_steps_frame_and_position(case: str) -> None:
    img = _image()
    sf = _filter(True)
    sf.update(img, POS, BASE, 1.0)
    if case != "no track":
        sf.track(img, POS, BASE, 1.0)
    image, pos, scale = img, POS, 1.0
    if case == "other image":
        image = img.copy()  # same pixels, another frame
    elif case == "other position":
        pos = POS + [0.0, 1.0]
    elif case == "large change":
        scale = float(np.exp(1.5 * sf.log_step))
    assert sf._reused_sample(image, pos, scale) is None


def test_the_track_sample_is_used_once_and_never_without_the_setting() -> None:
    img = _image()
    sf = _filter(True)
    sf.update(img, POS, BASE, 1.0)
    sf.track(img, POS, BASE, 1.0)
    sf.update(img, POS, BASE, 1.0)
    assert sf.tracked is None  # released: no frame is held beyond its update
    off = _filter(False)
    off.update(img, POS, BASE, 1.0)
    off.track(img, POS, BASE, 1.0)
    assert off.tracked is None and off._reused_sample(img, POS, 1.0) is None


def test_reuse_at_an_unchanged_scale_gives_the_reference_filter() -> None:
    """Where the scale does not change, the update with reuse learns the same model as
    the reference's second extraction."""
    img, nxt = _image(0), _image(1)
    ref, new = _filter(False), _filter(True)
    for sf in (ref, new):
        sf.update(img, POS, BASE, 1.0)
        sf.track(nxt, POS, BASE, 1.0)
        sf.update(nxt, POS, BASE, 1.0)
    assert ref.sf_num is not None and new.sf_num is not None
    np.testing.assert_array_equal(ref.sf_num, new.sf_num)
    np.testing.assert_array_equal(ref.sf_den, new.sf_den)
