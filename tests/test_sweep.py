"""The design-space sweep: Pareto selection, spec checks before any work, and a small sweep end
to end (exact builds, figures equal to a study's on the same stream, resumable, repeatable)."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import REPO, run_cli
from triggerml.sweep import pareto
from triggerml.sweep.spec import Point, SweepError, load_spec, point_config, valid_reuse_factor

MODEL = REPO / "models" / "tpmlphn.yaml"
WEIGHTS = REPO / "models" / "tpmlphn.h5"


# --- the front -----------------------------------------------------------------------------
def test_front_on_a_hand_made_table() -> None:
    # cost, value: the front walks up in cost keeping strictly better values
    cost = [10, 20, 20, 30, 40, 5, 50, np.nan, 60]
    value = [0.5, 0.7, 0.6, 0.65, 0.9, 0.4, 0.9, 0.99, np.nan]
    on = pareto.front(cost, value)
    assert on.tolist() == [True, True, False, False, True, True, False, False, False]
    # ties: equal cost and value keep the first listed only, or the lower tie-break
    assert pareto.front([1, 1], [0.5, 0.5]).tolist() == [True, False]
    assert pareto.front([0, 0, 0], [0.5, 0.5, 0.4], [300, 200, 100]).tolist() == [
        False,
        True,
        False,
    ]
    # the front is monotone: sorted by cost, its values rise strictly
    rng = np.random.default_rng(3)
    for _ in range(50):
        c, v = rng.integers(0, 8, 30).astype(float), rng.integers(0, 8, 30) / 8
        mask = pareto.front(c, v)
        order = np.argsort(c[mask], kind="stable")
        assert np.all(np.diff(c[mask][order]) > 0)
        assert np.all(np.diff(v[mask][order]) > 0)
        # and every point off it is matched or beaten by one on it
        for i in np.flatnonzero(~mask):
            assert np.any(mask & (c <= c[i]) & (v >= v[i]))


def test_reuse_factor_rule_is_hls4mls() -> None:
    from hls4ml.backends import get_backend

    backend = get_backend("Vitis")
    for n_in, n_out in ((8, 16), (16, 8), (8, 1), (96, 4), (9, 3)):
        ours = [r for r in range(1, n_in * n_out + 1) if valid_reuse_factor(n_in, n_out, r)]
        assert ours == backend.get_valid_reuse_factors(n_in, n_out)


def test_a_built_dataset_is_used_where_it_is(tmp_path: Path) -> None:
    """A spec naming a built dataset (.h5) fine-tunes on that file; a dataset config is
    built into the sweep folder (the first tpmlpuvxb sweep looked for the .h5 there)."""
    spec = load_spec(_spec(tmp_path))
    assert spec.dataset_file(tmp_path / "out") == tmp_path / "out" / "dataset.h5"
    built = dataclasses.replace(spec, dataset="results/datasets/hn4.h5")
    assert built.dataset_file(tmp_path / "out") == Path("results/datasets/hn4.h5")


def test_point_config_sets_bits() -> None:
    from triggerml.nn.zoo import load_model_config

    config = point_config(load_model_config(MODEL), Point(3, 4, 1, "latency", "io_parallel"))
    specs = config.layer_specs()
    assert [s.bits for s in specs] == [3, 4, 3, 4, 3]
    assert all(s.integer <= 3 for s in specs if s.type.value == "relu")


@pytest.mark.parametrize(
    "path", sorted((REPO / "emulation").glob("sweep_*.yaml")), ids=lambda p: p.stem
)
def test_shipped_sweep_specs_load(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from triggerml.sweep.run import _resolved
    from triggerml.sweep.spec import check

    if "axes" not in yaml.safe_load(path.read_text()):
        pytest.skip("a sweep's validation stream: a study scenario (test_trigger_scenario.py)")
    monkeypatch.chdir(REPO)
    spec = load_spec(path)
    assert len(spec.points()) >= 12
    resolved = _resolved(spec, REPO / "results" / "unused")
    shapes = [tuple(roi.shape) for roi in resolved.chain.inputs]
    if Path(spec.dataset).is_file():  # hn4.h5 is made, not shipped
        check(spec, shapes)


# --- bad specs: one line before any work ------------------------------------------------------
def _spec(tmp_path: Path, **changes: object) -> Path:
    spec = {
        "name": "tiny",
        "model": str(MODEL),
        "weights": str(WEIGHTS),
        "dataset": str(tmp_path / "ds.yaml"),
        "validation": str(tmp_path / "stream.yaml"),
        "finetune_epochs": 1,
        "csim_events": 200,
        "axes": {"weight_bits": [4, 8], "reuse_factor": [1]},
    }
    spec.update(changes)
    dataset = yaml.safe_load((REPO / "models" / "dataset_sweep.yaml").read_text())
    dataset["apas"] = 1
    dataset["detector"]["seconds"] = 1.0
    (tmp_path / "ds.yaml").write_text(yaml.safe_dump(dataset))
    stream = yaml.safe_load((REPO / "emulation" / "sweep_demo_stream.yaml").read_text())
    stream.update(apas=1, chunk_slices=40)
    stream["detector"]["seconds"] = 1.0
    (tmp_path / "stream.yaml").write_text(yaml.safe_dump(stream))
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"axes": {"clock_bits": [4]}}, "unknown config key 'axes.clock_bits'"),
        ({"axes": {"weight_bits": [1, 4]}}, "bits must be in 2..16 (got 1)"),
        ({"axes": {"reuse_factor": [3]}}, "reuse_factor: 3 does not divide layer"),
        ({"part": "xc7z020clg400-1"}, "part: xc7z020clg400-1 is not in the shipped part table"),
        ({"axes": {"strategy": ["distributed_arithmetic"]}}, "distributed_arithmetic is not"),
        ({"weights": "/nonexistent.h5"}, "weights: /nonexistent.h5 not found"),
    ],
)
def test_bad_spec_is_one_line_before_work(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    spec = _spec(tmp_path, **change)
    out = tmp_path / "out"
    result = run_cli("sweep", str(spec), "--out", str(out))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()  # refused before any work


def test_synth_without_a_tool_exits_3_before_work(tmp_path: Path, no_xilinx_env: dict) -> None:
    spec = _spec(tmp_path, synth=True)
    result = run_cli("sweep", str(spec), "--out", str(tmp_path / "out"), env=no_xilinx_env)
    assert result.returncode == 3, result.stderr
    assert "no HLS tool found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_cost_from_synthesis_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``synth: true`` a point's cost is the HLS report's, labelled as such."""
    from tests.test_compile_synth import FIXTURES, env_with, fake_tool
    from triggerml.compile.synth import parse_csynth
    from triggerml.sweep.point import cost

    build = tmp_path / "build"
    (build / "hls_project").mkdir(parents=True)
    (build / "hls_project" / "build_prj.tcl").write_text("# hls4ml build script\n")
    manifest = {"hls_project": "hls_project"}
    (build / "manifest.json").write_text(json.dumps(manifest))
    for key, value in env_with(fake_tool(tmp_path)).items():
        monkeypatch.setenv(key, value)
    got = cost(build, manifest, synthesize=True)
    expected = parse_csynth(FIXTURES / "csynth_vitis.xml")
    assert got["cost"]["source"] == "synthesis"
    for name in ("LUT", "FF", "DSP", "BRAM_18K"):
        assert got["cost"][name] == expected["resources"][name]["used"]
    assert got["latency_cycles"] == expected["latency_cycles"]["worst"]
    assert got["interval_cycles"] == expected["interval_cycles"]["max"]


