"""ECO's generative sample-space model: a fixed-size memory of (merged) training samples.

Follows ``update_sample_space_model.m``: the gram matrix of the stored samples is kept up
to date; when the memory is full a new sample either replaces one whose prior weight has
decayed below ``minimum_sample_weight``, is merged with its nearest stored sample, or the
two nearest stored samples are merged and the new one takes the freed slot. Prior
weights always sum to one.

Numerical guards (no NaN ever reaches the store; every failure is an exception, not a
NumPy warning):

* ``learning_rate`` must lie in (0, 1) and ``n_samples`` be >= 1 (:class:`ConfigError`):
  with a rate of 1 every stored weight becomes 0 and merging two of them is 0/0.
* A weight that underflowed to exactly 0 (rates close to 1 with many samples: ``(1 -
  lr)^k`` reaches 0 long before the reference's ``minimum_sample_weight``, itself 0 then)
  counts as decayed: its slot is replaced by the new sample, as a weight below
  ``minimum_sample_weight`` is. So two zero-weight samples are never merged.
* A new sample holding NaN or inf is refused (:class:`TrackerError`), and so is any
  merge with zero total weight or a weight vector that no longer sums to a positive
  finite number; the store is left as it was before the call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fastcf.cf.fourier import half_weights, real_view
from fastcf.errors import ConfigError, TrackerError


@dataclass(frozen=True)
class SpaceUpdate:
    merged_id: int  # slot whose content must become ``merged`` (-1: none)
    merged: list[np.ndarray] | None
    new_id: int  # slot that receives the new sample as-is (-1: none)


class SampleSpace:
    """Stores up to ``n_samples`` half-spectrum samples (one array per feature block)."""

    def __init__(
        self, shapes: Sequence[tuple[int, ...]], n_samples: int, learning_rate: float
    ) -> None:
        if not 0 < learning_rate < 1:
            raise ConfigError(f"SampleSpace: learning_rate must be in (0, 1), got {learning_rate}")
        if int(n_samples) != n_samples or n_samples < 1:
            raise ConfigError(f"SampleSpace: n_samples must be an integer >= 1, got {n_samples}")
        self.n_samples = int(n_samples)
        self.learning_rate = float(learning_rate)
        self.samples = [np.zeros((n_samples, *s), np.complex64) for s in shapes]
        self._w = [half_weights(s[-2], s[-1]) for s in shapes]
        self.prior_weights = np.zeros(n_samples, np.float64)
        self.gram = np.zeros((n_samples, n_samples), np.float64)
        self.distance = np.full((n_samples, n_samples), np.inf)
        self.num = 0
        self.minimum_sample_weight = learning_rate * (1 - learning_rate) ** (2 * n_samples)

    # -- inner products ----------------------------------------------------------------
    @staticmethod
    def _ip(a: np.ndarray, b: np.ndarray) -> float:
        """Full-spectrum real inner product of two half spectra."""
        return float(2 * np.vdot(a, b).real - np.vdot(a[..., 0], b[..., 0]).real)

    def norm2(self, sample: list[np.ndarray]) -> float:
        return float(sum(np.vdot(x, x * w).real for x, w in zip(sample, self._w, strict=True)))

    def gram_vector(self, sample: list[np.ndarray]) -> npt.NDArray[np.float64]:
        """Full-spectrum inner products of ``sample`` with the stored samples (0 beyond num)."""
        g = np.zeros(self.n_samples)
        n = self.num
        if n == 0:
            return g
        for mem, x, w in zip(self.samples, sample, self._w, strict=True):
            # Re(sum_p mem_p conj(xw_p)) is the dot product of the interleaved real views:
            # one real GEMV (BLAS; the tracker's ThreadScope limits its threads), 5-6x faster
            # than the complex einsum it replaced (benchmarks/speed_blas.py); float32
            # rounding differs, ~1e-6 relative
            xw = (x * w).astype(np.complex64, copy=False)
            g[:n] += real_view(mem[:n], n, -1) @ real_view(xw, -1)
        return g

    # -- the update ------------------------------------------------------------------
    def update(self, sample: list[np.ndarray]) -> SpaceUpdate:
        """Insert ``sample`` (list of ``(C, H, Wh)``) and return what changed.

        Raises TrackerError (and leaves the store as it was) for a sample holding NaN/inf or
        weights that cannot be renormalised (module docstring)."""
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf: refused just below
            new_norm = self.norm2(sample)
        if not math.isfinite(new_norm):
            raise TrackerError(
                f"ECO sample space: the new training sample is not finite (squared norm "
                f"{new_norm}); it was not stored"
            )
        saved = (self.prior_weights.copy(), self.gram.copy(), self.distance.copy(), self.num)
        try:
            return self._insert(sample, new_norm)
        except TrackerError:
            self.prior_weights, self.gram, self.distance, self.num = saved
            raise

    def _insert(self, sample: list[np.ndarray], new_norm: float) -> SpaceUpdate:
        lr = self.learning_rate
        gv = self.gram_vector(sample)
        n = self.num
        dist = np.full(self.n_samples, np.inf)
        dist[:n] = np.maximum(new_norm + np.diag(self.gram)[:n] - 2 * gv[:n], 0.0)
        if n == self.n_samples:
            min_id = int(np.argmin(self.prior_weights))
            min_weight = self.prior_weights[min_id]
            if min_weight < self.minimum_sample_weight or min_weight <= 0:
                # a decayed sample (or one whose weight underflowed to 0) gives its slot
                rest = float(self.prior_weights.sum() - min_weight)
                if not (rest > 0 and math.isfinite(rest)):
                    raise TrackerError(
                        f"ECO sample space: the other {n - 1} samples' weights sum to {rest}; "
                        "cannot renormalise them"
                    )
                self._update_distances(gv, new_norm, min_id, -1, 0.0, 1.0)
                self.prior_weights[min_id] = 0.0
                self.prior_weights *= (1 - lr) / rest
                self.prior_weights[min_id] = lr
                result = SpaceUpdate(-1, None, min_id)
            else:
                closest = int(np.argmin(dist))
                pair = int(np.argmin(self.distance))
                id1, id2 = divmod(pair, self.n_samples)
                if dist[closest] < self.distance[id1, id2]:
                    # merge the new sample into its nearest stored sample
                    self.prior_weights *= 1 - lr
                    w_old = self.prior_weights[closest]
                    merged = _merge([m[closest] for m in self.samples], sample, w_old, lr)
                    self._update_distances(gv, new_norm, closest, -1, w_old, lr)
                    self.prior_weights[closest] += lr
                    result = SpaceUpdate(closest, merged, -1)
                else:
                    # merge the two nearest stored samples, the new one takes a slot
                    self.prior_weights *= 1 - lr
                    if self.prior_weights[id2] > self.prior_weights[id1]:
                        id1, id2 = id2, id1
                    w1, w2 = self.prior_weights[id1], self.prior_weights[id2]
                    merged = _merge(
                        [m[id1] for m in self.samples], [m[id2] for m in self.samples], w1, w2
                    )
                    self._update_distances(gv, new_norm, id1, id2, w1, w2)
                    self.prior_weights[id1] = w1 + w2
                    self.prior_weights[id2] = lr
                    result = SpaceUpdate(id1, merged, id2)
        else:
            pos = n
            self._update_distances(gv, new_norm, pos, -1, 0.0, 1.0)
            if pos == 0:
                self.prior_weights[pos] = 1.0
            else:
                self.prior_weights *= 1 - lr
                self.prior_weights[pos] = lr
            self.num = n + 1
            result = SpaceUpdate(-1, None, pos)
        total = float(self.prior_weights.sum())
        if not (total > 0 and math.isfinite(total)):
            raise TrackerError(
                f"ECO sample space: the prior weights sum to {total} after an update"
            )
        if abs(1.0 - total) > 1e-5:  # numerical drift only; renormalise
            self.prior_weights /= total
        if result.merged_id >= 0 and result.merged is not None:
            for mem, x in zip(self.samples, result.merged, strict=True):
                mem[result.merged_id] = x
        if result.new_id >= 0:
            for mem, x in zip(self.samples, sample, strict=True):
                mem[result.new_id] = x
        return result

    def replace(self, slot: int, sample: list[np.ndarray]) -> None:
        """Overwrite a stored sample (used after the projection matrix changes on frame 1)."""
        for mem, x in zip(self.samples, sample, strict=True):
            mem[slot] = x
        gv = self.gram_vector(sample)
        norm = self.norm2(sample)
        gv[slot] = norm
        n = self.num
        self.gram[slot, :n] = gv[:n]
        self.gram[:n, slot] = gv[:n]
        self._refresh_distance_n(slot, n)

    def _update_distances(
        self, gv: np.ndarray, new_norm: float, id1: int, id2: int, w1: float, w2: float
    ) -> None:
        """ECO's ``update_distance_matrix`` (gram and distance matrices in place)."""
        a1 = _share(w1, w2)
        a2 = 1 - a1
        g = self.gram
        active = max(self.num, id1 + 1, id2 + 1)
        if id2 < 0:
            norm1 = g[id1, id1]
            if a1 == 0:  # the new sample replaces slot id1
                g[:, id1] = gv
                g[id1, :] = gv
                g[id1, id1] = new_norm
            elif a2 != 0:  # merge of the new sample into id1
                t = a1 * g[:, id1] + a2 * gv
                g[:, id1] = t
                g[id1, :] = t
                g[id1, id1] = a1**2 * norm1 + a2**2 * new_norm + 2 * a1 * a2 * gv[id1]
            self._refresh_distance_n(id1, active)
        else:
            norm1, norm2, ip12 = g[id1, id1], g[id2, id2], g[id1, id2]
            t = a1 * g[:, id1] + a2 * g[:, id2]
            g[:, id1] = t
            g[id1, :] = t
            g[id1, id1] = a1**2 * norm1 + a2**2 * norm2 + 2 * a1 * a2 * ip12
            gv = gv.copy()
            gv[id1] = a1 * gv[id1] + a2 * gv[id2]
            g[:, id2] = gv
            g[id2, :] = gv
            g[id2, id2] = new_norm
            self._refresh_distance_n(id1, active)
            self._refresh_distance_n(id2, active)

    def _refresh_distance_n(self, i: int, n: int) -> None:
        d = np.full(self.n_samples, np.inf)
        diag = np.diag(self.gram)[:n]
        d[:n] = np.maximum(self.gram[i, i] + diag - 2 * self.gram[:n, i], 0.0)
        d[i] = np.inf
        self.distance[:, i] = d
        self.distance[i, :] = d


def _merge(s1: list[np.ndarray], s2: list[np.ndarray], w1: float, w2: float) -> list[np.ndarray]:
    """Weighted mean of two samples (ECO's ``merge_samples`` with type 'Merge')."""
    a1 = _share(w1, w2)
    return [(a1 * x1 + (1 - a1) * x2).astype(np.complex64) for x1, x2 in zip(s1, s2, strict=True)]


def _share(w1: float, w2: float) -> float:
    """``w1 / (w1 + w2)``, the first sample's share of a merge; TrackerError instead of 0/0
    (unreachable with the zero-weight rule of :meth:`SampleSpace.update`)."""
    total = w1 + w2
    if not (total > 0 and math.isfinite(total)):
        raise TrackerError(
            f"ECO sample space: cannot merge two samples of weights {w1} and {w2} (total {total})"
        )
    return float(w1 / total)
