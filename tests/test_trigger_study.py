"""The streaming study (triggerml.trigger.study, execute, report): the summary and its
schema, resuming, refusing another study's folder, warnings, exposure bookkeeping."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from trigger_support import (
    DESIGN_KEYS,
    REPO,
    TRIGGERS,
    scenario_file,
    stable,
)

from triggerml.trigger.scenario import load_study, resolve
from triggerml.trigger.study import StudyError, run_study


def test_summary_has_the_design_keys_for_both_triggers(tiny_study: tuple[Path, dict]) -> None:
    tmp, summary = tiny_study
    assert summary["schema_version"] == 2
    assert set(summary) >= DESIGN_KEYS
    for key in DESIGN_KEYS - {"stream", "warnings", "apa_seconds"}:
        assert set(summary[key]) == TRIGGERS, key
    assert set(summary["stream"]) >= {"samples_per_s", "fraction_of_real_time"}
    assert summary["stream"]["samples_per_s"] > 0
    for trigger, rows in summary["efficiency_vs_distance"].items():
        assert [r["kpc"] for r in rows] == [1, 10, 50]
        for row in rows:
            assert row["lo"] <= row["efficiency"] <= row["hi"]
        window = summary["background_per_window"][trigger]
        assert window["lo"] <= window["mean"] <= window["hi"]
        # the threshold comes from the interval's top: the bound holds, the mean does better
        assert summary["fake_bursts_per_month_bound"][trigger] <= 1.0
        assert (
            summary["fake_bursts_per_month"][trigger]
            <= summary["fake_bursts_per_month_bound"][trigger]
        )
        reach = summary["reach_kpc"][trigger]
        assert reach["eff50"] is None or reach["eff90"] is None or reach["eff90"] <= reach["eff50"]
        assert 0.0 <= summary["lmc_efficiency"][trigger] <= summary["milky_way_efficiency"][trigger]
        rates = {r["rate_hz_per_apa"] for r in summary["efficiency_at_rate"][trigger]}
        assert rates == {0.1, 1.0, 10.0}
        for row in summary["rate_at_90pct_hz_per_apa"][trigger].values():
            if row.get("value") is not None:  # every passing background, by its source
                assert sum(row["background_sources"].values()) == row["count"]
        for row in summary["efficiency_at_rate"][trigger]:
            if row["efficiency"] is not None:
                assert row["lo"] <= row["efficiency"] <= row["hi"]
    written = json.loads((tmp / "out" / "summary.json").read_text())
    assert stable(written) == stable(json.loads(json.dumps(summary, default=str)))
    for name in summary["plots"].values():
        assert (tmp / "out" / name).read_bytes()[:4] == b"\x89PNG"
    report = (tmp / "out" / "report.md").read_text()
    assert "E50" in report
    assert "fake bursts" in report
    # the firmware budget states the build's estimate per APA against the part, labelled
    assert summary["firmware"]["source"].startswith("estimate (not synthesized")
    lut = summary["firmware"]["resources_per_apa"]["LUT"]["used"]
    assert f"Resources per APA: LUT {lut}" in report


def test_e50_values_are_the_fit_crossing_and_the_points_carry_their_intervals(
    tiny_study: tuple[Path, dict],
) -> None:
    """The single-electron scan: each listed energy's efficiency is found / events with its
    Clopper-Pearson interval, and E50 is where the fitted erf crosses 50 %."""
    from scipy import stats

    from triggerml.trigger.analysis import erf_curve

    _, summary = tiny_study
    crossings = 0
    for trigger in TRIGGERS:
        rows = summary["efficiency_vs_energy"][trigger]
        assert [r["energy_mev"] for r in rows] == [1.0, 3.0, 6.0, 10.0, 20.0]
        for r in rows:
            n, k = r["events"], r["found"]
            assert n > 0
            assert 0 <= k <= n
            assert r["efficiency"] == pytest.approx(k / n)
            lo = 0.0 if k == 0 else stats.beta.ppf(0.16, k, n - k + 1)  # 68 % central
            hi = 1.0 if k == n else stats.beta.ppf(0.84, k + 1, n - k)
            assert (r["lo"], r["hi"]) == pytest.approx((lo, hi), rel=1e-12)
        fit, e50 = summary["erf_fit"][trigger], summary["e50_mev"][trigger]
        assert fit is not None  # five energies: the fit runs
        if e50 is None:
            assert fit["plateau"] <= 0.5
            continue
        crossings += 1
        at_e50 = erf_curve(e50, fit["plateau"], fit["mean_mev"], fit["sigma_mev"])
        assert float(at_e50) == pytest.approx(0.5, abs=1e-9)
    assert crossings >= 1  # 1-20 MeV electrons: at least one trigger crosses 50 %


def test_every_summary_key_is_documented(tiny_study: tuple[Path, dict]) -> None:
    _, summary = tiny_study
    documented = (REPO / "docs" / "summary.md").read_text()
    for key in summary:
        assert f"`{key}`" in documented, key


def test_killed_study_resumes_to_the_same_summary(
    tiny_study: tuple[Path, dict], firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    _, full = tiny_study
    scenario = load_study(scenario_file(tmp_path, firmware))

    class Killed(Exception):
        pass

    def kill_after_first(done: int, total: int) -> None:
        if done == 1:
            raise Killed

    with pytest.raises(Killed):
        run_study(scenario, tmp_path / "out", on_progress=kill_after_first)
    assert not (tmp_path / "out" / "summary.json").exists()
    finished = list((tmp_path / "out" / "tasks").glob("*.npz"))
    assert len(finished) == 1
    resumed = run_study(scenario, tmp_path / "out")
    assert stable(json.loads(json.dumps(resumed, default=str))) == stable(
        json.loads(json.dumps(full, default=str))
    )


def test_a_folder_of_another_study_is_refused(
    tiny_study: tuple[Path, dict], firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    tmp, _ = tiny_study
    shutil.copytree(tmp / "out", tmp_path / "out")
    other = load_study(scenario_file(tmp_path, firmware, seed=6))
    with pytest.raises(StudyError, match="different study"):
        run_study(other, tmp_path / "out")


def test_missing_firmware_is_a_clear_error(tmp_path: Path, monkeypatch_module: None) -> None:
    scenario = load_study(scenario_file(tmp_path, tmp_path / "nowhere"))
    with pytest.raises(StudyError, match="triggerml build"):
        run_study(scenario, tmp_path / "out")


def test_cli_prints_the_headline_and_one_line_errors(
    tiny_study: tuple[Path, dict], firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    from conftest import run_cli

    tmp, _ = tiny_study
    shutil.copytree(tmp / "out", tmp_path / "out")  # finished tasks: the CLI only aggregates
    done = run_cli("study", str(scenario_file(tmp_path, firmware)), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "E50 at" in done.stdout
    assert "bkg. rate for 90 % eff." in done.stdout
    assert "summary.json" in done.stdout
    bad = run_cli(
        "study", str(scenario_file(tmp_path, firmware, apas=0)), "--out", str(tmp_path / "x")
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0
    assert "apas" in bad.stderr


def test_a_folder_with_a_user_file_is_refused_and_kept(tmp_path: Path, firmware: Path) -> None:
    from triggerml.io import OutputFolderError

    scenario = load_study(scenario_file(tmp_path, firmware))
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    with pytest.raises(OutputFolderError, match=r"notes\.txt.*--force"):
        run_study(scenario, out)
    assert (out / "notes.txt").read_text() == "my notes"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_an_exposure_too_short_for_the_working_point_is_a_warning() -> None:
    """Issue #16.4: the demo at 0.05 s (smallest measurable rate 20 Hz) against 10 Hz."""
    from triggerml.trigger.study import exposure_warnings

    (short,) = exposure_warnings(0.05, 1, 10.0)
    assert "cannot resolve 10 Hz per APA" in short
    assert "smallest measurable rate is 20 Hz" in short
    assert "≥ 2 s per APA" in short
    (thin,) = exposure_warnings(0.5, 1, 10.0)
    assert "only 5.0 background candidates" in thin
    assert exposure_warnings(10.0, 1, 10.0) == []


