"""The supernova-burst trigger of one module: candidates counted in a sliding window.

Simulated APAs are independent streams, so the module's background count in a window is
Poisson with mean b = (background rate per APA) × (APAs per module) × window.  The burst
threshold k is the smallest count with (windows per month) × P(N ≥ k | b) ≤ the target fake
rate, where the window slides by ``step_s`` (month / step trials, counted as independent: a
conservative union bound).  A 1/month rate lies far in the Poisson tail, which is computed,
not sampled — the simulated stream only measures b.

A burst at distance d brings N(d) = N(10 kpc, 40 kt) · (10/d)² · (module mass / 40 kt) ·
(fraction of the burst inside the first window) νe-CC events.  Each event makes 0, 1, 2 …
candidates as measured in the stream; pseudo-bursts draw the event count (Poisson), the
candidates per event (multinomial over the measured distribution, itself drawn from its
Dirichlet posterior so the finite sample's uncertainty is included) and the background
(Poisson), and trigger when the sum reaches k.  Efficiencies carry Clopper–Pearson 68 %
intervals over the pseudo-bursts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from triggerml.detector.config import Scenario
from triggerml.detector.sources import profile_cdf
from triggerml.tpg.efficiency import clopper_pearson
from triggerml.trigger.scenario import Burst

SECONDS_PER_MONTH = 30.44 * 86400


@dataclass(frozen=True)
class BurstThreshold:
    background_mean: float  # candidates per window in the module
    count: int  # k: trigger when the window holds ≥ k candidates
    fake_bursts_per_month: float
    trials_per_month: float


def burst_threshold(rate_hz_per_apa: float, burst: Burst) -> BurstThreshold:
    b = rate_hz_per_apa * burst.apas_per_module * burst.window_s
    trials = SECONDS_PER_MONTH / burst.step_s
    # P(N ≥ k) = sf(k − 1); search upwards from the mean
    k = max(int(np.floor(b)), 0)
    while trials * stats.poisson.sf(k - 1, b) > burst.fake_bursts_per_month:
        k += 1
    return BurstThreshold(b, k, float(trials * stats.poisson.sf(k - 1, b)), trials)


def events_in_window(detector: Scenario, burst: Burst, distance_kpc: float) -> float:
    """Expected νe-CC events of the whole module in the burst's first window."""
    sn = detector.supernova
    # active argon of the module, central and outer APAs each with their own mass
    full = sn.expected_events(detector.module_mass_t(), distance_kpc)
    return full * profile_cdf(sn, burst.window_s)


@dataclass(frozen=True)
class ReachPoint:
    kpc: float
    expected_events: float
    efficiency: float
    lo: float
    hi: float

    def row(self) -> dict[str, float]:
        return {
            "kpc": self.kpc,
            "efficiency": self.efficiency,
            "lo": self.lo,
            "hi": self.hi,
            "expected_events": self.expected_events,
        }


def reach(
    per_event: npt.NDArray[np.int64],
    threshold: BurstThreshold,
    detector: Scenario,
    burst: Burst,
    seed: int,
) -> list[ReachPoint]:
    """Burst-trigger efficiency vs distance from the measured candidates per SN event."""
    if per_event.size == 0:
        raise ValueError(
            "snb_reach needs supernova events in the stream: set detector.supernova.distance_kpc"
        )
    rng = np.random.default_rng(seed)
    histogram = np.bincount(per_event)
    multiplicity = np.arange(histogram.size)
    points = []
    for kpc in burst.distances_kpc:
        mean_events = events_in_window(detector, burst, kpc)
        n_events = rng.poisson(mean_events, burst.toys)
        shares = rng.dirichlet(histogram + 0.5, burst.toys)
        signal = np.array(
            [rng.multinomial(n, p) @ multiplicity for n, p in zip(n_events, shares, strict=True)]
        )
        total = signal + rng.poisson(threshold.background_mean, burst.toys)
        passed = int((total >= threshold.count).sum())
        lo, hi = clopper_pearson(passed, burst.toys)
        points.append(
            ReachPoint(float(kpc), mean_events, passed / burst.toys, float(lo), float(hi))
        )
    return points
