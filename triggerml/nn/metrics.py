"""Classifier metrics without extra dependencies: ROC AUC and efficiency at a rejection."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats


def roc_auc(
    scores: npt.ArrayLike, labels: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> float:
    """Area under the ROC curve (Mann–Whitney U with tie-averaged ranks); ``weights``: per
    example (importance-sampled datasets), the weighted U."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels) > 0.5
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both signal and background examples")
    if weights is None:
        ranks = stats.rankdata(scores)
        return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    w = np.asarray(weights, dtype=np.float64)
    order = np.argsort(scores[~labels], kind="stable")
    negative, negative_w = scores[~labels][order], w[~labels][order]
    cumulative = np.concatenate([[0.0], np.cumsum(negative_w)])
    below = cumulative[np.searchsorted(negative, scores[labels], side="left")]
    up_to = cumulative[np.searchsorted(negative, scores[labels], side="right")]
    wins = below + 0.5 * (up_to - below)  # ties count half
    return float((w[labels] * wins).sum() / (w[labels].sum() * cumulative[-1]))


def efficiency_at_rejection(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    rejection: float,
    weights: npt.ArrayLike | None = None,
) -> tuple[float, float]:
    """Signal efficiency when the threshold rejects ``rejection`` of the background:
    (efficiency, threshold); a signal passes with score > threshold.  ``weights``: per
    example: both classes counted by weight (importance-sampled datasets)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels) > 0.5
    order = np.argsort(scores[~labels], kind="stable")
    background = scores[~labels][order]
    if background.size == 0:
        raise ValueError("no background examples")
    if weights is None:
        index = min(int(np.ceil(rejection * background.size)) - 1, background.size - 1)
    else:
        cumulative = np.cumsum(np.asarray(weights, dtype=np.float64)[~labels][order])
        index = int(np.searchsorted(cumulative, rejection * cumulative[-1], side="left"))
        index = min(index, background.size - 1)
    threshold = float(background[max(index, 0)])
    passed = scores[labels] > threshold
    if weights is None:
        return float(passed.mean()), threshold
    signal_w = np.asarray(weights, dtype=np.float64)[labels]
    return float(signal_w[passed].sum() / signal_w.sum()), threshold