def test_summary_carries_the_exposure_warnings(tiny_study: tuple[Path, dict]) -> None:
    _, summary = tiny_study
    assert isinstance(summary["warnings"], list)
    halves = [sum(h.values()) for h in summary["apa_seconds_by_half"].values()]
    live = min(halves)
    assert sum(halves) == pytest.approx(sum(summary["apa_seconds"].values()))
    rate = min(summary["scenario_config"]["working_point"]["report_rates_hz_per_apa"])
    exposure = [w for w in summary["warnings"] if "APA-s per half" in w]
    assert bool(exposure) == (rate * live < 10)


def test_studies_simulate_both_apa_kinds_and_weight_rates_by_module_share(
    tiny_study: tuple[Path, dict],
) -> None:
    """Issue #14.1: ≥ 1 APA of each kind, apa_seconds per kind, module-average rates."""
    _, summary = tiny_study
    assert summary["apa_seconds"]["central"] > 0
    assert summary["apa_seconds"]["outer"] == pytest.approx(summary["apa_seconds"]["central"])
    assert summary["module_shares"] == pytest.approx({"central": 1 / 3, "outer": 2 / 3})


def test_event_ids_are_unique_across_tasks(tiny_study: tuple[Path, dict]) -> None:
    from triggerml.trigger import execute

    tmp, _ = tiny_study
    events = np.concatenate(
        [execute.load(path).events for path in sorted((tmp / "out" / "tasks").glob("*.npz"))]
    )
    keys = events["apa"].astype(np.int64) * 2**48 + events["event_id"]
    assert events.size > 0
    assert np.unique(keys).size == keys.size


