"""The STRCF / DeepSTRCF tracker (Li et al., CVPR 2018).

Per frame: sample ``number_of_scales`` patches around the last position, extract the
feature blocks, correlate with the filter in the Fourier domain, sum the blocks' responses
(resampled to the finest grid), refine the best peak with Newton steps, then retrain the
filter on a patch at the new position with ADMM, the previous filter acting as the
temporal regulariser (the reference has no learning rate: the filter *is* the model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fastcf.api import Box, Frame, TrackResult
from fastcf.cf.confidence import ResponseStats, response_stats
from fastcf.cf.sample_size import resize_factor
from fastcf.trackers.base import BaseTracker
from fastcf.trackers.confidence import Confidence, SearchGrid
from fastcf.trackers.strcf.config import STRCFConfig
from fastcf.trackers.strcf.detect import newton_peak
from fastcf.trackers.strcf.features import STRCFFeatures
from fastcf.trackers.strcf.sample import sample_patch
from fastcf.trackers.strcf.solver import (
    admm_train,
    gaussian_label,
    hann2d,
    irfft2,
    reg_window,
    resize_spectrum,
    rfft2,
)


@dataclass
class _Detection:
    patches: npt.NDArray[np.uint8]
    centers: list[tuple[float, float]]
    response: npt.NDArray[np.float32]  # (S, H, W), fft order
    scale_index: int
    scale: float  # the factor of the best window
    peak: float
    stats: ResponseStats
    position: tuple[float, float]


@dataclass
class _BlockState:
    shape: tuple[int, int]
    yf: npt.NDArray[np.complex64]
    window: npt.NDArray[np.float32]
    reg: npt.NDArray[np.float32]
    filt: npt.NDArray[np.complex64] | None = None


class STRCF(BaseTracker):
    """Spatial-temporal regularised correlation filter; see docs/strcf.md."""

    name = "strcf"

    def __init__(self, config: STRCFConfig | None = None) -> None:
        super().__init__(config if config is not None else STRCFConfig())
        self.cfg: STRCFConfig = self.config
        # Built here so that a missing network is reported by create(), not by init().
        self._features_color = STRCFFeatures(self.cfg, color=True)
        self._features_gray: STRCFFeatures | None = None
        self.features = self._features_color  # the blocks in use (gray videos: set by init)
        self.last_response: npt.NDArray[np.float32] | None = None
        self.last_stats: ResponseStats | None = None
        self.confidence = Confidence(self.cfg)
        self.search_grid: SearchGrid | None = None

    # --- helpers ---------------------------------------------------------------------
    def _prepare(self, frame: Frame) -> Frame:
        if self._color:
            return frame
        return frame if frame.ndim == 2 else np.ascontiguousarray(frame[:, :, 0])

    def _patches(
        self,
        image: Frame,
        scales: npt.NDArray[np.float64],
        pos: tuple[float, float] | None = None,
    ) -> tuple[npt.NDArray[np.uint8], list[tuple[float, float]]]:
        """Search patches centred on ``pos`` (default: the current position)."""
        at = self._pos if pos is None else pos
        patches, centers = [], []
        for s in scales:
            size = self._support * self._scale * float(s)
            patch, center = sample_patch(image, at, (size, size), (self._support, self._support))
            patches.append(patch)
            centers.append(center)
        return np.stack(patches), centers

    def _spectra(self, patches: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.complex64]]:
        maps = self.features.extract(patches)
        return [rfft2(m * b.window) for m, b in zip(maps, self._blocks, strict=True)]

    def _train(self, image: Frame) -> None:
        patches, centers = self._patches(image, np.ones(1))
        spectra = self._spectra(patches)
        first = self._blocks[0].filt is None
        mu = 0.0 if first else self.cfg.temporal_regularization
        for xf, b in zip(spectra, self._blocks, strict=True):
            b.filt = admm_train(
                xf[0],
                b.yf,
                b.reg,
                b.shape,
                f_prev=b.filt,
                mu=mu,
                iterations=self.cfg.admm_iterations,
                gamma=self.cfg.init_penalty,
                gamma_max=self.cfg.max_penalty,
                gamma_step=self.cfg.penalty_step,
            )

    def _refine_features(
        self,
        patch: npt.NDArray[np.uint8],
        center: tuple[float, float],
        response: npt.NDArray[np.float32],
        size: float,
    ) -> None:
        """Later-frame adaptation on the search patch that located the target (``size``
        image pixels, centred on ``center``), with the response's peaks away from the
        target as distractors (docs/distillation.md)."""
        side = float(self._support)
        per_px = side / size  # patch pixels per image pixel
        cy = side / 2 + (self._pos[0] - center[0]) * per_px
        cx = side / 2 + (self._pos[1] - center[1]) * per_px
        th, tw = (float(v) * self._scale * per_px for v in self._base_sz)
        centred = np.fft.fftshift(np.asarray(response, dtype=np.float64))
        box = (cx - tw / 2, cy - th / 2, tw, th)
        self.update_adapt_ms = self.features.adaptation.refine(patch, box, centred)

    def _box(self) -> Box:
        h, w = self._base_sz[0] * self._scale, self._base_sz[1] * self._scale
        return (self._pos[1] - w / 2, self._pos[0] - h / 2, w, h)

    # --- BaseTracker -----------------------------------------------------------------
    def _init(self, frame: Frame, box: Box) -> None:
        cfg = self.cfg
        x, y, w, h = box
        self._color = bool(
            frame.ndim == 3
            and not (
                np.array_equal(frame[:, :, 0], frame[:, :, 1])
                and np.array_equal(frame[:, :, 1], frame[:, :, 2])
            )
        )
        if self._color:
            self.features = self._features_color
        else:
            if self._features_gray is None:
                self._features_gray = STRCFFeatures(cfg, color=False)
            self.features = self._features_gray
        image = self._prepare(frame)
        self._pos = (y + h / 2, x + w / 2)
        target = np.array([h, w], dtype=np.float64)
        self._scale = resize_factor(
            target, cfg.search_area_scale, cfg.min_image_sample_size, cfg.max_image_sample_size
        )
        self._base_sz = target / self._scale
        sample = math.sqrt(float(np.prod(self._base_sz * cfg.search_area_scale)))
        unit = 1
        for b in self.features.blocks:
            unit = math.lcm(unit, b.stride)
        self._support = max(unit, int(round(sample / unit)) * unit)
        self._blocks: list[_BlockState] = []
        for b in self.features.blocks:
            n = max(self._support // b.stride, 1)
            shape = (n, n)
            cells = np.floor(self._base_sz / b.stride)
            sigma = math.sqrt(float(np.prod(np.maximum(cells, 1.0)))) * cfg.output_sigma_factor
            reg_cells = np.floor(self._base_sz / b.reg_ratio).astype(int)
            self._blocks.append(
                _BlockState(
                    shape=shape,
                    yf=rfft2(gaussian_label(shape, sigma)),
                    window=hann2d(shape),
                    reg=reg_window(
                        shape,
                        (int(reg_cells[0]), int(reg_cells[1])),
                        cfg.reg_window_min,
                        cfg.reg_window_max,
                    ),
                )
            )
        self._output = max(b.shape for b in self._blocks)
        n = cfg.number_of_scales
        exps = np.arange(n) - (n - 1) // 2
        self._scale_factors = cfg.scale_step ** exps.astype(np.float64)
        ih, iw = image.shape[:2]
        step = cfg.scale_step
        if n > 1 and step != 1.0:
            self._min_scale = step ** math.ceil(math.log(5.0 / self._support) / math.log(step))
            self._max_scale = step ** math.floor(
                math.log(min(ih / self._base_sz[0], iw / self._base_sz[1])) / math.log(step)
            )
        else:
            self._min_scale, self._max_scale = 0.0, math.inf
        self.adapt_ms = 0.0
        self.update_adapt_ms = 0.0  # the later-frame adaptation of the last update, if any
        if self.features.adaptation is not None:
            # fine-tune the tracker's own CNN copy on the first patch (target vs background)
            patch = self._patches(image, np.ones(1))[0][0]
            th, tw = (float(v) for v in self._base_sz)
            side = float(self._support)
            self.features.adaptation.adapt(patch, ((side - tw) / 2, (side - th) / 2, tw, th))
            self.adapt_ms = float(self.features.adaptation.last_ms)
        self._train(image)
        self.confidence = Confidence(cfg)
        self.confidence.start(image, box)
        self.search_grid = None

    def _detect(
        self, image: Frame, scales: npt.NDArray[np.float64], pos: tuple[float, float]
    ) -> _Detection:
        """The response of the windows centred on ``pos`` at ``scales``, its refined peak,
        its statistics and the position it points to."""
        patches, centers = self._patches(image, scales, pos)
        spectra = self._spectra(patches)
        total = None
        for xf, b in zip(spectra, self._blocks, strict=True):
            assert b.filt is not None
            resp = np.einsum("chw,schw->shw", np.conj(b.filt), xf)
            resp = resize_spectrum(resp, b.shape, self._output)
            total = resp if total is None else total + resp
        assert total is not None
        response = irfft2(total, self._output)
        peak = newton_peak(response, self.cfg.newton_iterations)
        k = peak.scale_index
        s = float(scales[k])  # patch k spans support * scale * s image pixels
        cell = self._support / self._output[0] * self._scale * s
        cy, cx = centers[k]
        position = (cy + peak.row * cell, cx + peak.col * cell)
        cells = np.floor(self._base_sz / self._support * self._output[0])
        exclude = max(1, int(round(0.5 * float(np.min(cells)))))
        stats = response_stats(response[k], exclude)
        return _Detection(patches, centers, response, k, s, float(peak.value), stats, position)

    def _update(self, frame: Frame) -> TrackResult:
        cfg = self.cfg
        image = self._prepare(frame)
        lost_before = self.confidence.lost
        det = self._detect(image, self._scale_factors, self._pos)
        for _ in range(cfg.refinement_iterations - 1):
            det = self._detect(image, self._scale_factors, det.position)
        score = self.confidence.score(det.stats)
        finite = all(math.isfinite(v) for v in (*det.position, det.peak))
        # the usual search window's peak, followed while lost (not when it is not finite)
        local = det.position if finite else self._pos
        tracked = finite and score >= self.confidence.track_threshold
        if lost_before and cfg.redetect and self.search_grid is not None:
            # a window away from the local one wins only at the re-acquisition threshold
            jump = self.confidence.jump_threshold
            for centre in self.search_grid.take(cfg.redetect_windows):
                cand = self._detect(image, np.ones(1), (float(centre[0]), float(centre[1])))
                cand_score = self.confidence.score(cand.stats)
                if cand_score > score and cand_score >= jump and math.isfinite(cand.peak):
                    det, score, tracked = cand, cand_score, True
        self.last_response, self.last_stats = det.response, det.stats
        ih, iw = image.shape[:2]
        if not tracked:
            # lost: no learning, keep the size, follow the usual window's peak (or stay),
            # the centre inside the image; re-detect next
            if not lost_before:
                window = float(self._support * self._scale)
                self.search_grid = SearchGrid((ih, iw), window, np.asarray(self._pos))
            self.confidence.lost = True
            # a response scoring below follow_threshold (a black or featureless frame)
            # carries no position
            if cfg.follow_while_lost and finite and score >= cfg.follow_threshold:
                self._pos = (float(local[0]), float(local[1]))
            self._pos = (
                min(max(self._pos[0], 0.0), ih - 1.0),
                min(max(self._pos[1], 0.0), iw - 1.0),
            )
            self.update_adapt_ms = 0.0
            return self.confidence.result(False, score if finite else 0.0, image, self._box())
        # tracked (score >= lost_below): move, rescale, learn; the references and the
        # adaptation follow the frames whose response score reaches ok_threshold
        found = score >= cfg.ok_threshold
        self.confidence.lost = False
        if found:
            self.confidence.found(det.stats)
        self.search_grid = None
        size = float(self._support * self._scale * det.scale)  # the best window, image px
        self._pos = det.position
        if cfg.clamp_position:
            self._pos = (min(max(self._pos[0], 0.0), ih), min(max(self._pos[1], 0.0), iw))
        self._scale = min(max(self._scale * det.scale, self._min_scale), self._max_scale)
        self._train(image)
        self.update_adapt_ms = 0.0
        adaptation = self.features.adaptation
        if adaptation is not None and found and adaptation.wants_update(det.peak):
            k = det.scale_index
            self._refine_features(det.patches[k], det.centers[k], det.response[k], size)
        return self.confidence.result(True, score, image, self._box())
