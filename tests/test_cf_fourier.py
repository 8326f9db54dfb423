"""Fourier helpers, interpolation kernel, labels and windows of fastcf.cf."""

from __future__ import annotations

import numpy as np
import pytest

from fastcf.cf.fourier import (
    block_slices,
    cfft2,
    compact_fourier_coeff,
    full_fourier_coeff,
    inner_product,
    resize_dft,
    sample_fs,
    shift_sample,
    symmetrize_filter,
)
from fastcf.cf.interp import cubic_kernel, cubic_spline_fourier, interp_fourier
from fastcf.cf.labels import gaussian_label_fourier
from fastcf.cf.windows import cosine_window, hann

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(7, 9), (5, 5), (2, 11, 13)])
def test_cfft2_round_trip_odd(shape):
    x = RNG.standard_normal(shape)
    xf = cfft2(x)
    h, w = shape[-2:]
    assert xf.shape == (*shape[:-2], h, (w + 1) // 2)
    back = sample_fs(xf) / (h * w)
    np.testing.assert_allclose(back, x, atol=1e-10)


def test_cfft2_single_precision_stays_single():
    x = RNG.standard_normal((3, 7, 9)).astype(np.float32)
    assert cfft2(x).dtype == np.complex64


@pytest.mark.parametrize("shape", [(6, 8), (6, 9), (7, 8)])
def test_cfft2_even_sizes_are_symmetrised_like_eco(shape):
    x = RNG.standard_normal(shape)
    h, w = shape
    full = full_fourier_coeff(cfft2(x))
    assert full.shape == (h + 1 - h % 2, w + 1 - w % 2)
    # Hermitian symmetry of the full centred spectrum
    np.testing.assert_allclose(full[::-1, ::-1], np.conj(full), atol=1e-9)
    # the first h x w block is the centred DFT
    ref = np.fft.fftshift(np.fft.fft2(x))
    np.testing.assert_allclose(full[:h, :w], ref, atol=1e-9)


def test_full_compact_round_trip():
    xf = cfft2(RNG.standard_normal((4, 9, 11)))
    np.testing.assert_allclose(compact_fourier_coeff(full_fourier_coeff(xf)), xf)


def test_full_spectrum_matches_fftshift_for_odd():
    x = RNG.standard_normal((9, 7))
    np.testing.assert_allclose(
        full_fourier_coeff(cfft2(x)), np.fft.fftshift(np.fft.fft2(x)), atol=1e-9
    )


def test_inner_product_is_parseval():
    a = RNG.standard_normal((3, 9, 11))
    b = RNG.standard_normal((3, 9, 11))
    assert inner_product(cfft2(a), cfft2(b)) == pytest.approx(9 * 11 * np.sum(a * b), rel=1e-10)


def test_shift_sample_integer_shift_is_roll():
    x = RNG.standard_normal((9, 11))
    dy, dx = 2, -3
    xf = shift_sample(cfft2(x), (2 * np.pi * dy / 9, 2 * np.pi * dx / 11))
    np.testing.assert_allclose(sample_fs(xf) / 99, np.roll(x, (-dy, -dx), axis=(0, 1)), atol=1e-9)


def test_sample_fs_on_finer_grid_interpolates_band_limited_signal():
    h = w = 9
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    x = np.cos(2 * np.pi * (yy / h + 2 * xx / w))
    fine = sample_fs(cfft2(x), (27, 27)) / (h * w)
    gy, gx = np.meshgrid(np.arange(27) / 3, np.arange(27) / 3, indexing="ij")
    np.testing.assert_allclose(fine, np.cos(2 * np.pi * (gy / h + 2 * gx / w)), atol=1e-9)


def test_symmetrize_filter_makes_center_column_hermitian():
    hf = RNG.standard_normal((2, 7, 4)) + 1j * RNG.standard_normal((2, 7, 4))
    s = symmetrize_filter(hf)
    np.testing.assert_allclose(s[:, ::-1, 0], np.conj(s[:, :, 0]))
    np.testing.assert_allclose(s[:, :, 1:], hf[:, :, 1:])


def test_block_slices():
    rs, cs = block_slices((5, 7), (9, 11))
    assert (rs, cs) == (slice(2, 7), slice(0, 4))
    with pytest.raises(ValueError):
        block_slices((5, 7), (8, 11))


def test_resize_dft_interpolates_low_frequency_cosine():
    t = np.arange(17)
    x = np.cos(2 * np.pi * 2 * t / 17)
    y = np.real(np.fft.ifft(resize_dft(np.fft.fft(x), 33)))
    np.testing.assert_allclose(y, np.cos(2 * np.pi * 2 * np.arange(33) / 33), atol=1e-9)
    np.testing.assert_allclose(resize_dft(np.fft.fft(x), 17), np.fft.fft(x))


@pytest.mark.parametrize("a", [-0.75, -0.5])
def test_cubic_spline_fourier_matches_numerical_transform(a):
    xs = np.linspace(-2, 2, 40001)
    b = cubic_kernel(xs, a)
    for f in [0.0, 1e-4, 0.05, 0.25, 0.37, 0.5, 0.9, 1.3]:
        num = np.trapezoid(b * np.cos(2 * np.pi * f * xs), xs)
        assert cubic_spline_fourier(f, a) == pytest.approx(num, abs=1e-7), f


def test_interp_fourier_magnitude_and_centering_phase():
    iy, ix = interp_fourier((9, 11), -0.75, centering=True)
    ky = np.arange(9) - 4
    kx = np.arange(6)
    np.testing.assert_allclose(np.abs(iy), np.abs(cubic_spline_fourier(ky / 9) / 9), rtol=1e-5)
    np.testing.assert_allclose(
        ix, cubic_spline_fourier(kx / 11) / 11 * np.exp(-1j * np.pi * kx / 11), rtol=1e-5
    )
    iy0, _ = interp_fourier((9, 11), -0.75, centering=False)
    assert np.allclose(iy0.imag, 0)


def test_gaussian_label_is_a_unit_peak_gaussian_on_the_grid():
    n = 31
    sigma = 2.5
    yf = gaussian_label_fourier((n, n), (n, n), (sigma, sigma))
    y = np.fft.fftshift(sample_fs(yf.astype(np.complex128)))
    d = np.arange(n) - n // 2
    ref = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * sigma**2))
    np.testing.assert_allclose(y, ref, atol=1e-4)


def test_windows():
    np.testing.assert_allclose(hann(5), [0, 0.5, 1, 0.5, 0])
    win = cosine_window(3, 5)
    assert win.shape == (3, 5) and win.min() > 0 and win[1, 2] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        hann(0)
