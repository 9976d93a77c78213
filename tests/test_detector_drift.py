"""Charge → wire clusters: the numba passes equal the numpy specification exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from triggerml.detector.config import ApaKind, DetectorScenario
from triggerml.detector.drift import CLUSTER_DTYPE, deposits_to_clusters, reference_clusters


def _deposits(n: int, scenario: DetectorScenario, seed: int) -> np.ndarray:
    """Points all over the volume and at its edges: both faces, wire coordinates on a wire
    (an erf argument of exactly 0), past the last wire, U/V wrapping below zero, α and
    charges too small to keep."""
    rng = np.random.default_rng(seed)
    g = scenario.geometry
    drift, height, width = g.drift_length_m * 100, g.height_m * 100, g.width_m * 100
    out = np.zeros((n, 6))
    out[:, 0] = rng.uniform(-drift, drift, n)
    out[:, 1] = rng.uniform(-2, height + 2, n)
    out[:, 2] = rng.uniform(-2, width + 2, n)
    out[:, 3] = 10 ** rng.uniform(-4.5, 0.5, n)  # MeV
    out[:, 4] = rng.integers(0, 40, n)
    out[:, 5] = rng.random(n) < 0.1
    out[:10, 2] = np.arange(10) * g.pitch_x_mm / 10  # on collection wires
    out[30:40, 1:3] = rng.uniform(-2, 3, (10, 2))  # a corner: U/V wires wrap below 0
    out[10:20, 0] = 0.0  # at the wires: no drift, no diffusion (σ floor)
    out[20:30, 0] = rng.choice([-1, 1], 10) * drift  # at the cathodes
    return out


@pytest.mark.parametrize("kind", [ApaKind.CENTRAL, ApaKind.OUTER])
@pytest.mark.parametrize("seed", range(3))
def test_clusters_equal_the_numpy_specification(kind: ApaKind, seed: int) -> None:
    scenario = dataclasses.replace(DetectorScenario(seed=seed), apa_kind=kind)
    deposits = _deposits(3000, scenario, seed)
    ticks = np.random.default_rng(seed).integers(-5000, 10**9, 3000)
    got = deposits_to_clusters(deposits, ticks, scenario)
    want = reference_clusters(deposits, ticks, scenario)
    assert got.dtype == CLUSTER_DTYPE
    assert got.size == want.size
    assert got.tobytes() == want.tobytes()
    assert (got["collection"] == 1).any()
    assert got.size < 15 * deposits.shape[0]  # some shares fell under the cut


def test_no_deposits_no_clusters() -> None:
    scenario = DetectorScenario()
    got = deposits_to_clusters(np.empty((0, 6)), np.empty(0, np.int64), scenario)
    assert got.dtype == CLUSTER_DTYPE
    assert got.size == 0
