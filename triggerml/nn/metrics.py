"""Classifier metrics without extra dependencies: ROC AUC and efficiency at a rejection."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats


def roc_auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Area under the ROC curve (Mann–Whitney U with tie-averaged ranks)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels) > 0.5
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both signal and background examples")
    ranks = stats.rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def efficiency_at_rejection(
    scores: npt.ArrayLike, labels: npt.ArrayLike, rejection: float
) -> tuple[float, float]:
    """Signal efficiency when the threshold rejects ``rejection`` of the background:
    (efficiency, threshold); a signal passes with score > threshold."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels) > 0.5
    background = np.sort(scores[~labels])
    if background.size == 0:
        raise ValueError("no background examples")
    index = min(int(np.ceil(rejection * background.size)) - 1, background.size - 1)
    threshold = float(background[max(index, 0)])
    return float((scores[labels] > threshold).mean()), threshold
