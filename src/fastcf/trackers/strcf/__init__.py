"""STRCF / DeepSTRCF: spatial-temporal regularised correlation filters (Li et al., CVPR 2018)."""

from fastcf.trackers.strcf.config import STRCFConfig, deepstrcf, fdeepstrcf, strcf
from fastcf.trackers.strcf.tracker import STRCF

__all__ = ["STRCF", "STRCFConfig", "deepstrcf", "fdeepstrcf", "strcf"]
