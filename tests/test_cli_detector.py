"""`triggerml simulate`, `show` and `sources`: outputs, one-line errors, nothing left behind."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import run_cli

from triggerml.detector import catalogue
from triggerml.detector.config import (
    DetectorScenario,
)


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
