"""The fDSST scale filter as ECO uses it (``init_scale_filter`` / ``scale_filter_track`` /
``scale_filter_update``): 17 scale samples of fHOG (cell 4) on a small target-sized model,
QR-compressed, a 1-D correlation filter over scales, response interpolated to 33 scales
and refined by a parabola through the peak."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fastcf.cf.fourier import resize_dft
from fastcf.cf.windows import hann
from fastcf.features.hog import fhog
from fastcf.trackers.eco.config import ECOConfig
from fastcf.trackers.eco.patches import sample_scale_patches


def orthonormal_basis(y: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the columns of a tall ``y`` (``D x n``): the ``Q`` of ECO's
    ``qr(y, 0)`` up to column signs, which the scale filter is invariant to.

    Computed as ``y R^-1`` with ``R^T R`` the Cholesky factorisation of the small ``n x n``
    Gram matrix (no LAPACK QR on the tall matrix: under CPU contention a threaded
    ``dgeqrf`` on 837 x 17 took 35 ms instead of 0.25 ms; the two products are BLAS
    calls, limited to the tracker's threads by its ThreadScope); falls back to QR when the
    Gram matrix is numerically singular.
    """
    gram = y.T @ y
    gram += 1e-12 * max(float(np.trace(gram)), 1e-30) * np.eye(gram.shape[0])
    try:
        chol = np.linalg.cholesky(gram)  # lower: gram = L L^T, R = L^T
    except np.linalg.LinAlgError:
        return np.linalg.qr(y)[0]
    inv_r = np.linalg.inv(chol.T)
    q = y @ inv_r
    if not np.all(np.isfinite(q)):
        return np.linalg.qr(y)[0]
    return q


