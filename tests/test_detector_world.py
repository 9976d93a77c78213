"""The simulated world: module geometry, the background model source by source, γ transport."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from scipy import stats
from scipy.integrate import trapezoid

from triggerml.config import ConfigError, from_mapping
from triggerml.detector import catalogue, particles, photons
from triggerml.detector.catalogue import INDEPENDENT
from triggerml.detector.config import ApaKind, DetectorScenario, Physics, Singles, Supernova
from triggerml.detector.drift import inside, visible_energy_mev
from triggerml.detector.sources import EventGenerator, external_max_mev

QUIET = dict.fromkeys(INDEPENDENT, 0.0)
# NIST XCOM, argon, total attenuation without coherent scattering (cm²/g): 1.0 MeV is a grid
# point; 2.6 MeV is log-log interpolated between the 2.044 and 3.0 MeV grid points.
XCOM_MU_RHO = {1.0: 5.739e-2, 2.6: 3.583e-2}


def scenario_of(kind: ApaKind, **backgrounds: float) -> DetectorScenario:
    return DetectorScenario(
        apa_kind=kind,
        backgrounds=dict(QUIET, **backgrounds),
        singles=Singles(),
        supernova=Supernova(),
    )


def count_in(generator: EventGenerator, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    return generator.window(0, round(seconds / generator.tick_s))


def poisson_ok(count: int, expected: float) -> bool:
    low, high = stats.poisson.interval(0.9999, expected)
    return bool(low <= count <= high)


def test_module_mass_and_apa_kinds() -> None:
    central = DetectorScenario(apa_kind=ApaKind.CENTRAL)
    outer = DetectorScenario(apa_kind=ApaKind.OUTER)
    # two (one) drift volumes of 3.5 × 6.0 × 2.3 m³ at 1.396 t/m³
    assert central.mass_per_apa_t == pytest.approx(2 * 3.5 * 6.0 * 2.3 * 1.396)
    assert outer.mass_per_apa_t == pytest.approx(central.mass_per_apa_t / 2)
    assert central.module_mass_t() == pytest.approx(13_500, rel=0.02)  # ≈13.5 kt active
    assert central.module_mass_t() == pytest.approx(
        50 * central.mass_per_apa_t + 100 * outer.mass_per_apa_t
    )


@pytest.mark.parametrize("kind", list(ApaKind))
def test_decay_counts_follow_activity_times_amount_times_live_time(kind: ApaKind) -> None:
    """Each location's source against its expectation, computed here from the config."""
    sc = scenario_of(kind)
    st = sc.structures
    volumes = 2 if kind is ApaKind.CENTRAL else 1
    volume_kg = 3.5 * 6.0 * 2.3 * 1396.0
    sheet_kg = 600 * 230 * st.cpa_thickness_cm * st.fr4_density_g_cm3 / 1e3
    seconds = 0.2
    cases = {
        "Ar39": (1.01, 1.01 * volumes * volume_kg),
        # 80 % of K-42 ions on the cathode sheets, from both drift volumes beside each sheet
        "K42_cathode": (None, 92e-6 * 0.8 * 2 * volume_kg * volumes),
        # FR4 chain: 9 members in equilibrium + Po-212 (64 %) + Tl-208 (36 %) = 10 decays
        "Th232_cpa": (7.2, 7.2 * sheet_kg * volumes * 10),
        "Co60_apa": (0.137, 0.137 * st.frame_steel_kg),
        "Pb210_pds": (0.2, 0.2 * st.pds_modules * st.pds_module_area_cm2 / 1e4 * 3),
        # photons from the plane above (and, for outer APAs, through the wall side)
        "gamma_cavern": (
            1.05104,
            1.05104
            * (volumes * 350 * 230 + (600 * 230 * st.wall_factor_gamma if volumes == 1 else 0)),
        ),
    }
    for name, (activity, per_second) in cases.items():
        backgrounds = {name: activity} if activity is not None else {"Ar42": 92e-6}
        generator = EventGenerator(
            scenario_of(kind, **backgrounds), np.random.default_rng(7), only={name}
        )
        truth, _ = count_in(generator, seconds)
        expected = per_second * seconds
        assert poisson_ok(generator.emitted[name], expected), (name, generator.emitted, expected)
        if name != "gamma_cavern":  # every decay has a truth row; photons only when they hit
            assert int((truth["kind"] == name.encode()).sum()) == generator.emitted[name]


def test_neutron_captures_follow_the_module_average_rate() -> None:
    sc = scenario_of(ApaKind.CENTRAL, ncapture=2.6996e-7)
    generator = EventGenerator(sc, np.random.default_rng(3), only={"ncapture"})
    seconds = 3000.0
    truth, _ = count_in(generator, seconds)
    surface_cm2 = 2 * (12 * 14 + 12 * 57.5 + 14 * 57.5) * 1e4  # 12 m high, 14 m across, 57.5 m
    expected = 2.6996e-7 * surface_cm2 / (sc.module_mass_t() * 1e3) * sc.mass_per_apa_t * 1e3
    assert poisson_ok(generator.emitted["ncapture"], expected * seconds)
    isotopes = truth["isotope"]
    ar36 = float((isotopes == b"Ar36").mean())
    assert 0.0 < ar36 < 0.1  # ≈2.6 % of thermal captures


