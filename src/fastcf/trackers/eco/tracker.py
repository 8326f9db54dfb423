"""The ECO tracker (Danelljan et al., "ECO: Efficient Convolution Operators for Tracking",
CVPR 2017), following the MATLAB reference implementation's ``tracker.m``.

Coordinates: ``pos`` is the target centre as ``(row, col)`` in 0-based pixel indices (the
centre of pixel ``(0, 0)`` is ``(0, 0)``); sizes are ``(h, w)``. Boxes in and out use the
fastcf convention (``api.py``): centre ``= (x + w / 2 - 0.5, y + h / 2 - 0.5)``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from fastcf.api import Box, Frame, TrackResult
from fastcf.cf.cg import CGState
from fastcf.cf.confidence import ResponseStats, response_stats
from fastcf.cf.fourier import block_slices, cfft2, odd_size, sample_fs, shift_sample
from fastcf.cf.interp import interp_fourier
from fastcf.cf.labels import gaussian_label_fourier
from fastcf.cf.optimize import optimize_scores
from fastcf.cf.projection import pca_projection, project
from fastcf.cf.regularization import reg_filter
from fastcf.cf.sample_size import resize_factor
from fastcf.cf.windows import cosine_window
from fastcf.trackers.base import BaseTracker
from fastcf.trackers.eco.config import ECOConfig
from fastcf.trackers.eco.features import FeatureStack, odd_cells_sample_size
from fastcf.trackers.eco.patches import matlab_round, sample_patch
from fastcf.trackers.eco.sample_space import SampleSpace
from fastcf.trackers.eco.scale_filter import ScaleFilter
from fastcf.trackers.eco.training import (
    Geometry,
    preconditioner,
    train_filter,
    train_joint,
)


def is_color_image(frame: Frame) -> bool:
    """ECO's test: a 3-channel image whose channels are all equal is a gray image."""
    if frame.ndim == 2:
        return False
    return not (
        np.array_equal(frame[..., 0], frame[..., 1])
        and np.array_equal(frame[..., 1], frame[..., 2])
    )


def as_bgr(frame: Frame) -> npt.NDArray[np.uint8]:
    """Gray frames become 3-channel BGR so that every extractor sees the same layout."""
    if frame.ndim == 2:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    return frame


