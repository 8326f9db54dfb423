"""Dataset readers: OTB, TC-128, UAV123, VOT, GOT-10k, LaSOT, image folder, video."""

from fastcf.datasets.base import Dataset, Sequence

__all__ = ["Dataset", "Sequence"]
