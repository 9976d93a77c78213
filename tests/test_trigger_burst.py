"""The supernova burst trigger (triggerml.trigger.burst): thresholds, reach, pseudo-bursts,
the Milky Way distance model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from triggerml.trigger import burst
from triggerml.trigger.scenario import Burst


def test_burst_threshold_is_the_smallest_count_within_the_fake_rate() -> None:
    config = Burst(window_s=10.0, step_s=1.0, apas_per_module=150)
    cut = burst.burst_threshold(2.0, config)
    b = 2.0 * 150 * 10.0
    assert cut.background_mean == pytest.approx(b)
    trials = burst.SECONDS_PER_MONTH / 1.0
    assert trials * stats.poisson.sf(cut.count - 1, b) <= 1.0
    assert trials * stats.poisson.sf(cut.count - 2, b) > 1.0
    assert cut.fake_bursts_per_month == pytest.approx(trials * stats.poisson.sf(cut.count - 1, b))


def test_reach_falls_with_distance_and_is_certain_close_by() -> None:
    from triggerml.detector.config import DetectorScenario, Supernova

    detector = DetectorScenario(supernova=Supernova(distance_kpc=1.0))
    config = Burst(toys=400, distances_kpc=(1, 10, 100, 1000))
    cut = burst.burst_threshold(5.0, config)
    points = burst.reach(np.array([0, 1, 1, 2, 1, 0]), cut, detector, config, seed=1)
    effs = [p.efficiency for p in points]
    assert effs[0] == 1.0
    assert effs[-1] < 0.05
    assert all(a >= b for a, b in itertools.pairwise(effs))
    with pytest.raises(ValueError, match="supernova"):
        burst.reach(np.zeros(0, np.int64), cut, detector, config, seed=1)
    # module weights: equal ones change nothing; weight on the events without a candidate
    # lowers the reach
    per_event = np.array([0, 1, 1, 2, 1, 0])
    equal = burst.reach(per_event, cut, detector, config, seed=1, weights=np.full(6, 1 / 6))
    assert [p.efficiency for p in equal] == effs
    heavy_zeros = np.where(per_event == 0, 0.45, 0.025)
    lowered = burst.reach(per_event, cut, detector, config, seed=1, weights=heavy_zeros)
    assert lowered[1].efficiency < effs[1] or effs[1] == 0.0
    assert all(a.efficiency <= b + 0.1 for a, b in zip(lowered, effs, strict=True))


def test_burst_efficiency_matches_pseudo_bursts() -> None:
    rng = np.random.default_rng(1)
    p = np.array([0.3, 0.5, 0.15, 0.05])
    for lam, b, k in [(20, 15, 40), (300, 100, 380), (900, 15000, 15700)]:
        toys = 200_000
        signal = sum(j * rng.poisson(lam * p[j], toys) for j in range(1, p.size))
        total = signal + rng.poisson(b, toys)
        sampled = (total >= k).mean()
        exact = burst.burst_efficiency(lam, p, b, k)
        assert exact == pytest.approx(
            sampled, abs=4 * np.sqrt(sampled * (1 - sampled) / toys) + 1e-3
        )


def test_milky_way_distances_have_the_cited_mean_and_spread() -> None:
    """Mirizzi, Raffelt & Serpico 2006 quote 10.7 kpc mean and 4.9 kpc rms."""
    d = burst.milky_way_distances(400_000, seed=3)
    assert d.mean() == pytest.approx(10.7, rel=0.03)
    assert d.std() == pytest.approx(4.9, rel=0.05)
    flat = np.ones(burst.REACH_GRID_KPC.size)
    assert burst.milky_way_efficiency(flat) == pytest.approx(1.0)
    steps = (burst.REACH_GRID_KPC <= 10.0).astype(float)
    assert 0.3 < burst.milky_way_efficiency(steps) < 0.7
    assert burst.reach_kpc(steps, 0.5) == pytest.approx(10.0, rel=0.06)
