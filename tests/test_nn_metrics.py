"""Metrics (triggerml.nn.metrics): weights act as duplicated examples."""

from __future__ import annotations

import numpy as np
import pytest


def test_weighted_metrics_equal_the_unweighted_ones_on_duplicated_examples() -> None:
    """A weight of k counts an example k times: the AUC and the threshold at a rejection
    equal those of the dataset with each example repeated k times."""
    from triggerml.nn.metrics import efficiency_at_rejection, roc_auc

    rng = np.random.default_rng(2)
    scores = np.round(rng.normal(0, 1, 400), 1)  # ties included
    labels = rng.random(400) < 0.3
    weights = rng.integers(1, 5, 400)
    repeated = (np.repeat(scores, weights), np.repeat(labels, weights))
    assert roc_auc(scores, labels, weights) == pytest.approx(roc_auc(*repeated), rel=1e-12)
    assert roc_auc(scores, labels, np.ones(400)) == pytest.approx(roc_auc(scores, labels))
    for rejection in (0.5, 0.9, 0.99):
        assert efficiency_at_rejection(scores, labels, rejection, weights) == (
            efficiency_at_rejection(*repeated, rejection)
        )
