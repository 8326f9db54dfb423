"""The ECO tracker (Danelljan et al., "ECO: Efficient Convolution Operators for Tracking",
CVPR 2017), following the MATLAB reference implementation's ``tracker.m``.

Coordinates: ``pos`` is the target centre as ``(row, col)`` in 0-based pixel indices (the
centre of pixel ``(0, 0)`` is ``(0, 0)``); sizes are ``(h, w)``. Boxes in and out use the
fastcf convention (``api.py``): centre ``= (x + w / 2 - 0.5, y + h / 2 - 0.5)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from fastcf.api import Box, Frame, TrackResult
from fastcf.cf.cg import CGState, PCGRun
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
from fastcf.trackers.confidence import Confidence, SearchGrid
from fastcf.trackers.eco.config import ECOConfig
from fastcf.trackers.eco.features import FeatureStack, odd_cells_sample_size
from fastcf.trackers.eco.patches import matlab_round, sample_patch
from fastcf.trackers.eco.sample_space import SampleSpace
from fastcf.trackers.eco.scale_filter import ScaleFilter
from fastcf.trackers.eco.training import (
    Geometry,
    filter_cg,
    preconditioner,
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


@dataclass
class Detection:
    """One detection: where the windows were sampled, their spectra and response, the best
    scale, the refined peak, the response statistics and the position it points to."""

    sample_pos: np.ndarray
    scales: np.ndarray
    spectra: list[np.ndarray]  # projected, interpolated half spectra per block (S, C, H, Wh)
    scores: np.ndarray  # (S, H_out, Wh_out) response half spectra
    scale_index: int
    peak: float  # refined peak of the response
    stats: ResponseStats
    position: np.ndarray  # (row, col) the peak points to
    memory: float = math.nan  # the first frame's filter at the response peak / its reference


class ECOTracker(BaseTracker):
    name = "eco"

    def __init__(self, config: ECOConfig) -> None:
        super().__init__(config)
        self.features = FeatureStack(config)
        self.last_scores: np.ndarray | None = None
        self.last_stats: ResponseStats | None = None  # of the last detection's response
        self.memory_ref = math.nan  # the first frame's filter's peak on its own sample
        self.last_memory = math.nan  # Detection.memory of the last detection
        # compute Detection.memory even when the score does not use it (for analysis:
        # benchmarks/confidence_data.py); it costs one more response per detection
        self.record_memory = False
        self.confidence = Confidence(config)
        self.search_grid: SearchGrid | None = None

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
        # the first frame's filter, kept as the long-term memory of the target
        self.memory_hf = [h.copy() for h in self.hf]
        self.memory_ref = float(self._memory_response(xlf_proj).max())
        self.frames_since_train = 0
        self.frame_count = 1
        self.cg_run: PCGRun | None = None
        self.cg_left = 0
        self.confidence = Confidence(cfg)
        self.confidence.start(image, box)
        self.search_grid = None
        if self.scale_filter is not None:
            self.scale_filter.update(image, self.pos, self.base_target_sz, self.scale)

    def _start_cg(self, state: CGState | None, forget: float, snapshot: bool = False) -> PCGRun:
        """A warm-started CG run on the filter over the current sample space
        (preconditioned by the running sample energy). ``snapshot``: the run keeps copies
        of the samples and weights, so that a run advanced over later frames (spread CG)
        solves the normal equations of its training frame; on views it would apply the
        later frames' merged / replaced samples and re-scaled weights to a right-hand side
        and residual built from the old ones."""
        cfg = self.config
        diag_m = preconditioner(
            self.sample_energy, self.reg_energy, cfg.precond_data_param, cfg.precond_reg_param
        )
        n = self.space.num
        samples = [s[:n] for s in self.space.samples]
        weights = self.space.prior_weights[:n]
        if snapshot:
            samples = [s.copy() for s in samples]
            weights = weights.copy()
        return filter_cg(
            self.hf,
            samples,
            weights,
            self.yf,
            self.geo,
            diag_m,
            state,
            forget,
            cfg.cg_use_fr,
            cfg.cg_standard_alpha,
        )

    def _run_cg(
        self, iters: int, state: CGState | None, forget: float
    ) -> tuple[list[np.ndarray], CGState]:
        """``iters`` iterations of the warm-started CG, at once."""
        run = self._start_cg(state, forget)
        for it in range(iters):
            if not run.step(update_residual=it < iters - 1):
                break
        return run.x, run.state

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
    def _detect(
        self, image: npt.NDArray[np.uint8], pos: np.ndarray, scales: np.ndarray
    ) -> Detection:
        """Score the search window(s) centred on ``pos`` at ``scales``: the response, its
        maximum (Newton-refined), its statistics and the position it points to."""
        cfg: ECOConfig = self.config
        sample_pos = matlab_round(pos)
        _, xtf = self._sample_fourier(image, sample_pos, scales)
        scores = np.zeros((len(scales), *self.geo.out_shape), np.complex64)
        for xf, hf, (rs, cs) in zip(xtf, self.hf, self.geo.slices, strict=True):
            scores[:, rs, cs] += (xf * hf).sum(axis=1)
        best = optimize_scores(scores, cfg.newton_iterations)
        k = best.scale_index
        response = sample_fs(scores[k])
        stats = response_stats(response, self._sidelobe_exclusion())
        support = self.img_support_sz / np.asarray(self.output_sz)
        translation = np.array([best.row, best.col]) * support * scales[k]
        memory = self._memory(xtf, k, response)
        return Detection(sample_pos, scales, xtf, scores, k, float(best.score), stats,
                         sample_pos + translation, memory)  # fmt: skip

    def _memory_response(self, spectra: list[np.ndarray]) -> np.ndarray:
        """The response of the first frame's filter (``memory_hf``) to one window's
        projected spectra ``(C, H, Wh)`` per block, sampled on the output grid."""
        scores = np.zeros(self.geo.out_shape, np.complex64)
        for xf, hf, (rs, cs) in zip(spectra, self.memory_hf, self.geo.slices, strict=True):
            scores[rs, cs] += (xf * hf).sum(axis=0)
        return sample_fs(scores)

    def _memory(self, xtf: list[np.ndarray], k: int, response: np.ndarray) -> float:
        """Does the first frame's model see the target where the current model does: the
        first frame's filter at the current response's peak cell, over its own value on
        the first frame (1 = as strong as then)."""
        ref = self.memory_ref
        wanted = self.record_memory or self.config.confidence_memory_weight != 0.0
        if not (wanted and ref > 0):
            return math.nan
        mem = self._memory_response([x[k] for x in xtf])
        r, c = np.unravel_index(int(np.argmax(response)), response.shape)
        return float(mem[r, c]) / ref

    def _update(self, frame: Frame) -> TrackResult:
        cfg: ECOConfig = self.config
        image = as_bgr(frame)
        self.frame_count += 1
        h_img, w_img = image.shape[:2]
        lost_before = self.confidence.lost
        det = self._detect(image, self.pos, self.scale * self.scale_factors)
        for _ in range(cfg.refinement_iterations - 1):  # ECO: re-detect where it moved to
            if np.all(matlab_round(det.position) == det.sample_pos):
                break
            det = self._detect(image, det.position, self.scale * self.scale_factors)
        score = self.confidence.score(det.stats, det.memory)
        finite = bool(np.all(np.isfinite(det.position)) and math.isfinite(det.peak))
        # the usual search window's peak, followed while lost (not when it is not finite)
        local = det.position if finite else self.pos
        tracked = finite and score >= self.confidence.track_threshold
        if lost_before and cfg.redetect and self.search_grid is not None:
            # re-detection: more windows of the frame, in turn, at the current scale; a
            # window away from the local one wins only at the re-acquisition threshold
            jump = self.confidence.jump_threshold
            for centre in self.search_grid.take(cfg.redetect_windows):
                cand = self._detect(image, centre, np.array([self.scale]))
                cand_score = self.confidence.score(cand.stats, cand.memory)
                if cand_score > score and cand_score >= jump and math.isfinite(cand.peak):
                    det, score, tracked = cand, cand_score, True
        self.last_scores, self.last_stats = det.scores, det.stats
        self.last_memory = det.memory
        if not tracked:
            return self._lost(image, score if finite else 0.0, local)

        # ---- tracked (score >= lost_below): move, rescale, learn; the references and the
        # adaptation follow the frames whose response score reaches ok_threshold
        found = score >= cfg.ok_threshold
        self.confidence.lost = False
        if found:
            self.confidence.found(det.stats)
        self.search_grid = None
        self.pos = det.position
        if cfg.clamp_position:
            self.pos = np.clip(self.pos, 0, [h_img - 1, w_img - 1])
        change = float(self.scale_factors[det.scale_index]) if len(det.scales) > 1 else 1.0
        if self.scale_filter is not None:
            change = self.scale_filter.track(image, self.pos, self.base_target_sz, self.scale)
        self.scale = float(np.clip(self.scale * change, self.min_scale, self.max_scale))
        k = det.scale_index
        shift = 2 * np.pi * (self.pos - det.sample_pos) / (det.scales[k] * self.img_support_sz)
        xlf_proj = [shift_sample(x[k], (shift[0], shift[1])) for x in det.spectra]
        self.space.update(xlf_proj)
        self._train(xlf_proj)
        if self.scale_filter is not None:
            self.scale_filter.update(image, self.pos, self.base_target_sz, self.scale)
        self.update_adapt_ms = 0.0
        adaptation = self.features.adaptation
        if adaptation is not None and found and adaptation.wants_update(det.peak):
            self._refine_features(image, det.sample_pos, float(det.scales[k]), k)
        return self.confidence.result(True, score, image, self._box())

    def _lost(self, image: npt.NDArray[np.uint8], score: float, local: np.ndarray) -> TrackResult:
        """Not found: no learning, the size stays, the position follows the peak of the
        usual search window at ``local`` (``follow_while_lost``, when its response score
        reaches ``follow_threshold``; otherwise it stays), the
        centre inside the image, and the next frames search the whole frame in turn
        (re-detection)."""
        cfg: ECOConfig = self.config
        h_img, w_img = image.shape[:2]
        if not self.confidence.lost:
            window = float(np.max(self.img_support_sz) * self.scale)
            self.search_grid = SearchGrid((h_img, w_img), window, self.pos)
        self.confidence.lost = True
        # ``local`` is the last position when not finite; a response scoring below
        # follow_threshold (a black or featureless frame) carries no position
        if cfg.follow_while_lost and score >= cfg.follow_threshold:
            self.pos = np.asarray(local, dtype=np.float64)
        self.pos = np.clip(self.pos, 0, [h_img - 1, w_img - 1])
        self.update_adapt_ms = 0.0
        return self.confidence.result(False, score, image, self._box())

    def _box(self) -> Box:
        target = self.base_target_sz * self.scale
        return (
            float(self.pos[1] + 0.5 - target[1] / 2),
            float(self.pos[0] + 0.5 - target[0] / 2),
            float(target[1]),
            float(target[0]),
        )

    def _sidelobe_exclusion(self) -> int:
        """Half the target's smaller side in response cells (the peak's neighbourhood)."""
        cells = self.base_target_sz * np.asarray(self.output_sz) / self.img_support_sz
        return max(1, int(round(0.5 * float(np.min(cells)))))

    def _train(self, xlf_proj: list[np.ndarray]) -> None:
        """ECO's sparse update: every ``train_gap + 1``-th frame (every frame before
        ``skip_after_frame``), ``cg_iter`` CG iterations on the filter. With ``spread_cg``
        the training frame only sets the CG run up (right-hand side, residual) and the next
        frames advance it one iteration each, so no frame carries the whole update."""
        cfg: ECOConfig = self.config
        lr = cfg.learning_rate
        frame = self.frame_count
        if not (frame < cfg.skip_after_frame or self.frames_since_train >= cfg.train_gap):
            self.frames_since_train += 1
            if self.cg_run is not None:
                self._cg_step()
            return
        self.frames_since_train = 0
        self.sample_energy = [
            (1 - lr) * e + lr * np.abs(x) ** 2
            for e, x in zip(self.sample_energy, xlf_proj, strict=True)
        ]
        forget = (
            (1 - lr) ** cfg.cg_forgetting_rate if math.isfinite(cfg.cg_forgetting_rate) else 0.0
        )
        if cfg.spread_cg and frame >= cfg.skip_after_frame and cfg.train_gap > 0:
            state = self.cg_run.state if self.cg_run is not None else self.cg_state
            self.cg_run = self._start_cg(state, forget, snapshot=True)
            self.cg_left = cfg.cg_iter
            return
        hf, state = self._run_cg(cfg.cg_iter, self.cg_state, forget)
        self._accept(hf, state)

    def _cg_step(self) -> None:
        """One iteration of the spread CG run (its filter is used from the next frame)."""
        assert self.cg_run is not None
        run = self.cg_run
        self.cg_left -= 1
        if not run.step() or self.cg_left <= 0:
            self.cg_run = None
        self._accept(run.x, run.state)

    def _accept(self, hf: list[np.ndarray], state: CGState) -> None:
        if all(np.all(np.isfinite(h)) for h in hf):
            self.hf, self.cg_state = hf, state
        else:  # keep the last good filter and restart CG from it
            self.cg_state = None
            self.cg_run = None
