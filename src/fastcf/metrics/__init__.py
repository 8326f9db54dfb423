"""Tracking metrics as plain functions on arrays of ``x, y, w, h`` boxes.

Nothing here knows about trackers, datasets or files; see ``docs/metrics.md`` for every
convention (frame 0, absent ground truth, invalid boxes, thresholds).
"""

from fastcf.metrics.attributes import attribute_means, sequences_with
from fastcf.metrics.boxes import (
    as_boxes,
    center_error,
    centers,
    clip_to_image,
    iou,
    normalized_center_error,
    valid_boxes,
)
from fastcf.metrics.curves import (
    NORM_PRECISION_THRESHOLD,
    OTB_SUCCESS_BINS,
    PRECISION_THRESHOLD_PX,
    auc,
    norm_precision_curve,
    norm_precision_thresholds,
    precision_curve,
    precision_thresholds,
    success_curve,
    success_thresholds,
    value_at,
)
from fastcf.metrics.got import GotScores, got_ious, got_scores
from fastcf.metrics.sequence import (
    Curves,
    SequenceScores,
    failed_curves,
    gt_mask,
    mean_curves,
    score_sequence,
)
from fastcf.metrics.speed import (
    SequenceSpeed,
    SpeedSummary,
    sequence_speed,
    summarize_speed,
    valid_times,
)

__all__ = [
    "NORM_PRECISION_THRESHOLD",
    "OTB_SUCCESS_BINS",
    "PRECISION_THRESHOLD_PX",
    "Curves",
    "GotScores",
    "SequenceScores",
    "SequenceSpeed",
    "SpeedSummary",
    "as_boxes",
    "attribute_means",
    "auc",
    "center_error",
    "centers",
    "clip_to_image",
    "failed_curves",
    "got_ious",
    "got_scores",
    "gt_mask",
    "iou",
    "mean_curves",
    "norm_precision_curve",
    "norm_precision_thresholds",
    "normalized_center_error",
    "precision_curve",
    "precision_thresholds",
    "score_sequence",
    "sequences_with",
    "sequence_speed",
    "success_curve",
    "success_thresholds",
    "summarize_speed",
    "valid_boxes",
    "valid_times",
    "value_at",
]
