"""Tiny networks and synthetic data shared by the distillation tests (no tests here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Tap:
    stride: int
    channels: int
    receptive_field: int


class TinyNet(nn.Module):
    """Two stride-2 convolutions; taps ``a`` (stride 2) and ``b`` (stride 4)."""

    def __init__(self, w1: int, w2: int, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.c1 = nn.Conv2d(3, w1, 3, 2, 1)
        self.c2 = nn.Conv2d(w1, w2, 3, 2, 1)
        with torch.no_grad():
            for c in (self.c1, self.c2):
                fan = c.in_channels * 9
                c.weight.copy_(torch.randn(c.weight.shape, generator=gen) * (2.0 / fan) ** 0.5)
                c.bias.zero_()
        self.taps = {"a": Tap(2, w1, 3), "b": Tap(4, w2, 7)}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        a = F.relu(self.c1((x - 128.0) / 64.0))
        return {"a": a, "b": F.relu(self.c2(a))}


def texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth random colour texture with a few rectangles (uint8 BGR)."""
    img = rng.uniform(0, 255, (h // 8, w // 8, 3)).astype(np.float32)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 12, img.shape).astype(np.float32)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        colour = [float(c) for c in rng.uniform(0, 255, 3)]
        cv2.rectangle(img, (x0, y0), (x0 + int(rng.integers(8, 30)), y0 + 15), colour, -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_images(folder: Path, n: int, seed: int = 0, size: tuple[int, int] = (96, 128)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        cv2.imwrite(str(folder / f"img{i:03d}.png"), texture(rng, *size))
    return folder


def write_sequence(root: Path, name: str = "toyseq", n: int = 12) -> tuple[Path, np.ndarray]:
    """An OTB-layout sequence: a bright square moving 3 px right and 2 px down per frame."""
    seq = root / name
    (seq / "img").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    bg = (texture(rng, 120, 160) // 3).astype(np.uint8)
    boxes = []
    for i in range(n):
        img = bg.copy()
        x, y = 30 + 3 * i, 40 + 2 * i
        img[y : y + 20, x : x + 20] = 255
        cv2.imwrite(str(seq / "img" / f"{i + 1:04d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 98])
        boxes.append((x, y, 20, 20))
    gt = np.array(boxes, dtype=float)
    text = "\n".join(f"{b[0] + 1:g},{b[1] + 1:g},{b[2]:g},{b[3]:g}" for b in gt)
    (seq / "groundtruth_rect.txt").write_text(text + "\n")
    return seq, gt
