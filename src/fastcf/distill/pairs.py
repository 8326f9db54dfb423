"""Training pairs for distillation: (template patch, search patch, target offset, scale).

Two kinds of source, both seeded and deterministic (pair ``i`` depends only on
``(seed, split, i)``, so any subset can be regenerated in any order or process):

* ``images:<folder>`` -- still photographs with *synthetic* motion: a random target box,
  a template patch centred on it, and a search patch of the same scene after a random
  translation, scale change, small rotation, photometric change and blur;
* ``video:<folder>`` -- OTB-layout sequences (``<seq>/img/*.jpg`` + ``groundtruth_rect.txt``
  with 1-based ``x,y,w,h``; ``<folder>`` is one sequence or a folder of them); the template
  comes from frame ``i``, the search patch from frame ``j`` with ``|i - j| <= max_frame_gap``,
  cropped where the target was in frame ``i`` (plus a small jitter): real motion.

Both patches are ``patch_size`` square crops of side ``context * sqrt(w * h)`` (the
template's target size; the search uses the same crop scale, as a tracker does), so the
target's side in a patch is ``patch_size / context`` pixels. ``offset`` is the target centre
in the search patch minus the patch centre, ``(dy, dx)`` in patch pixels; ``scale`` the
target's size in the search relative to the template.

Validation pairs are held out by source item: every ``holdout_every``-th image and the last
``video_val_fraction`` of each video's frames never appear in training pairs.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from fastcf.errors import AnnotationError, DatasetError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

# The development/evaluation sequences shipped in ../shared/data/sequences (all 34): never
# train on them.
EVALUATION_SEQUENCES = frozenset(
    s.lower()
    for s in (
        "Crossing", "Human3", "Skating1", "Girl", "Biker", "MotorRolling", "Diving", "Dog",
        "Singer1", "Vase", "ball1", "Couple", "Football1", "Freeman1", "Toy", "Human7",
        "Jogging-2", "David", "FaceOcc1", "bag", "book", "matrix", "car", "iceskater1",
        "graduate", "skiing_lt", "building5", "car16_1", "wakeboard4", "boat5", "person11",
        "MountainBike6", "Gull1", "S0601",
    )
)  # fmt: skip

SPLITS = ("train", "val")


@dataclass(frozen=True)
class PairConfig:
    patch_size: int = 128  # side of both patches, pixels
    context: float = 4.0  # patch side / sqrt(target area)
    max_shift: float = 0.25  # synthetic target offset, fraction of the patch side (radius)
    max_offset: float = 0.4  # video offsets are clipped to this fraction of the patch side
    max_log_scale: float = 0.15  # synthetic scale change exp(U(-a, a))
    max_rotation_deg: float = 10.0
    photometric: float = 0.2  # strength of gain / bias / gamma changes
    max_blur_sigma: float = 1.5  # Gaussian or motion blur on half the search patches
    target_min: float = 0.1  # synthetic target side, fraction of the image's shorter side
    target_max: float = 0.35
    max_aspect_log: float = 0.5  # synthetic target aspect exp(U(-a, a))
    max_frame_gap: int = 10
    video_jitter: float = 0.05  # search crop jitter (fraction of patch side) for videos
    video_fraction: float = 0.3  # share of pairs from videos when both kinds are given
    holdout_every: int = 10  # images with index % holdout_every == 0 are validation
    video_val_fraction: float = 0.2  # last fraction of each video is validation

    def __post_init__(self) -> None:
        if self.patch_size < 16:
            raise ValueError(f"patch_size must be >= 16, got {self.patch_size}")
        if self.context <= 1.0:
            raise ValueError(f"context must be > 1, got {self.context}")
        if not 0.0 <= self.video_fraction <= 1.0:
            raise ValueError(f"video_fraction must be in [0, 1], got {self.video_fraction}")
        if self.holdout_every < 2:
            raise ValueError(f"holdout_every must be >= 2, got {self.holdout_every}")


@dataclass(frozen=True)
class Pair:
    template: npt.NDArray[np.uint8]  # (S, S, 3) BGR
    search: npt.NDArray[np.uint8]  # (S, S, 3) BGR
    offset: tuple[float, float]  # (dy, dx) target centre in search minus patch centre, px
    scale: float  # target size in search / in template
    source: str  # "image:<name>" or "video:<seq>:<i>-<j>"


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # "images" | "video"
    path: Path


def parse_sources(spec: str | Sequence[str]) -> list[SourceSpec]:
    """``"images:/a,video:/b"`` (or a list of such items) -> source specs."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[SourceSpec] = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        kind, sep, path = item.partition(":")
        if not sep or kind not in ("images", "video") or not path:
            raise DatasetError(
                f"data source {item!r}: expected 'images:<folder>' or 'video:<folder>'"
            )
        out.append(SourceSpec(kind, Path(path).expanduser()))
    if not out:
        raise DatasetError(f"no data source in {spec!r}")
    return out


