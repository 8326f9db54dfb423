"""Dataset readers: OTB, TC-128, UAV123, VOT, GOT-10k, LaSOT, image folder, video.

``open_dataset("otb:/data/OTB100")`` returns a :class:`Dataset` of :class:`Sequence`s
with lazily loaded frames and 0-based ``x, y, w, h`` ground truth (see docs/datasets.md).
"""

from fastcf.datasets.base import Dataset, Sequence
from fastcf.datasets.folder import read_folder
from fastcf.datasets.got10k import read_got10k
from fastcf.datasets.lasot import read_lasot
from fastcf.datasets.otb import read_otb
from fastcf.datasets.spec import open_dataset
from fastcf.datasets.tc128 import read_tc128
from fastcf.datasets.uav123 import read_uav123
from fastcf.datasets.video import read_video
from fastcf.datasets.vot import read_vot

__all__ = [
    "Dataset",
    "Sequence",
    "open_dataset",
    "read_folder",
    "read_got10k",
    "read_lasot",
    "read_otb",
    "read_tc128",
    "read_uav123",
    "read_video",
    "read_vot",
]