class ECOTracker(BaseTracker):
    name = "eco"

    def __init__(self, config: ECOConfig) -> None:
        super().__init__(config)
        self.features = FeatureStack(config)
        self.last_scores: np.ndarray | None = None
        self.last_stats: ResponseStats | None = None  # of the last detection's response

    # ------------------------------------------------------------------ set-up
    def _setup(self, image: npt.NDArray[np.uint8], target_sz: np.ndarray) -> None:
        cfg: ECOConfig = self.config
        self.scale = resize_factor(
            target_sz, cfg.search_area_scale, cfg.min_image_sample_size, cfg.max_image_sample_size
        )
        self.base_target_sz = target_sz / self.scale
        side = math.sqrt(float(np.prod(self.base_target_sz * cfg.search_area_scale)))
        strides = self.features.strides
        self.img_sample_sz = odd_cells_sample_size([side, side], strides)
        if np.any(self.img_sample_sz < np.max(strides)):
            self.img_sample_sz = np.maximum(self.img_sample_sz, 2 * max(strides))
        self.img_support_sz = self.img_sample_sz.astype(np.float64)
        probe = np.zeros((1, *self.img_sample_sz, 3), np.uint8)
        feats = self.features.extract(probe)
        self.feature_sz = [tuple(int(v) for v in f.shape[-2:]) for f in feats]
        self.filter_sz = [(odd_size(h), odd_size(w)) for h, w in self.feature_sz]
        self.output_sz = (max(f[0] for f in self.filter_sz), max(f[1] for f in self.filter_sz))
        self.compressed = [b.compressed_dim for b in self.features.blocks]
        if not cfg.use_projection_matrix:
            self.compressed = [f.shape[1] for f in feats]
        # labels, windows, interpolation, regularisation
        sig = (
            math.sqrt(float(np.prod(np.floor(self.base_target_sz))))
            * cfg.output_sigma_factor
            * (np.asarray(self.output_sz) / self.img_support_sz)
        )
        self.yf = [
            gaussian_label_fourier(fs, self.output_sz, (sig[0], sig[1])) for fs in self.filter_sz
        ]
        self.cos_win = [cosine_window(h, w) for h, w in self.feature_sz]
        self.interp = []
        for fs in self.filter_sz:
            iy, ix = interp_fourier(fs, cfg.interpolation_bicubic_a, cfg.interpolation_centering)
            self.interp.append((iy[:, None] * ix[None, :]).astype(np.complex64))
        if cfg.use_reg_window:
            rf = reg_filter(
                (int(self.img_support_sz[0]), int(self.img_support_sz[1])),
                (float(self.base_target_sz[0]), float(self.base_target_sz[1])),
                cfg.reg_window_min,
                cfg.reg_window_edge,
                cfg.reg_window_power,
                cfg.reg_sparsity_threshold,
            )
        else:
            rf = np.array([[cfg.reg_window_min]], np.float32)
        self.reg_energy = [float(np.sum(rf.astype(np.float64) ** 2))] * len(self.filter_sz)
        out_half = (self.output_sz[0], (self.output_sz[1] + 1) // 2)
        self.geo = Geometry(
            slices=[block_slices(fs, self.output_sz) for fs in self.filter_sz],
            out_shape=out_half,
            reg_filters=[rf] * len(self.filter_sz),
        )
        # scales
        h_img, w_img = image.shape[:2]
        if cfg.use_scale_filter:
            self.scale_filter: ScaleFilter | None = ScaleFilter(cfg, target_sz)
            self.scale_factors: np.ndarray = np.ones(1)
            step = cfg.scale_step_filter
        else:
            self.scale_filter = None
            n = cfg.number_of_scales
            self.scale_factors = cfg.scale_step ** (np.arange(n) - (n - 1) // 2)
            step = cfg.scale_step
        self.min_scale = step ** math.ceil(
            math.log(max(5.0 / self.img_support_sz.min(), 1e-12)) / math.log(step)
        )
        max_ratio = min(h_img / self.base_target_sz[0], w_img / self.base_target_sz[1])
        self.max_scale = step ** math.floor(math.log(max_ratio) / math.log(step))
        self.max_scale = max(self.max_scale, self.scale)  # targets larger than the frame
        self.min_scale = min(self.min_scale, self.scale)

    # ------------------------------------------------------------------ features
    def _sample_fourier(
        self, image: npt.NDArray[np.uint8], pos: np.ndarray, scales: np.ndarray, proj: bool = True
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Patches at ``pos`` for each scale -> (raw features, interpolated half spectra)."""
        out_sz = (int(self.img_sample_sz[0]), int(self.img_sample_sz[1]))
        patches = np.stack(
            [sample_patch(image, pos, self.img_sample_sz * s, out_sz) for s in scales]
        )
        raw = self.features.extract(patches)
        spectra = []
        for k, x in enumerate(raw):
            if proj:
                x = project(x, self.proj[k])
            xf = cfft2(x * self.cos_win[k])
            spectra.append((xf * self.interp[k]).astype(np.complex64))
        return raw, spectra

    # ------------------------------------------------------------------ init
    def _init(self, frame: Frame, box: Box) -> None:
        cfg: ECOConfig = self.config
        color = is_color_image(frame)
        if color != self.features.is_color:
            self.features = FeatureStack(cfg, is_color=color)
        image = as_bgr(frame)
        x, y, w, h = box
        self.pos = np.array([y + h / 2 - 0.5, x + w / 2 - 0.5], dtype=np.float64)
        target_sz = np.array([max(h, 1.0), max(w, 1.0)], dtype=np.float64)
        self._setup(image, target_sz)

        sample_pos = matlab_round(self.pos)
        self.adapt_ms = 0.0
        self.update_adapt_ms = 0.0  # the later-frame adaptation of the last update, if any
        if self.features.adaptation is not None:
            self._adapt_features(image, sample_pos)
        self.proj: list[np.ndarray] = []
        raw, _ = self._sample_fourier(image, sample_pos, np.array([self.scale]), proj=False)
        self.proj = [
            pca_projection(x[0], c)
            if cfg.use_projection_matrix
            else np.eye(x.shape[1], dtype=np.float32)
            for x, c in zip(raw, self.compressed, strict=True)
        ]
        xlf = [
            (cfft2(x[0] * win) * it).astype(np.complex64)
            for x, win, it in zip(raw, self.cos_win, self.interp, strict=True)
        ]
        shift = 2 * np.pi * (self.pos - sample_pos) / (self.scale * self.img_support_sz)
        xlf = [shift_sample(x, (shift[0], shift[1])) for x in xlf]
        xlf_proj = [project(x, p) for x, p in zip(xlf, self.proj, strict=True)]

        shapes = [
            (c, fs[0], (fs[1] + 1) // 2)
            for c, fs in zip(self.compressed, self.filter_sz, strict=True)
        ]
        self.space = SampleSpace(shapes, cfg.n_samples, cfg.learning_rate)
        self.space.update(xlf_proj)
        self.sample_energy = [np.abs(x) ** 2 for x in xlf_proj]
        self.hf = [np.zeros(s, np.complex64) for s in shapes]
        if cfg.use_projection_matrix and cfg.update_projection_matrix and cfg.init_gn_iter > 0:
            self.hf, self.proj, _ = train_joint(
                self.hf,
                self.proj,
                xlf,
                self.yf,
                self.geo,
                self.sample_energy,
                self.reg_energy,
                gn_iter=cfg.init_gn_iter,
                cg_iter=math.ceil(cfg.init_cg_iter / cfg.init_gn_iter),
                projection_reg=cfg.projection_reg,
                precond_data_param=cfg.precond_data_param,
                precond_reg_param=cfg.precond_reg_param,
                precond_proj_param=cfg.precond_proj_param,
            )
            xlf_proj = [project(x, p) for x, p in zip(xlf, self.proj, strict=True)]
            self.space.replace(0, [x.astype(np.complex64) for x in xlf_proj])
            self.cg_state: CGState | None = None
        else:
            self.hf, self.cg_state = self._run_cg(cfg.init_cg_iter, None, 1.0)
        self.frames_since_train = 0
        self.frame_count = 1
        if self.scale_filter is not None:
            self.scale_filter.update(image, self.pos, self.base_target_sz, self.scale)

    def _run_cg(
        self, iters: int, state: CGState | None, forget: float
    ) -> tuple[list[np.ndarray], CGState]:
        """Warm-started CG on the filter over the current sample space (preconditioned by
        the running sample energy)."""
        cfg = self.config
        diag_m = preconditioner(
            self.sample_energy, self.reg_energy, cfg.precond_data_param, cfg.precond_reg_param
        )
        n = self.space.num
        hf, new_state, _ = train_filter(
            self.hf,
            [s[:n] for s in self.space.samples],
            self.space.prior_weights[:n],
            self.yf,
            self.geo,
            diag_m,
            iters,
            state,
            forget,
            cfg.cg_use_fr,
            cfg.cg_standard_alpha,
        )
        return hf, new_state

    def _adapt_features(self, image: npt.NDArray[np.uint8], sample_pos: np.ndarray) -> None:
        """Fine-tune the tracker's copy of the CNN on the first patch (target vs background)."""
        out_sz = (int(self.img_sample_sz[0]), int(self.img_sample_sz[1]))
        patch = sample_patch(image, sample_pos, self.img_sample_sz * self.scale, out_sz)
        th, tw = (float(v) for v in self.base_target_sz)
        box = ((out_sz[1] - tw) / 2.0, (out_sz[0] - th) / 2.0, tw, th)
        self.features.adaptation.adapt(patch, box)
        self.adapt_ms = float(self.features.adaptation.last_ms)

    def _refine_features(
        self, image: npt.NDArray[np.uint8], sample_pos: np.ndarray, scale: float, index: int
    ) -> None:
        """Later-frame adaptation on the search patch of this frame (the one whose response
        located the target), with the response's peaks away from the target as
        distractors. The model's samples stay as extracted (see docs/distillation.md)."""
        assert self.last_scores is not None
        out_sz = (int(self.img_sample_sz[0]), int(self.img_sample_sz[1]))
        patch = sample_patch(image, sample_pos, self.img_sample_sz * scale, out_sz)
        response = np.fft.fftshift(sample_fs(self.last_scores[index]))  # centred on the patch
        th, tw = (float(v) for v in self.base_target_sz * self.scale / scale)
        dy, dx = (float(v) for v in (self.pos - sample_pos) / scale)
        box = ((out_sz[1] - tw) / 2.0 + dx, (out_sz[0] - th) / 2.0 + dy, tw, th)
        self.update_adapt_ms = self.features.adaptation.refine(patch, box, response)

    # ------------------------------------------------------------------ update
    def _update(self, frame: Frame) -> TrackResult:
        cfg: ECOConfig = self.config
        image = as_bgr(frame)
        self.frame_count += 1
        h_img, w_img = image.shape[:2]
        prev_pos, prev_scale = self.pos.copy(), self.scale
        score = 0.0
        xtf: list[np.ndarray] = []
        scale_ind = 0
        sample_pos = matlab_round(self.pos)
        sample_scales = self.scale * self.scale_factors
        for _ in range(max(cfg.refinement_iterations, 1)):
            sample_pos = matlab_round(self.pos)
            sample_scales = self.scale * self.scale_factors
            _, xtf = self._sample_fourier(image, sample_pos, sample_scales)
            scores = np.zeros((len(sample_scales), *self.geo.out_shape), np.complex64)
            for xf, hf, (rs, cs) in zip(xtf, self.hf, self.geo.slices, strict=True):
                scores[:, rs, cs] += (xf * hf).sum(axis=1)
            best = optimize_scores(scores, cfg.newton_iterations)
            self.last_scores = scores
            scale_ind = best.scale_index
            score = best.score
            self.last_stats = response_stats(
                sample_fs(scores[scale_ind]), self._sidelobe_exclusion()
            )
            support = self.img_support_sz / np.asarray(self.output_sz)
            translation = np.array([best.row, best.col]) * support * sample_scales[scale_ind]
            old = self.pos
            self.pos = sample_pos + translation
            if cfg.clamp_position:
                self.pos = np.clip(self.pos, 0, [h_img - 1, w_img - 1])
            change = float(self.scale_factors[scale_ind])
            if self.scale_filter is not None:
                change = self.scale_filter.track(image, self.pos, self.base_target_sz, self.scale)
            self.scale = float(np.clip(self.scale * change, self.min_scale, self.max_scale))
            if np.all(old == self.pos):
                break

        if not (
            np.all(np.isfinite(self.pos)) and math.isfinite(score) and math.isfinite(self.scale)
        ):
            # numerical failure: keep the previous state, report lost, skip the update
            self.pos, self.scale = prev_pos, prev_scale
            assert self._last_box is not None
            return TrackResult(False, self._last_box, 0.0)

        # ---- model update
        if cfg.learning_rate > 0:
            shift = (
                2
                * np.pi
                * (self.pos - sample_pos)
                / (sample_scales[scale_ind] * self.img_support_sz)
            )
            xlf_proj = [shift_sample(x[scale_ind], (shift[0], shift[1])) for x in xtf]
            self.space.update(xlf_proj)
            self._train(xlf_proj)
        if self.scale_filter is not None:
            self.scale_filter.update(image, self.pos, self.base_target_sz, self.scale)
        self.update_adapt_ms = 0.0
        adaptation = self.features.adaptation
        confident = adaptation is not None and adaptation.wants_update(score)
        if confident and score >= cfg.lost_threshold:
            self._refine_features(image, sample_pos, float(sample_scales[scale_ind]), scale_ind)

        target = self.base_target_sz * self.scale
        box = (
            float(self.pos[1] + 0.5 - target[1] / 2),
            float(self.pos[0] + 0.5 - target[0] / 2),
            float(target[1]),
            float(target[0]),
        )
        ok = bool(np.isfinite(score) and score >= cfg.lost_threshold)
        return TrackResult(ok, box, float(score))

    def _sidelobe_exclusion(self) -> int:
        """Half the target's smaller side in response cells (the peak's neighbourhood)."""
        cells = self.base_target_sz * np.asarray(self.output_sz) / self.img_support_sz
        return max(1, int(round(0.5 * float(np.min(cells)))))

    def _train(self, xlf_proj: list[np.ndarray]) -> None:
        cfg: ECOConfig = self.config
        lr = cfg.learning_rate
        frame = self.frame_count
        gap = cfg.train_gap
        if cfg.spread_cg and frame >= cfg.skip_after_frame and gap > 0:
            # the reference trains every (gap + 1)-th frame with cg_iter iterations; we run
            # ceil(cg_iter / (gap + 1)) iterations every frame (same work, no latency spike)
            iters = max(1, math.ceil(cfg.cg_iter / (gap + 1)))
            forget_rate = cfg.cg_forgetting_rate / (gap + 1)
        else:
            if not (frame < cfg.skip_after_frame or self.frames_since_train >= gap):
                self.frames_since_train += 1
                return
            iters = cfg.cg_iter
            forget_rate = cfg.cg_forgetting_rate
        self.frames_since_train = 0
        self.sample_energy = [
            (1 - lr) * e + lr * np.abs(x) ** 2
            for e, x in zip(self.sample_energy, xlf_proj, strict=True)
        ]
        forget = 0.0 if not math.isfinite(forget_rate) or lr >= 1 else (1 - lr) ** forget_rate
        hf, state = self._run_cg(iters, self.cg_state, forget)
        if all(np.all(np.isfinite(h)) for h in hf):
            self.hf, self.cg_state = hf, state
        else:  # keep the last good filter and restart CG from it
            self.cg_state = None
