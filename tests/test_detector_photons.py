"""γ transport (triggerml.detector.photons): attenuation as NIST XCOM, pair production
above its threshold only."""

from __future__ import annotations

import numpy as np
import pytest

from triggerml.detector import photons

# NIST XCOM, argon, total attenuation without coherent scattering (cm²/g): 1.0 MeV is a grid
# point; 2.6 MeV is log-log interpolated between the 2.044 and 3.0 MeV grid points.
XCOM_MU_RHO = {1.0: 5.739e-2, 2.6: 3.583e-2}


@pytest.mark.parametrize("energy", sorted(XCOM_MU_RHO))
def test_gamma_attenuation_follows_xcom(energy: float) -> None:
    """Photons along +x from the origin: the fraction with no interaction within 10 cm is
    exp(−μx) with μ from XCOM (3 %)."""
    n = 200_000
    births = photons.transport(
        np.random.default_rng(int(energy * 10)),
        np.zeros((n, 3)),
        np.tile([1.0, 0.0, 0.0], (n, 1)),
        np.full(n, energy),
        1.396,
    )
    photon, first = np.unique(births.photon, return_index=True)
    interacted_within = int((births.xyz[first, 0] < 10.0).sum())
    survived = 1 - interacted_within / n
    mu_measured = -np.log(survived) / 10.0
    assert mu_measured == pytest.approx(XCOM_MU_RHO[energy] * 1.396, rel=0.03)
    # and every photon's energy ends up in electrons (no box: nothing escapes)
    assert births.energy_mev.sum() == pytest.approx(n * energy, rel=1e-9)
    assert photon.size == n


def test_pair_production_appears_above_threshold_only() -> None:
    parts = photons.mass_attenuation(np.array([1.0, 1.5, 5.0, 10.0]))
    assert parts["pair"][0] == 0.0
    assert 0 < parts["pair"][1] < parts["pair"][2] < parts["pair"][3]
    # at 10 MeV pair production is ≈43 % of the attenuation in argon (XCOM)
    total = sum(p[3] for p in parts.values())
    assert parts["pair"][3] / total == pytest.approx(0.43, abs=0.02)
