"""Electron and photon showers (triggerml.detector.particles) conserve energy."""

from __future__ import annotations

import numpy as np
import pytest

from triggerml.detector import particles
from triggerml.detector.config import Physics


def test_electron_showers_conserve_energy_in_open_argon() -> None:
    deposits = particles.Deposits()
    rng = np.random.default_rng(8)
    for energy in (0.5, 3.0, 20.0):
        particles.electron(
            rng, np.zeros(3), np.array([0.0, 0.0, 1.0]), energy, Physics(), deposits, 1
        )
        particles.gamma(rng, np.zeros(3), np.array([1.0, 0.0, 0.0]), energy, Physics(), deposits, 2)
    total = deposits.array()[:, 3].sum()
    assert total == pytest.approx(2 * (0.5 + 3.0 + 20.0), rel=1e-9)