def test_a_streams_first_slices_warm_the_tpg_up_and_are_not_counted(
    tiny_study: tuple[Path, dict], firmware: Path
) -> None:
    """The TPG starts on a stream's first sample with no pedestal: its first task counts from
    the warm-up's end, as later tasks (which warm up on earlier slices) do."""
    from triggerml.trigger import execute

    tmp, _ = tiny_study
    resolved = resolve(load_study(scenario_file(tmp, firmware)))
    warmup = resolved.dataset.warmup_slices
    ticks = resolved.scenario.stream.slice_ticks
    fs = resolved.scenario.stream.readout.sampling_hz
    results = [execute.load(p) for p in sorted((tmp / "out" / "tasks").glob("*.npz"))]
    firsts = [r for r in results if r.task.first_slice == 0]
    assert firsts
    assert all(r.task.last_slice > warmup for r in firsts)
    for result in results:
        counted = max(result.task.first_slice, warmup)
        assert result.counted_first_slice == counted
        assert result.live_seconds == pytest.approx((result.task.last_slice - counted) * ticks / fs)
        in_range = result.candidates[result.candidates["in_range"]]
        assert (in_range["start"] >= counted * ticks).all()
        assert (result.events["time_tick"] >= counted * ticks).all()
    # a task file written before the fix (no counted range) is refused, not misread
    old = tmp / "old.npz"
    with np.load(execute.result_path(tmp / "out" / "tasks", firsts[0].task)) as data:
        scalars = json.loads(str(data["scalars"]))
        del scalars["counted_first_slice"]
        arrays = {"candidates": data["candidates"], "events": data["events"]}
    np.savez(old, scalars=np.array(json.dumps(scalars)), **arrays)
    with pytest.raises(ValueError, match="--fresh"):
        execute.load(old)
