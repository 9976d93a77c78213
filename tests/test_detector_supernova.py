"""Supernova νe-CC events (triggerml.detector.supernova): counts from flux, cross section
and nuclei, the cited module figure, 1/d², the level scheme, electron energies."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from detector_support import quiet_scenario
from scipy import stats
from scipy.integrate import trapezoid

from triggerml.detector.config import (
    DetectorScenario,
    Supernova,
    TimeProfile,
)
from triggerml.detector.sources import EventGenerator


def test_supernova_counts_come_from_flux_cross_section_and_nuclei() -> None:
    from triggerml.detector import supernova

    # SNOwGLoBES xs_nue_Ar40.dat at log10(E/GeV) = -1.699513 (20.02 MeV): σ/E = 0.2452e-38
    assert supernova.cross_section_cm2(20.02) == pytest.approx(0.2452e-38 * 0.02002, rel=0.01)
    assert supernova.cross_section_cm2(2.9) == 0.0  # below threshold
    sn = Supernova(distance_kpc=10.0)
    per_tonne = sn.expected_events(1.0)
    # ε / ⟨E⟩ neutrinos over 4πd², × ⟨σ⟩ over the spectrum, × argon nuclei per tonne
    grid = np.linspace(1e-3, 100.0, 40_000)
    fluence = (
        sn.total_energy_erg
        / (sn.mean_energy_mev * 1.602176634e-6)
        / (4 * np.pi * (10 * 3.0856776e21) ** 2)
    )
    shape = supernova.fluence_per_mev(sn, grid, 10.0) / fluence
    assert trapezoid(shape, grid) == pytest.approx(1.0, rel=1e-3)  # a normalized spectrum
    assert trapezoid(shape * grid, grid) == pytest.approx(sn.mean_energy_mev, rel=1e-3)
    sigma_mean = trapezoid(shape * supernova.cross_section_cm2(grid), grid)
    assert per_tonne == pytest.approx(fluence * sigma_mean * 1e6 / 39.948 * 6.02214076e23, rel=2e-3)
    doubled = dataclasses.replace(sn, total_energy_erg=2 * sn.total_energy_erg)
    assert doubled.expected_events(1.0) == pytest.approx(2 * per_tonne)
    assert sn.expected_events(1.0, 20.0) == pytest.approx(per_tonne / 4)


def test_supernova_count_per_module_is_within_20_percent_of_the_cited_figure() -> None:
    from triggerml.detector import supernova

    scenario = DetectorScenario()
    module_t = scenario.module_mass_t()
    expected = Supernova(distance_kpc=10.0).expected_events(module_t)
    cited = supernova.CITED_EVENTS_40KT_10KPC * module_t / 40_000.0
    assert abs(expected / cited - 1.0) < 0.20, (expected, cited)


def test_supernova_final_states_follow_the_level_scheme() -> None:
    from triggerml.detector import supernova

    rng = np.random.default_rng(5)
    nu = np.full(3000, 30.0)
    electrons, cascades = supernova.sample_final_states(rng, nu)
    levels = nu - supernova.Q_GROUND_MEV - electrons
    for level, cascade in zip(levels, cascades, strict=True):
        assert sum(cascade) == pytest.approx(level, abs=1e-9)
    ias = np.isclose(levels, 4.3837)
    assert 0.2 < ias.mean() < 0.6  # the Fermi transition carries B = 4 of ≈10.4
    ias_lines = [round(g, 3) for c, is_ias in zip(cascades, ias, strict=True) if is_ias for g in c]
    assert {1.653, 2.094} <= set(ias_lines)  # the IAS's two γ branches (ENSDF)
    assert supernova.level_weights(5.0)[-1] == 0.0  # 6.118 MeV level closed at 5 MeV


def test_supernova_counts_scale_as_inverse_distance_squared() -> None:
    counts = {}
    for distance in (2.0, 4.0):
        sn = Supernova(distance_kpc=distance, duration_s=0.01, time_profile=TimeProfile.FLAT)
        scenario = quiet_scenario(supernova=sn)
        expected = sn.expected_events(scenario.mass_per_apa_t)
        at_10 = sn.expected_events(scenario.mass_per_apa_t, 10.0)
        assert expected == pytest.approx(at_10 * (10 / distance) ** 2)
        generator = EventGenerator(scenario, np.random.default_rng(int(distance)))
        ticks = int(0.01 / (scenario.readout.tick_ns * 1e-9))
        truth, _ = generator.window(0, ticks)
        counts[distance] = int((truth["kind"] == b"snb_nue").sum())
        low, high = stats.poisson.interval(0.9999, expected)
        assert low <= counts[distance] <= high, (distance, counts[distance], expected)
    assert counts[2.0] > 2.5 * counts[4.0]


def test_supernova_electrons_carry_energy_minus_threshold() -> None:
    sn = Supernova(distance_kpc=3.0, duration_s=0.005)
    scenario = quiet_scenario(supernova=sn)
    truth, deposits = EventGenerator(scenario, np.random.default_rng(2)).window(0, 10_000)
    nue = truth[truth["kind"] == b"snb_nue"]
    assert nue.size > 10
    from triggerml.detector.supernova import CC_LEVELS, Q_GROUND_MEV

    levels = nue["neutrino_energy_mev"] - Q_GROUND_MEV - nue["true_energy_mev"]
    known = np.array([level for level, _ in CC_LEVELS])
    assert np.all(np.min(np.abs(levels[:, None] - known[None, :]), axis=1) < 1e-9)
    assert np.all(nue["true_energy_mev"] > 0)
    assert deposits.shape[0] > nue.size  # tracks and γ blips, not single points