@pytest.mark.parametrize("name", [s.name for s in catalogue.SOURCES])
def test_no_source_is_seen_above_its_q_value(name: str) -> None:
    source = catalogue.SOURCE_BY_NAME[name]
    kind = ApaKind.OUTER if name.startswith("gamma") else ApaKind.CENTRAL
    sc = DetectorScenario(apa_kind=kind, singles=Singles(), supernova=Supernova())
    rate = sum(e.rate_hz for e in EventGenerator(sc, np.random.default_rng(0)).emissions
               if e.source.name == name)  # fmt: skip
    generator = EventGenerator(sc, np.random.default_rng(11), only={name})
    truth, deposits = count_in(generator, min(max(300 / rate, 1e-3), 2e4))
    kept = deposits[inside(deposits, sc)]
    first = int(truth["event_id"][0]) if truth.size else 0
    visible = np.bincount(
        kept[:, 4].astype(np.int64) - first,
        weights=visible_energy_mev(kept, sc),
        minlength=truth.size,
    )
    if source.spectrum is not None:
        limits = np.full(truth.size, external_max_mev(source.spectrum))
    elif name == "ncapture":
        limits = np.where(truth["isotope"] == b"Ar40", 6.0989, 8.7912)
    else:
        limits = np.array([catalogue.q_value_mev(i.decode()) for i in truth["isotope"]])
    assert truth.size > 0
    assert np.all(visible <= limits + 1e-9), (name, float((visible - limits).max()))


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
    photon, first = np.unique(births["photon"], return_index=True)
    interacted_within = int((births["x"][first] < 10.0).sum())
    survived = 1 - interacted_within / n
    mu_measured = -np.log(survived) / 10.0
    assert mu_measured == pytest.approx(XCOM_MU_RHO[energy] * 1.396, rel=0.03)
    # and every photon's energy ends up in electrons (no box: nothing escapes)
    assert births["energy_mev"].sum() == pytest.approx(n * energy, rel=1e-9)
    assert photon.size == n


def test_pair_production_appears_above_threshold_only() -> None:
    parts = photons.mass_attenuation(np.array([1.0, 1.5, 5.0, 10.0]))
    assert parts["pair"][0] == 0.0
    assert 0 < parts["pair"][1] < parts["pair"][2] < parts["pair"][3]
    # at 10 MeV pair production is ≈43 % of the attenuation in argon (XCOM)
    total = sum(p[3] for p in parts.values())
    assert parts["pair"][3] / total == pytest.approx(0.43, abs=0.02)


def test_ar41_cascades_reproduce_the_cited_lines_and_sum_to_q() -> None:
    rng = np.random.default_rng(4)
    n = 40_000
    counts: dict[float, int] = {}
    for _ in range(n):
        cascade = catalogue.sample_cascade(rng, catalogue.AR41_LEVELS)
        assert sum(cascade) == pytest.approx(6.0989, abs=1e-9)
        for gamma in cascade:
            key = round(gamma, 3)
            counts[key] = counts.get(key, 0) + 1
    for line, cited in catalogue.AR41_CITED_LINES.items():
        measured = 100 * counts.get(round(line, 3), 0) / n
        assert measured == pytest.approx(cited, rel=0.10), (line, measured, cited)
    for _ in range(2000):
        assert sum(catalogue.sample_cascade(rng, catalogue.AR37_LEVELS)) == pytest.approx(8.7912)


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


def test_outer_apas_see_one_drift_volume_and_the_wall() -> None:
    outer = scenario_of(ApaKind.OUTER, Ar39=1.01, gamma_cavern=1.05104)
    generator = EventGenerator(outer, np.random.default_rng(2))
    truth, deposits = count_in(generator, 0.01)
    kept = deposits[inside(deposits, outer)]
    assert np.all(kept[:, 0] > 0)
    assert np.all(truth["x_cm"][truth["kind"] == b"Ar39"] >= 0)
    planes = {e.plane for e in generator.emissions if e.source.name == "gamma_cavern"}
    assert planes == {"top", "wall"}
    central = EventGenerator(
        scenario_of(ApaKind.CENTRAL, gamma_cavern=1.0), np.random.default_rng(2)
    )
    assert {e.plane for e in central.emissions} == {"top"}


