"""ECO: Efficient Convolution Operators (Danelljan et al., CVPR 2017). See docs/eco.md."""

from fastcf.trackers.eco.config import ECOConfig, eco_deep, eco_hc, feco
from fastcf.trackers.eco.tracker import ECOTracker

__all__ = ["ECOConfig", "ECOTracker", "eco_deep", "eco_hc", "feco"]
