"""Detector scenarios (triggerml.detector.config): strict keys and one-line errors, nested
YAML, renamed keys read with a warning, the module's mass and APA kinds, energy ranges."""

from __future__ import annotations

from pathlib import Path

import pytest

from triggerml.config import ConfigError, from_mapping
from triggerml.detector.config import (
    ApaKind,
    Conditions,
    DetectorScenario,
    Singles,
    load_scenario,
)


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


def test_an_empty_or_reversed_energy_range_is_refused() -> None:
    from triggerml.config import ConfigError, from_mapping

    with pytest.raises(ConfigError, match="ranges_mev"):
        from_mapping(Singles, {"rate_hz": 1.0, "ranges_mev": [[10, 5]]})


@pytest.mark.parametrize(
    ("mapping", "fragment"),
    [
        ({"sedd": 1}, "unknown config key 'sedd'"),
        ({"readout": {"adc_bitz": 12}}, "unknown config key 'readout.adc_bitz'"),
        ({"backgrounds": {"Ar39": -1.0}}, "backgrounds.Ar39: activity must be a non-negative"),
        ({"backgrounds": {"Xe135": 1.0}}, "backgrounds.Xe135: unknown source"),
        ({"backgrounds": {"K42_cathode": 1.0}}, "backgrounds.K42_cathode: derived from Ar42"),
        ({"plateout": {"Bi214": 1.5}}, "plateout.Bi214: fraction must be in .0, 1., got 1.5"),
        ({"plateout": {"Cs137": 0.5}}, "plateout.Cs137: unknown"),
        ({"apa_kind": "middle"}, "apa_kind: 'middle' is not one of central, outer"),
        ({"structures": {"wall_factor_gamma": 2}}, "structures.wall_factor_gamma"),
        ({"supernova": {"distance_kpc": -3}}, "supernova.distance_kpc: must be positive"),
        ({"slice_ticks": 100}, "slice_ticks: must be a positive multiple of 64"),
        ({"slice_ticks": 1 << 17}, "slice_ticks: must be at most 65536"),
        ({"readout": {"adc_bits": 20}}, "readout.adc_bits"),
        ({"seconds": "long"}, "seconds must be a number"),
        ({"supernova": {"time_profile": "gaussian"}}, "not one of flat, exponential"),
        ({"conditions": {"dead_channels": [5000]}}, "conditions.dead_channels"),
    ],
)
def test_bad_scenarios_name_the_key(mapping: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        from_mapping(DetectorScenario, mapping)


def test_scenario_yaml_loads_nested_values(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("seed: 9\nreadout:\n  adc_bits: 12\nsupernova:\n  distance_kpc: 5\n")
    scenario = load_scenario(str(path))
    assert scenario.seed == 9
    assert scenario.readout.adc_bits == 12
    assert scenario.readout.adc_max == 4095
    assert scenario.supernova.distance_kpc == 5.0
    assert scenario.geometry.n_channels == 2560


def test_renamed_noise_keys_still_read_with_a_warning() -> None:
    """The coherent-noise keys were burst_* (read as supernova bursts): the old spelling
    still loads, with a DeprecationWarning naming the new key; both at once is an error."""
    from triggerml.config import ConfigError, from_mapping

    with pytest.warns(DeprecationWarning, match="'conditions.burst_rate_hz' is now"):
        old = from_mapping(Conditions, {"burst_rate_hz": 2.0}, "conditions")
    assert old == Conditions(coherent_noise_rate_hz=2.0)
    with pytest.raises(ConfigError, match="both given"):
        from_mapping(Conditions, {"burst_rate_hz": 2.0, "coherent_noise_rate_hz": 1.0})