# --- reading sources -----------------------------------------------------------------
def _natural(p: Path) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def _images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: image folder does not exist")
    files = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
        key=_natural,
    )
    if not files:
        raise DatasetError(f"{folder}: no image files in this folder")
    return files


def read_otb_boxes(path: Path) -> npt.NDArray[np.float64]:
    """OTB ``x,y,w,h`` rows (1-based) -> 0-based boxes; unusable rows become NaN."""
    if not path.is_file():
        raise DatasetError(f"{path}: ground-truth file does not exist")
    rows: list[list[float]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        tokens = [t for t in re.split(r"[,;\s]+", line.strip()) if t]
        if len(tokens) != 4:
            raise AnnotationError(f"{path}, line {lineno}: expected 4 values, got {len(tokens)}")
        try:
            v = [float(t) for t in tokens]
        except ValueError:
            raise AnnotationError(f"{path}, line {lineno}: non-numeric value in {line!r}") from None
        if not all(math.isfinite(a) for a in v) or v[2] <= 0 or v[3] <= 0:
            v = [math.nan] * 4
        rows.append([v[0] - 1.0, v[1] - 1.0, v[2], v[3]])
    if not rows:
        raise AnnotationError(f"{path}: ground-truth file is empty")
    return np.asarray(rows, dtype=np.float64)


@dataclass
class VideoSeq:
    name: str
    frames: list[Path]
    boxes: npt.NDArray[np.float64]  # (N, 4) 0-based xywh, NaN where unusable


def read_video_source(folder: Path) -> list[VideoSeq]:
    """One OTB sequence folder, or a folder of them (sorted by name)."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: video folder does not exist")
    if (folder / "groundtruth_rect.txt").is_file():
        candidates = [folder]
    else:
        candidates = sorted(p for p in folder.iterdir() if (p / "groundtruth_rect.txt").is_file())
    if not candidates:
        raise DatasetError(f"{folder}: no OTB sequence (<seq>/groundtruth_rect.txt) found")
    seqs = []
    for d in candidates:
        if d.name.lower() in EVALUATION_SEQUENCES:
            raise DatasetError(
                f"{d}: {d.name!r} is an evaluation sequence; it must never be used for training"
            )
        img = d / "img" if (d / "img").is_dir() else d
        frames = _images_in(img)
        boxes = read_otb_boxes(d / "groundtruth_rect.txt")
        if len(boxes) != len(frames):
            raise DatasetError(f"{d}: {len(frames)} frames but {len(boxes)} ground-truth rows")
        seqs.append(VideoSeq(d.name, frames, boxes))
    return seqs


def _read(path: Path) -> npt.NDArray[np.uint8]:
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DatasetError(f"{path}: cannot decode image")
    return np.asarray(image, dtype=np.uint8)


# --- geometry ----------------------------------------------------------------------------
def crop_patch(
    image: npt.NDArray[np.uint8],
    center: tuple[float, float],
    pixel_scale: float,
    size: int,
    *,
    rotation: float = 0.0,
    scale: float = 1.0,
    shift: tuple[float, float] = (0.0, 0.0),
) -> npt.NDArray[np.uint8]:
    """Crop a ``size x size`` patch, border replicated.

    ``center``: ``(x, y)`` in continuous 0-based image coordinates (pixel ``i`` spans
    ``[i, i + 1)``); ``pixel_scale``: image pixels per patch pixel. The scene is first
    transformed about ``center`` by a rotation (radians) and a scale, then the patch is
    cut centred at ``center - shift`` (``shift`` in image pixels, ``(dx, dy)``), so the point
    at ``center`` lands at ``shift / pixel_scale`` from the patch centre.
    """
    h, w = image.shape[:2]
    cx, cy = center[0] - 0.5, center[1] - 0.5  # OpenCV pixel-centre coordinates
    cos, sin = math.cos(-rotation), math.sin(-rotation)
    rinv = np.array([[cos, -sin], [sin, cos]]) / scale  # scene transform inverse
    lin = rinv * pixel_scale
    half = (size - 1) / 2.0
    t = np.array([cx, cy]) - rinv @ np.array(shift) - lin @ np.array([half, half])
    # anti-aliasing: shrink the region of interest first when the crop is a big reduction
    factor = pixel_scale / max(scale, 1e-6)
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], float)
    pts = corners @ lin.T + t
    x0 = int(max(0, math.floor(pts[:, 0].min()) - 2))
    y0 = int(max(0, math.floor(pts[:, 1].min()) - 2))
    x1 = int(min(w, math.ceil(pts[:, 0].max()) + 3))
    y1 = int(min(h, math.ceil(pts[:, 1].max()) + 3))
    if x1 <= x0 or y1 <= y0:  # entirely outside: replicate the nearest border pixel
        x0, x1 = (0, 1) if pts[:, 0].max() < 0 else (w - 1, w)
        y0, y1 = (0, 1) if pts[:, 1].max() < 0 else (h - 1, h)
        x0, x1 = (min(max(x0, 0), w - 1), min(max(x1, 1), w))
        y0, y1 = (min(max(y0, 0), h - 1), min(max(y1, 1), h))
    roi = image[y0:y1, x0:x1]
    t = t - np.array([x0, y0])
    if factor > 1.5 and roi.shape[0] > 4 and roi.shape[1] > 4:
        q = factor
        nw, nh = max(1, round(roi.shape[1] / q)), max(1, round(roi.shape[0] / q))
        qx, qy = roi.shape[1] / nw, roi.shape[0] / nh
        roi = np.asarray(cv2.resize(roi, (nw, nh), interpolation=cv2.INTER_AREA), np.uint8)
        # x' = (x + 0.5) / q - 0.5
        lin = lin / np.array([[qx], [qy]])
        t = (t + 0.5) / np.array([qx, qy]) - 0.5
    m = np.hstack([lin, t[:, None]]).astype(np.float64)
    out = cv2.warpAffine(
        roi,
        m,
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(out, dtype=np.uint8)


def photometric(
    patch: npt.NDArray[np.uint8], rng: np.random.Generator, strength: float, max_blur: float
) -> npt.NDArray[np.uint8]:
    """Random per-channel gain, bias, gamma and (half of the time) Gaussian/motion blur."""
    x = patch.astype(np.float32) / 255.0
    if strength > 0:
        gain = np.exp(rng.uniform(-strength, strength, 3)).astype(np.float32)
        common = np.float32(np.exp(rng.uniform(-strength, strength)))
        bias = np.float32(rng.uniform(-strength, strength) * 0.3)
        gamma = np.float32(np.exp(rng.uniform(-strength, strength)))
        x = np.clip(x * gain * common + bias, 0.0, 1.0) ** gamma
    if max_blur > 0 and rng.uniform() < 0.5:
        sigma = rng.uniform(0.3, max_blur)
        if rng.uniform() < 0.5:
            x = np.asarray(cv2.GaussianBlur(x, (0, 0), sigma), np.float32)
        else:  # linear motion blur of length ~ 3 sigma in a random direction
            n = max(3, int(round(3 * sigma)) | 1)
            k = np.zeros((n, n), np.float32)
            k[n // 2, :] = 1.0
            rot = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), rng.uniform(0, 180), 1.0)
            k = np.asarray(cv2.warpAffine(k, rot, (n, n)), np.float32)
            k = k / max(float(k.sum()), 1e-6)
            x = np.asarray(cv2.filter2D(x, -1, k, borderType=cv2.BORDER_REPLICATE), np.float32)
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


# --- the sampler -----------------------------------------------------------------------
class PairSampler:
    """``len(sampler)`` deterministic pairs of one split; ``sampler[i]`` makes pair ``i``."""

    def __init__(
        self,
        sources: Sequence[SourceSpec] | str,
        n_pairs: int,
        *,
        config: PairConfig | None = None,
        seed: int = 0,
        split: str = "train",
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if n_pairs < 1:
            raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
        self.sources = parse_sources(sources) if isinstance(sources, str) else list(sources)
        self.config = config or PairConfig()
        self.n_pairs = int(n_pairs)
        self.seed = int(seed)
        self.split = split
        c = self.config
        self.images: list[Path] = []
        self.videos: list[VideoSeq] = []
        for src in self.sources:
            if src.kind == "images":
                files = _images_in(src.path)
                held = [i % c.holdout_every == 0 for i in range(len(files))]
                keep = [p for p, v in zip(files, held, strict=True) if v == (split == "val")]
                self.images.extend(keep)
            else:
                self.videos.extend(read_video_source(src.path))
        # (sequence index, frame index) candidates for template frames of this split
        self._frames: list[tuple[int, int]] = []
        self._ranges: list[tuple[int, int]] = []
        for si, seq in enumerate(self.videos):
            n = len(seq.frames)
            cut = int(round(n * (1.0 - c.video_val_fraction)))
            lo, hi = (0, cut) if split == "train" else (cut, n)
            self._ranges.append((lo, hi))
            valid = np.isfinite(seq.boxes[:, 0])
            self._frames.extend((si, i) for i in range(lo, hi) if valid[i])
        if not self.images and not self._frames:
            raise DatasetError(f"no {split} data in sources {[str(s.path) for s in self.sources]}")

    def __len__(self) -> int:
        return self.n_pairs

    def describe(self) -> dict[str, object]:
        """Everything that determines the pairs (for cache keys and logs)."""
        return {
            "split": self.split,
            "seed": self.seed,
            "n_pairs": self.n_pairs,
            "config": asdict(self.config),
            # resolved: the same data spelled as another path gives the same key
            "images": [str(p.resolve()) for p in self.images],
            "videos": [
                [s.name, str(s.frames[0].parent.resolve()), len(s.frames)] for s in self.videos
            ],
            "video_boxes": [hashlib.sha1(s.boxes.tobytes()).hexdigest() for s in self.videos],
        }

    def fingerprint(self) -> str:
        text = json.dumps(self.describe(), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()

    def __getitem__(self, index: int) -> Pair:
        if not 0 <= index < self.n_pairs:
            raise IndexError(f"pair index {index} out of range 0..{self.n_pairs - 1}")
        rng = np.random.default_rng([self.seed, SPLITS.index(self.split), int(index)])
        use_video = bool(self._frames) and (
            not self.images or rng.uniform() < self.config.video_fraction
        )
        return self._video_pair(rng) if use_video else self._image_pair(rng)

    def _image_pair(self, rng: np.random.Generator) -> Pair:
        c = self.config
        path = self.images[int(rng.integers(len(self.images)))]
        image = _read(path)
        h, w = image.shape[:2]
        side = rng.uniform(c.target_min, c.target_max) * min(h, w)
        aspect = math.exp(rng.uniform(-c.max_aspect_log, c.max_aspect_log))
        bw, bh = side * math.sqrt(aspect), side / math.sqrt(aspect)
        cx = rng.uniform(min(bw / 2, w / 2), max(w - bw / 2, w / 2))
        cy = rng.uniform(min(bh / 2, h / 2), max(h - bh / 2, h / 2))
        k = c.context * math.sqrt(bw * bh) / c.patch_size
        template = crop_patch(image, (cx, cy), k, c.patch_size)
        radius = c.max_shift * c.patch_size * math.sqrt(rng.uniform())
        angle = rng.uniform(0, 2 * math.pi)
        dx, dy = radius * math.cos(angle), radius * math.sin(angle)
        s = math.exp(rng.uniform(-c.max_log_scale, c.max_log_scale))
        rot = math.radians(rng.uniform(-c.max_rotation_deg, c.max_rotation_deg))
        search = crop_patch(
            image, (cx, cy), k, c.patch_size, rotation=rot, scale=s, shift=(dx * k, dy * k)
        )
        search = photometric(search, rng, c.photometric, c.max_blur_sigma)
        return Pair(template, search, (dy, dx), s, f"image:{path.name}")

    def _video_pair(self, rng: np.random.Generator) -> Pair:
        c = self.config
        si, i = self._frames[int(rng.integers(len(self._frames)))]
        seq = self.videos[si]
        lo, hi = self._ranges[si]
        valid = np.isfinite(seq.boxes[:, 0])
        js = [
            j
            for j in range(max(lo, i - c.max_frame_gap), min(hi, i + c.max_frame_gap + 1))
            if valid[j]
        ]
        j = int(js[int(rng.integers(len(js)))])
        bi, bj = seq.boxes[i], seq.boxes[j]
        ci = (bi[0] + bi[2] / 2, bi[1] + bi[3] / 2)
        cj = (bj[0] + bj[2] / 2, bj[1] + bj[3] / 2)
        k = c.context * math.sqrt(bi[2] * bi[3]) / c.patch_size
        template = crop_patch(_read(seq.frames[i]), ci, k, c.patch_size)
        jit = c.video_jitter * c.patch_size * k
        sx = ci[0] + rng.uniform(-jit, jit)
        sy = ci[1] + rng.uniform(-jit, jit)
        lim = c.max_offset * c.patch_size
        dx = float(np.clip((cj[0] - sx) / k, -lim, lim))
        dy = float(np.clip((cj[1] - sy) / k, -lim, lim))
        search = crop_patch(_read(seq.frames[j]), (cj[0] - dx * k, cj[1] - dy * k), k, c.patch_size)
        scale = math.sqrt(bj[2] * bj[3] / (bi[2] * bi[3]))
        return Pair(template, search, (dy, dx), scale, f"video:{seq.name}:{i}-{j}")
