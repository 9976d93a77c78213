"""Threshold tuning and fits (triggerml.trigger.analysis)."""

from __future__ import annotations

import numpy as np
import pytest

from triggerml.trigger import analysis


def test_tune_keeps_ties_out_together() -> None:
    values = np.array([1.0, 2.0, 3.0, 3.0, 3.0, 5.0])
    cut = analysis.tune(values, live_seconds=1.0, rate_hz=2.0)
    assert cut.value > 3.0
    assert cut.background_candidates == 1
    loose = analysis.tune(values, live_seconds=1.0, rate_hz=4.0)
    assert loose.value > 2.0
    assert loose.value <= 3.0
    assert loose.background_candidates == 4


def test_erf_fit_recovers_a_known_curve() -> None:
    rng = np.random.default_rng(3)
    energies = np.arange(1.0, 21.0)
    n = np.full(energies.size, 4000)
    k = rng.binomial(n, analysis.erf_curve(energies, 0.95, 7.0, 2.0))
    plateau, mu, sigma = analysis.erf_fit(energies, n, k)  # type: ignore[misc]
    assert plateau == pytest.approx(0.95, abs=0.01)
    assert mu == pytest.approx(7.0, abs=0.1)
    assert sigma == pytest.approx(2.0, abs=0.1)


def test_weighted_tuning_counts_each_kind_by_its_module_share() -> None:
    values = np.array([9.0, 8.0, 7.0, 6.0])
    # two central candidates in 1 s (share 1/3), two outer in 1 s (share 2/3)
    weights = np.array([1 / 3, 2 / 3, 1 / 3, 2 / 3])
    cut = analysis.tune(values, live_seconds=2.0, rate_hz=1.0, weights=weights)
    assert cut.background_candidates == 2  # 1/3 + 2/3 = 1 Hz per APA, module average
    assert cut.rate_hz_per_apa == pytest.approx(1.0)
    assert 7.0 < cut.value <= 8.0