class ScaleFilter:
    def __init__(self, config: ECOConfig, init_target_sz: npt.ArrayLike) -> None:
        n = config.number_of_scales_filter
        ni = config.number_of_interp_scales
        step = config.scale_step_filter
        sigma = ni * config.scale_sigma_factor
        scale_exp = (np.arange(n) - (n - 1) // 2) * ni / n
        scale_exp_shift = np.roll(scale_exp, -((n - 1) // 2))
        interp_exp = np.arange(ni) - (ni - 1) // 2
        interp_exp_shift = np.roll(interp_exp, -((ni - 1) // 2))
        self.size_factors = step**scale_exp
        self.interp_factors = step**interp_exp_shift
        self.yf = np.fft.fft(np.exp(-0.5 * scale_exp_shift**2 / sigma**2))
        self.window = hann(n)  # as the reference: zero weight on the two extreme scales
        self.n_interp = ni
        self.lr = config.scale_learning_rate
        self.lam = config.scale_lambda
        self.poly = config.do_poly_interp
        tsz = np.asarray(init_target_sz, dtype=np.float64)
        factor = config.scale_model_factor
        if factor**2 * np.prod(tsz) > config.scale_model_max_area:
            factor = np.sqrt(config.scale_model_max_area / np.prod(tsz))
        self.model_sz = np.maximum(np.floor(tsz * factor), 8).astype(np.int64)
        # index spacing of the scale samples, in powers of ``step``
        self.log_step = float(np.log(step)) * ni / n
        self.reuse = config.scale_sample_reuse
        # the last track step's sample: (image, pos, scale, (D, n) features)
        self.tracked: tuple[np.ndarray, np.ndarray, float, np.ndarray] | None = None
        self.s_num: np.ndarray | None = None
        self.basis: np.ndarray | None = None
        self.sf_num: np.ndarray | None = None
        self.sf_den: np.ndarray | None = None

    def _sample(
        self, image: npt.NDArray[np.uint8], pos: np.ndarray, base_sz: np.ndarray, scale: float
    ) -> np.ndarray:
        out = (int(self.model_sz[0]), int(self.model_sz[1]))
        patches = sample_scale_patches(image, pos, base_sz, scale * self.size_factors, out)
        feats = fhog(patches, cell_size=4)
        return feats.reshape(len(self.size_factors), -1).T.astype(np.float64)  # (D, n)

    def track(
        self, image: npt.NDArray[np.uint8], pos: np.ndarray, base_sz: np.ndarray, scale: float
    ) -> float:
        """Relative scale change at ``pos`` (1.0 before the first update)."""
        if self.basis is None or self.sf_num is None or self.sf_den is None:
            return 1.0
        sample = self._sample(image, pos, base_sz, scale)
        self.tracked = (image, np.array(pos), scale, sample) if self.reuse else None
        xs = (self.basis @ sample) * self.window
        resp_f = np.sum(self.sf_num * np.fft.fft(xs, axis=1), axis=0) / (self.sf_den + self.lam)
        resp = np.real(np.fft.ifft(resize_dft(resp_f, self.n_interp)))
        idx = int(np.argmax(resp))
        if not self.poly:
            return float(self.interp_factors[idx])
        ids = [(idx - 1) % self.n_interp, idx, (idx + 1) % self.n_interp]
        px = self.interp_factors[ids]
        py = resp[ids]
        a_mat = np.stack([px**2, px, np.ones(3)], axis=1)
        try:
            a, b, _ = np.linalg.solve(a_mat, py)
        except np.linalg.LinAlgError:
            return float(self.interp_factors[idx])
        if not (a < 0 and np.isfinite(b)):
            return float(self.interp_factors[idx])
        factor = -b / (2 * a)
        return float(factor) if np.isfinite(factor) and factor > 0 else 1.0

    def _reused_sample(
        self, image: npt.NDArray[np.uint8], pos: np.ndarray, scale: float
    ) -> np.ndarray | None:
        """The track step's sample moved to ``scale``, when it was taken on this image at
        this position: sample ``i`` at ``scale`` lies at fractional index ``i + d`` of the
        tracked one, ``d = log(scale / tracked scale) / log_step`` (``log_step``: the log of
        the ratio between neighbouring scale samples, ``log(step) * 33 / 17`` for fDSST);
        linear interpolation between the neighbouring samples, the end samples repeated
        (the Hann window gives them no weight in the filter). None when there is nothing
        to reuse, the image or position differ, or ``|d| > 1`` (docs/eco.md, deviation
        12)."""
        tracked, self.tracked = self.tracked, None
        if tracked is None:
            return None
        t_image, t_pos, t_scale, sample = tracked
        if t_image is not image or not np.array_equal(t_pos, pos):
            return None
        d = float(np.log(scale / t_scale)) / self.log_step
        if not abs(d) <= 1.0:
            return None
        n = sample.shape[1]
        q = np.clip(np.arange(n) + d, 0.0, n - 1.0)
        i0 = np.minimum(np.floor(q).astype(np.int64), n - 2)
        f = q - i0
        return sample[:, i0] * (1.0 - f) + sample[:, i0 + 1] * f

    def update(
        self, image: npt.NDArray[np.uint8], pos: np.ndarray, base_sz: np.ndarray, scale: float
    ) -> None:
        xs = self._reused_sample(image, pos, scale)
        if xs is None:
            xs = self._sample(image, pos, base_sz, scale)
        if self.s_num is None:
            self.s_num = xs
        else:
            self.s_num = (1 - self.lr) * self.s_num + self.lr * xs
        basis = orthonormal_basis(self.s_num)
        basis_den = orthonormal_basis(xs)
        self.basis = basis.T
        feat = (self.basis @ self.s_num) * self.window
        self.sf_num = self.yf[None, :] * np.conj(np.fft.fft(feat, axis=1))
        xsf = np.fft.fft((basis_den.T @ xs) * self.window, axis=1)
        new_den = np.sum(np.abs(xsf) ** 2, axis=0)
        if self.sf_den is None:
            self.sf_den = new_den
        else:
            self.sf_den = (1 - self.lr) * self.sf_den + self.lr * new_den