# --- a small sweep end to end ---------------------------------------------------------------
def test_small_sweep_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """2 points on tpmlphn: exact builds, DESIGN's keys, a front, figures equal to the study's
    on the same stream, resumable without redoing points, the same table when redone."""
    from triggerml.emulator import load_emulator
    from triggerml.sweep.run import run_sweep
    from triggerml.trigger.study import run_study

    monkeypatch.chdir(REPO)
    spec_path = _spec(tmp_path)
    out = tmp_path / "sweep"
    phases: set[str] = set()
    summary = run_sweep(spec_path, out, on_progress=lambda phase, d, t: phases.add(phase))
    assert phases == {"dataset", "base build", "validation stream", "points"}
    assert summary["schema_version"] == 1
    assert summary["model"] == str(MODEL)
    rows = summary["points"]
    assert [r["key"] for r in rows] == [
        "w4_a8_rf1_latency_parallel",
        "w8_a8_rf1_latency_parallel",
    ]
    for row in rows:
        for key in (
            "weight_bits",
            "activation_bits",
            "reuse_factor",
            "strategy",
            "io_type",
            "rate_hz_per_apa",
            "latency_cycles",
            "interval_cycles",
            "pareto",
        ):
            assert key in row
        assert row["csim_mismatches"] == 0
        assert row["emulator_mismatches"] == 0
        assert row["csim_events"] == 200
        assert row["cost"]["source"] == "estimate"
        assert set(row["efficiency"]) == {"electron_5_10_mev", "sn_nue_cc"}
        for cell in row["efficiency"].values():
            assert 0 <= cell["lo"] <= cell["value"] <= cell["hi"] <= 1
    # 4-bit weights cost fewer LUTs than 8-bit ones: both on the LUT front unless dominated
    w4, w8 = rows
    assert w4["cost"]["LUT"] < w8["cost"]["LUT"]
    value = [pareto.value_of(r, "electron_5_10_mev") for r in rows]
    assert w4["pareto"] is True
    assert w8["pareto"] is (value[1] > value[0])
    with open(out / "sweep.csv") as handle:
        table = list(csv.DictReader(handle))
    assert [t["key"] for t in table] == [r["key"] for r in rows]
    assert int(table[0]["LUT"]) == w4["cost"]["LUT"]
    for name in ("front_lut.png", "front_dsp.png", "front_latency.png", "report.md"):
        assert (out / name).stat().st_size > 0
    documented = (REPO / "docs" / "sweep_output.md").read_text()
    for key in [*summary, *rows[0]]:
        assert f"`{key}`" in documented, f"sweep.json key {key} is not in docs/sweep_output.md"
    report = (out / "report.md").read_text()
    assert "w4_a8_rf1_latency_parallel" in report
    assert "APA-s" in report

    # the base build's ML figure, from re-scored recorded inputs, equals a study's of the
    # same firmware on the same stream (the stream, tasks and counting are the study's)
    study = tmp_path / "study"
    scenario_path = tmp_path / "stream.yaml"
    from triggerml.trigger.scenario import load_study

    scenario = dataclasses.replace(
        load_study(scenario_path), model=str(MODEL), firmware=str(out / "base")
    )
    studied = run_study(scenario, study)
    at_rate = {
        r["signal"]: r for r in studied["efficiency_at_rate"]["ml"] if r["rate_hz_per_apa"] == 1.0
    }
    from triggerml.sweep.run import load_stream

    stream = load_stream(str(spec_path), out / "validation")
    recorded = stream.figures(None, 1.0)
    rescored = stream.figures(load_emulator(out / "base"), 1.0)
    assert recorded == rescored
    sn = recorded["ml"]["efficiency"]["sn_nue_cc"]
    assert sn["value"] == at_rate["sn_nue_cc"]["efficiency"]
    assert (sn["lo"], sn["hi"]) == (at_rate["sn_nue_cc"]["lo"], at_rate["sn_nue_cc"]["hi"])
    assert summary["reference"]["efficiency"] == recorded["ml"]["efficiency"]

    # resumed: nothing is redone; a lost point is redone with the same figures and cost
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "points").glob("*.json")}
    again = run_sweep(spec_path, out)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "points").glob("*.json")} == stamps
    lost = out / "points" / "w4_a8_rf1_latency_parallel.json"
    lost.unlink()
    redone = run_sweep(spec_path, out)

    def table_of(s: dict) -> list:
        return [
            (r["key"], r["efficiency"], r["cost"], r["latency_cycles"], r["pareto_by"])
            for r in s["points"]
        ]

    assert table_of(again) == table_of(summary) == table_of(redone)
    # a changed spec is refused in the same folder
    changed = _spec(tmp_path, finetune_epochs=2)
    with pytest.raises(SweepError, match="holds a different sweep"):
        run_sweep(changed, out)
    assert math.isfinite(summary["adc_sum"]["efficiency"]["electron_5_10_mev"]["value"])
    assert json.loads((out / "sweep.json").read_text())["choices"]["best"] in {
        r["key"] for r in rows
    }
    assert load_spec(spec_path).points()[0].key == rows[0]["key"]
