"""SciPy's FFT for ECO's spectra and the scale filter's sample reuse (2026-12-08) against
what they replaced, in one process -> speed_fft_scale.md / .json.

    python benchmarks/speed_fft_scale.py [--frames 60] [--repeats 3]
        [--sequences Crossing,Dog,Vase,Girl,Biker,car16_1] [--trackers eco-hc,eco-hc-reuse,feco]

Two changes:
- ``fastcf.cf.fourier.cfft2`` / ``sample_fs`` call ``scipy.fft`` (one worker) instead of
  ``numpy.fft``: same transform up to rounding, every ECO tracker;
- ``ECOConfig.scale_sample_reuse`` (on in ``feco``): the fDSST scale filter's update
  interpolates the sample of its track step to the new scale instead of extracting a
  second one. ``eco-hc-reuse`` is ``eco-hc`` with it on (registered here, for the
  comparison only; ``eco-hc`` keeps the reference's second extraction).

"Previous" swaps ``numpy.fft`` back in and disables the reuse. Same measurement as
``speed_primitives.py`` (whose timing and tracker loop this reuses): thread CPU time, one
thread.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import numpy as np
from speed_primitives import SEQUENCES, compare, cpu_ms

FFT_SHAPES = [  # feco's maps (53 cells: its 212-px sample at cell 4)
    (1, 10, 53, 53),
    (1, 3, 53, 53),
    (1, 12, 13, 13),
    (31, 53, 53),  # the first frame's unprojected fHOG
    (64, 13, 13),
    (1, 10, 50, 50),  # eco-hc's fHOG and gray blocks at its usual sizes
    (1, 1, 75, 75),
]


def numpy_rfft2(x: Any, axes: Any = (-2, -1), workers: Any = None) -> np.ndarray:
    return np.fft.rfft2(x, axes=axes)


def numpy_irfft2(x: Any, s: Any = None, axes: Any = (-2, -1), workers: Any = None) -> np.ndarray:
    return np.fft.irfft2(x, s=s, axes=axes)


def swap_in_previous(old: bool) -> None:
    import scipy.fft

    from fastcf.trackers.eco.scale_filter import ScaleFilter

    cur = swap_in_previous.__dict__.setdefault(
        "current", (scipy.fft.rfft2, scipy.fft.irfft2, ScaleFilter._reused_sample)
    )

    def no_reuse(self: Any, image: Any, pos: Any, scale: float) -> None:
        self.tracked = None
        return None

    scipy.fft.rfft2 = numpy_rfft2 if old else cur[0]
    scipy.fft.irfft2 = numpy_irfft2 if old else cur[1]
    ScaleFilter._reused_sample = no_reuse if old else cur[2]  # type: ignore[method-assign,assignment]


def primitives() -> list[dict[str, Any]]:
    import scipy.fft

    from fastcf.datasets import open_dataset
    from fastcf.trackers.eco.config import eco_hc
    from fastcf.trackers.eco.scale_filter import ScaleFilter

    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    for shape in FFT_SHAPES:
        x = rng.standard_normal(shape).astype(np.float32)
        a, b = np.fft.rfft2(x), scipy.fft.rfft2(x, workers=1)
        rows.append({
            "primitive": f"rfft2 {shape} float32: numpy.fft -> scipy.fft",
            "old": cpu_ms(np.fft.rfft2, (x,), 30),
            "new": cpu_ms(lambda v: scipy.fft.rfft2(v, workers=1), (x,), 30),
            "max_diff": float(np.abs(a - b).max() / np.abs(a).max()),
        })  # fmt: skip
    # the scale filter's update on a real frame: a second extraction against the reuse
    seq = next(iter(open_dataset(f"otb:{SEQUENCES}", sequences=["Crossing"])))
    image = next(iter(seq.frames))
    x, y, w, h = seq.init_box
    pos, base = np.array([y + h / 2, x + w / 2]), np.array([h, w])
    sf = ScaleFilter(dataclasses.replace(eco_hc(), scale_sample_reuse=True), base)
    sf.update(image, pos, base, 1.0)
    tracked = sf._sample(image, pos, base, 1.0)
    size = "x".join(str(int(v)) for v in sf.model_sz)

    def reuse() -> np.ndarray | None:
        sf.tracked = (image, pos, 1.0, tracked)  # as the track step leaves it
        return sf._reused_sample(image, pos, 1.01)

    a, b = sf._sample(image, pos, base, 1.01), reuse()
    assert b is not None
    rows.append({
        "primitive": f"scale filter update's sample, 17 x {size} px: extracted -> reused "
        "(scale change 1 %)",
        "old": cpu_ms(sf._sample, (image, pos, base, 1.01), 30),
        "new": cpu_ms(reuse, (), 30),
        "max_diff": float(np.linalg.norm(a - b) / np.linalg.norm(a)),
    })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    from fastcf.registry import alias

    alias("eco-hc-reuse", "eco-hc", scale_sample_reuse=True)
    if argv is None:
        argv = sys.argv[1:]
    if not any(a.startswith("--trackers") for a in argv):
        argv = [*argv, "--trackers", "eco-hc,eco-hc-reuse,feco"]
    return compare(
        argv,
        doc=__doc__ or "",
        stem="speed_fft_scale",
        title="numpy.fft and a second scale sample (previous) against scipy.fft and the "
        "reused scale sample (current), one process",
        measure_primitives=primitives,
        swap=swap_in_previous,
        diff_note="max difference: the FFTs, relative to the largest coefficient; the scale "
        "sample, the relative (Frobenius) difference between the interpolated sample and a "
        "freshly extracted one: fHOG on 17 patches of a few hundred pixels changes by about "
        "as much when the scale moves by 0.5 %, interpolated or not (docs/eco.md).",
        boxes_note="`eco-hc` changes only through the FFT's rounding; `feco` and "
        "`eco-hc-reuse` also learn their scale filter from the interpolated sample, so "
        "their boxes move further (accuracy on the 34 sequences: docs/eco.md).",
    )


if __name__ == "__main__":
    sys.exit(main())
