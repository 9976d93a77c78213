"""DetectorScenario configs (strict keys, clear errors), conditions, and the simulate/show CLI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from triggerml.config import ConfigError, from_mapping
from triggerml.detector.catalogue import INDEPENDENT
from triggerml.detector.config import Conditions, DetectorScenario, Readout, load_scenario
from triggerml.detector.stream import ApaStream

QUIET = dict.fromkeys(INDEPENDENT, 0.0)


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


def test_conditions_change_the_data() -> None:
    conditions = Conditions(
        dead_channels=(10, 11),
        noisy_channels=(1700,),
        noisy_factor=4.0,
        stuck_bit_channels=(1800,),
        stuck_fraction=0.5,
        pedestal_drift_adc_per_s=2000.0,
    )
    readout = Readout(pedestal_spread_adc_12bit=0.0)
    scenario = DetectorScenario(
        seconds=0.01, backgrounds=dict(QUIET), readout=readout, conditions=conditions
    )
    stream = ApaStream(scenario)
    first = stream.next_slice()
    for _ in range(3):
        last = stream.next_slice()
    adc = first.adc
    assert np.all(adc[10] == stream.pedestals[10])
    assert np.all(adc[11] == stream.pedestals[11])
    normal = adc[1701].std()
    assert adc[1700].std() == pytest.approx(4.0 * normal, rel=0.15)
    stuck = (adc[1800] & 0x3F) == 0x3F
    assert 0.45 < stuck.mean() < 0.6  # half forced, plus 1/64 by chance
    drift = np.median(last.adc[2000]) - np.median(adc[2000])
    seconds = (last.start_tick - first.start_tick) * readout.tick_ns * 1e-9
    assert drift == pytest.approx(2000.0 * seconds, abs=3)


def test_renamed_noise_keys_still_read_with_a_warning() -> None:
    """The coherent-noise keys were burst_* (read as supernova bursts): the old spelling
    still loads, with a DeprecationWarning naming the new key; both at once is an error."""
    from triggerml.config import ConfigError, from_mapping

    with pytest.warns(DeprecationWarning, match="'conditions.burst_rate_hz' is now"):
        old = from_mapping(Conditions, {"burst_rate_hz": 2.0}, "conditions")
    assert old == Conditions(coherent_noise_rate_hz=2.0)
    with pytest.raises(ConfigError, match="both given"):
        from_mapping(Conditions, {"burst_rate_hz": 2.0, "coherent_noise_rate_hz": 1.0})


def test_coherent_bursts_hit_one_group() -> None:
    conditions = Conditions(coherent_noise_rate_hz=2000.0, coherent_noise_amplitude_adc=400.0)
    readout = Readout(pedestal_spread_adc_12bit=0.0)
    scenario = DetectorScenario(
        seconds=0.01, backgrounds=dict(QUIET), readout=readout, conditions=conditions
    )
    stream = ApaStream(scenario)
    adc = stream.next_slice().adc.astype(int) - stream.pedestals[:, None]
    loud = np.flatnonzero(np.abs(adc).max(axis=1) > 250)
    assert loud.size >= 64
    assert all(
        np.isin(np.arange(g * 64, g * 64 + 64), loud).mean() > 0.9 for g in np.unique(loud // 64)
    )


def test_simulate_and_show_cli(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("seed: 4\nsupernova:\n  distance_kpc: 1.0\n  duration_s: 0.02\n")
    out = tmp_path / "run.h5"
    result = run_cli("simulate", str(scenario), "--out", str(out), "--seconds", "0.005")
    assert result.returncode == 0, result.stderr
    assert out.exists()
    assert "3 slices" in result.stdout
    png = tmp_path / "slice.png"
    result = run_cli("show", str(out), "--slice", "1", "--out", str(png))
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = run_cli("show", str(out), "--slice", "9")
    assert result.returncode == 2  # a usage error (issue #16.6)
    assert "out of range" in result.stderr


def test_simulate_bad_config_is_one_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("backgrounds:\n  Ar39: -2\n")
    result = run_cli("simulate", str(scenario), "--out", str(tmp_path / "x.h5"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "backgrounds.Ar39" in result.stderr
    assert not (tmp_path / "x.h5").exists()


def test_failed_simulation_leaves_no_file(tmp_path: Path) -> None:
    from triggerml.detector.simulate import simulate_to_file

    out = tmp_path / "partial.h5"

    def explode(index: int) -> None:
        if index == 1:
            raise RuntimeError("stop")

    scenario = dataclasses.replace(DetectorScenario(), seconds=0.01)
    with pytest.raises(RuntimeError):
        simulate_to_file(scenario, out, on_slice=explode)
    assert list(tmp_path.iterdir()) == []


def test_missing_files_and_folders_are_named_before_any_work(tmp_path: Path) -> None:
    """Issue #16.7: `show` of a missing file, `simulate --out` an existing folder."""
    result = run_cli("show", str(tmp_path / "nope.h5"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "nope.h5 not found" in lines[0]
    assert "corrupt" not in lines[0]
    (tmp_path / "out").mkdir()
    result = run_cli("simulate", "emulation/demo.yaml", "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert "is a folder" in result.stderr
    assert list((tmp_path / "out").iterdir()) == []