def test_plateout_moves_daughters_between_liquid_and_cathode() -> None:
    base = scenario_of(ApaKind.CENTRAL, Rn222=1e-3)
    rates = {
        e.source.name + e.isotope: e.rate_hz
        for e in EventGenerator(base, np.random.default_rng(0)).emissions
    }
    all_on_cathode = dataclasses.replace(base, plateout={"Bi214": 1.0})
    moved = {
        e.source.name + e.isotope: e.rate_hz
        for e in EventGenerator(all_on_cathode, np.random.default_rng(0)).emissions
    }
    assert "Rn222Bi214" not in moved  # nothing left in the liquid
    volume_kg = base.drift_volume_mass_kg
    assert moved["Rn222_cathodeBi214"] == pytest.approx(1e-3 * 1.0 * 2 * volume_kg * 2)
    assert rates["Rn222Bi214"] == pytest.approx(1e-3 * (1 - 0.672) * 2 * volume_kg)


@pytest.mark.parametrize(
    ("mapping", "fragment"),
    [
        ({"backgrounds": {"Cs137": 1.0}}, "backgrounds.Cs137: unknown source"),
        ({"backgrounds": {"gamma_cavern": -1.0}}, "backgrounds.gamma_cavern: activity must be"),
        ({"plateout": {"K42": -0.1}}, "plateout.K42: fraction must be in"),
        ({"apa_kind": "inner"}, "apa_kind: 'inner' is not one of central, outer"),
    ],
)
def test_bad_world_config_names_the_key(mapping: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        from_mapping(DetectorScenario, mapping)


def test_sources_cli_writes_the_design_keys(tmp_path: Path) -> None:
    out = tmp_path / "sources"
    result = run_cli(
        "sources", "emulation/demo.yaml", "--out", str(out), "--seconds", "0.02", "--events", "40"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "sources.json").read_text())
    assert data["schema_version"] == 1
    assert data["module"]["apas"] == {"central": 50, "outer": 100}
    assert data["module"]["active_mass_t"] == pytest.approx(13_485, rel=1e-3)
    names = [s["name"] for s in data["sources"]]
    assert names == [s.name for s in catalogue.SOURCES]
    for record in data["sources"]:
        assert set(record["rate_hz_per_apa"]) == {"central", "outer"}
        assert set(record["rate_visible_above_mev"]) == {"1", "2", "5", "10"}
    ar39 = data["sources"][names.index("Ar39")]
    assert ar39["rate_hz_per_apa"]["central"] == pytest.approx(1.01 * 134_854, rel=0.02)
    assert (out / "sources.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capture = data["sources"][names.index("ncapture")]
    assert set(capture["by_isotope"]) <= {"Ar40", "Ar36"}
    assert set(data["pileup"]["rate_visible_above_mev"]) == {"1", "2", "5", "10"}
    assert "pile-up" in result.stdout


def test_sources_cli_bad_scenario_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("plateout:\n  Bi214: 1.2\n")
    result = run_cli("sources", str(scenario), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "plateout.Bi214" in result.stderr
    assert not (tmp_path / "out").exists()


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
    from triggerml.detector.config import DetectorScenario

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


def test_singles_in_an_energy_range_are_flat_within_it() -> None:
    from triggerml.detector.config import DetectorScenario, Particle, Singles
    from triggerml.detector.sources import EventGenerator

    scenario = DetectorScenario(
        singles=Singles(
            particle=Particle.ELECTRON, rate_hz=1.0, energies_mev=(2.0,), ranges_mev=((5.0, 10.0),)
        )
    )
    generator = EventGenerator(scenario, np.random.default_rng(1))
    energies = generator._single_energies(scenario.singles, 20_000)
    fixed = energies == 2.0
    assert 0.47 < fixed.mean() < 0.53
    flat = energies[~fixed]
    assert flat.min() >= 5.0
    assert flat.max() <= 10.0
    counts, _ = np.histogram(flat, bins=5, range=(5.0, 10.0))
    assert stats.chisquare(counts).pvalue > 1e-3


def test_an_empty_or_reversed_energy_range_is_refused() -> None:
    from triggerml.config import ConfigError, from_mapping
    from triggerml.detector.config import Singles

    with pytest.raises(ConfigError, match="ranges_mev"):
        from_mapping(Singles, {"rate_hz": 1.0, "ranges_mev": [[10, 5]]})


def test_pile_up_counts_groups_that_only_their_sum_lifts_over_a_threshold() -> None:
    """Ar-39 alone (Q = 0.565 MeV) at 3× its activity: no single decay reaches 1 MeV, so
    every group of coincident decays above 1 MeV is pile-up."""
    from triggerml.detector.survey import quiet, simulate_pileup

    silent = dict.fromkeys(INDEPENDENT, 0.0)
    scenario = quiet(DetectorScenario(backgrounds={**silent, "Ar39": 3 * 1.01}))
    piled = simulate_pileup(scenario, 0.02, seed=3)
    assert piled.visible_mev.size > 0
    assert np.all(piled.largest_mev <= 0.565 + 1e-9)
    above = piled.rate_above(1.0)
    assert above["value"] == pytest.approx((piled.visible_mev >= 1.0).sum() / piled.seconds)
    assert above["value"] > 0
    assert above["lo"] < above["value"] < above["hi"]
