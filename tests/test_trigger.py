"""The streaming trigger study: chain, working point, burst trigger, resumability, Dask."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from triggerml.compile.build import BuildConfig, build
from triggerml.config import ConfigError
from triggerml.trigger import analysis, burst
from triggerml.trigger.scenario import Burst, load_study
from triggerml.trigger.study import StudyError, run_study

REPO = Path(__file__).resolve().parents[1]
DESIGN_KEYS = {
    "background_rate_hz_per_apa",
    "e50_mev",
    "fake_bursts_per_month",
    "efficiency_vs_distance",
    "stream",
}
VOLATILE = ("created", "stream")  # wall-clock figures


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fw") / "tpmlp"
    build(REPO / "models" / "tpmlp.h5", out, BuildConfig(events=50))
    return out


def _scenario(tmp: Path, firmware: Path, **override: object) -> Path:
    data = {
        "name": "tiny",
        "seed": 5,
        "model": str(REPO / "models" / "tpmlp.yaml"),
        "firmware": str(firmware),
        "chunk_slices": 4,
        "tail_slices": 2,
        "working_point": {"rate_hz_per_apa": 300.0},
        "burst": {"toys": 200, "distances_kpc": [1, 10, 50]},
        "detector": {
            "seconds": 0.025,
            "singles": {"rate_hz": 2000.0, "energies_mev": [1, 3, 6, 10, 20]},
            "supernova": {"distance_kpc": 0.3},
        },
    }
    data.update(override)
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _stable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def tiny_study(
    firmware: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: None
) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("study")
    scenario = load_study(_scenario(tmp, firmware))
    return tmp, run_study(scenario, tmp / "out")


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[None]:
    """Studies resolve the zoo's dataset path relative to the working directory."""
    mp = pytest.MonkeyPatch()
    mp.chdir(REPO)
    yield
    mp.undo()


def test_summary_has_the_design_keys_for_both_triggers(tiny_study: tuple[Path, dict]) -> None:
    tmp, summary = tiny_study
    assert set(summary) >= DESIGN_KEYS
    for key in DESIGN_KEYS - {"stream"}:
        assert set(summary[key]) == {"ml", "adc_sum"}
    assert set(summary["stream"]) >= {"samples_per_s", "fraction_of_real_time"}
    assert summary["stream"]["samples_per_s"] > 0
    # the baseline runs at the rate ML reached, on the same background clusters
    rates = summary["background_rate_hz_per_apa"]
    assert rates["adc_sum"] <= rates["ml"] <= 300.0
    for trigger, rows in summary["efficiency_vs_distance"].items():
        assert [r["kpc"] for r in rows] == [1, 10, 50]
        for row in rows:
            assert row["lo"] <= row["efficiency"] <= row["hi"]
        assert summary["fake_bursts_per_month"][trigger] <= 1.0
    written = json.loads((tmp / "out" / "summary.json").read_text())
    assert _stable(written) == _stable(json.loads(json.dumps(summary, default=str)))
    for name in summary["plots"].values():
        assert (tmp / "out" / name).read_bytes()[:4] == b"\x89PNG"
    report = (tmp / "out" / "report.md").read_text()
    assert "E50" in report
    assert "fake bursts" in report


def test_killed_study_resumes_to_the_same_summary(
    tiny_study: tuple[Path, dict], firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    _, full = tiny_study
    scenario = load_study(_scenario(tmp_path, firmware))

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
    assert _stable(json.loads(json.dumps(resumed, default=str))) == _stable(
        json.loads(json.dumps(full, default=str))
    )


def test_a_folder_of_another_study_is_refused(
    tiny_study: tuple[Path, dict], firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    tmp, _ = tiny_study
    shutil.copytree(tmp / "out", tmp_path / "out")
    other = load_study(_scenario(tmp_path, firmware, seed=6))
    with pytest.raises(StudyError, match="different study"):
        run_study(other, tmp_path / "out")


def test_two_dask_workers_give_the_in_process_summary(
    tiny_study: tuple[Path, dict], firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    _, full = tiny_study
    scenario = load_study(_scenario(tmp_path, firmware))
    distributed = run_study(scenario, tmp_path / "out", workers=2)
    assert _stable(json.loads(json.dumps(distributed, default=str))) == _stable(
        json.loads(json.dumps(full, default=str))
    )


def test_bad_scenarios_name_the_key(tmp_path: Path, firmware: Path) -> None:
    with pytest.raises(ConfigError, match="chunk_slices"):
        load_study(_scenario(tmp_path, firmware, chunk_slices=0))
    with pytest.raises(ConfigError, match="rate_hz_per_apa"):
        load_study(_scenario(tmp_path, firmware, working_point={"rate_hz_per_apa": -1}))
    with pytest.raises(ConfigError, match="distances_kpc"):
        load_study(_scenario(tmp_path, firmware, burst={"distances_kpc": [1, 2]}))
    with pytest.raises(ConfigError, match="unknown_key"):
        load_study(_scenario(tmp_path, firmware, unknown_key=1))


def test_missing_firmware_is_a_clear_error(tmp_path: Path, monkeypatch_module: None) -> None:
    scenario = load_study(_scenario(tmp_path, tmp_path / "nowhere"))
    with pytest.raises(StudyError, match="triggerml build"):
        run_study(scenario, tmp_path / "out")


# --- the arithmetic on its own --------------------------------------------------------


def test_burst_threshold_is_the_smallest_count_within_the_fake_rate() -> None:
    config = Burst(window_s=10.0, step_s=1.0, apas_per_module=150)
    cut = burst.burst_threshold(2.0, config)
    b = 2.0 * 150 * 10.0
    assert cut.background_mean == pytest.approx(b)
    trials = burst.SECONDS_PER_MONTH / 1.0
    assert trials * stats.poisson.sf(cut.count - 1, b) <= 1.0
    assert trials * stats.poisson.sf(cut.count - 2, b) > 1.0
    assert cut.fake_bursts_per_month == pytest.approx(trials * stats.poisson.sf(cut.count - 1, b))


def test_reach_falls_with_distance_and_is_certain_close_by() -> None:
    from triggerml.detector.config import Scenario, Supernova

    detector = Scenario(supernova=Supernova(distance_kpc=1.0))
    config = Burst(toys=400, distances_kpc=(1, 10, 100, 1000))
    cut = burst.burst_threshold(5.0, config)
    points = burst.reach(np.array([0, 1, 1, 2, 1, 0]), cut, detector, config, seed=1)
    effs = [p.efficiency for p in points]
    assert effs[0] == 1.0
    assert effs[-1] < 0.05
    assert all(a >= b for a, b in itertools.pairwise(effs))
    with pytest.raises(ValueError, match="supernova"):
        burst.reach(np.zeros(0, np.int64), cut, detector, config, seed=1)


def test_tune_keeps_ties_out_together() -> None:
    values = np.array([1.0, 2.0, 3.0, 3.0, 3.0, 5.0])
    cut = analysis.tune(values, live_seconds=1.0, rate_hz=2.0)
    assert cut.value > 3.0
    assert cut.background_candidates == 1
    loose = analysis.tune(values, live_seconds=1.0, rate_hz=4.0)
    assert loose.value > 2.0
    assert loose.value <= 3.0
    assert loose.background_candidates == 4


def test_erf_fit_recovers_a_known_curve() -> None:
    rng = np.random.default_rng(3)
    energies = np.arange(1.0, 21.0)
    n = np.full(energies.size, 4000)
    k = rng.binomial(n, analysis.erf_curve(energies, 0.95, 7.0, 2.0))
    plateau, mu, sigma = analysis.erf_fit(energies, n, k)  # type: ignore[misc]
    assert plateau == pytest.approx(0.95, abs=0.01)
    assert mu == pytest.approx(7.0, abs=0.1)
    assert sigma == pytest.approx(2.0, abs=0.1)


def test_candidates_per_event_counts_only_listed_events() -> None:
    from triggerml.trigger.tasks import CANDIDATE_DTYPE, EVENT_DTYPE

    events = np.zeros(3, EVENT_DTYPE)
    events["apa"] = [0, 0, 1]
    events["event_id"] = [7, 3, 7]
    cands = np.zeros(5, CANDIDATE_DTYPE)
    cands["label"] = 2
    cands["apa"] = [0, 0, 1, 0, 1]
    cands["event_id"] = [7, 7, 7, 99, 3]  # 99 and (1, 3) are not listed
    cands["adc_sum"] = [10, 10, 10, 10, 10]
    counts = analysis.candidates_per_event(cands, events, "adc_sum", 5)
    assert counts.tolist() == [2, 0, 1]
    assert analysis.candidates_per_event(cands, events, "adc_sum", 11).tolist() == [0, 0, 0]


def test_cli_prints_the_headline_and_one_line_errors(
    tiny_study: tuple[Path, dict], firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    from conftest import run_cli

    tmp, _ = tiny_study
    shutil.copytree(tmp / "out", tmp_path / "out")  # finished tasks: the CLI only aggregates
    done = run_cli("study", str(_scenario(tmp_path, firmware)), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "E50 [MeV]" in done.stdout
    assert "summary.json" in done.stdout
    bad = run_cli("study", str(_scenario(tmp_path, firmware, apas=0)), "--out", str(tmp_path / "x"))
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0
    assert "apas" in bad.stderr


@pytest.mark.parametrize("path", sorted((REPO / "emulation").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_pair_model_with_its_training_set(
    path: Path, monkeypatch_module: None
) -> None:
    from triggerml.nn.zoo import load_model_config
    from triggerml.trigger.scenario import resolve

    resolved = resolve(load_study(path))
    model = load_model_config(resolved.scenario.model)
    assert resolved.input_kind == model.input
    assert resolved.chain.roi == resolved.dataset.kinds()[model.input]


def test_a_folder_with_a_user_file_is_refused_and_kept(tmp_path: Path, firmware: Path) -> None:
    from triggerml.io import OutputFolderError

    scenario = load_study(_scenario(tmp_path, firmware))
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
    assert "cannot resolve the working point of 10 Hz" in short
    assert "smallest measurable rate is 20 Hz" in short
    assert "≥ 1 s per APA" in short
    (thin,) = exposure_warnings(0.5, 1, 10.0)
    assert "only 5.0 background candidates" in thin
    assert exposure_warnings(10.0, 1, 10.0) == []


def test_summary_carries_the_exposure_warnings(tiny_study: tuple[Path, dict]) -> None:
    _, summary = tiny_study
    assert isinstance(summary["warnings"], list)
    live = sum(summary["apa_seconds"].values())
    rate = summary["scenario_config"]["working_point"]["rate_hz_per_apa"]
    assert bool(summary["warnings"]) == (rate * live < 10)


def test_studies_simulate_both_apa_kinds_and_weight_rates_by_module_share(
    tiny_study: tuple[Path, dict],
) -> None:
    """Issue #14.1: ≥ 1 APA of each kind, apa_seconds per kind, module-average rates."""
    _, summary = tiny_study
    assert summary["apa_seconds"]["central"] > 0
    assert summary["apa_seconds"]["outer"] == pytest.approx(summary["apa_seconds"]["central"])
    assert summary["module_shares"] == pytest.approx({"central": 1 / 3, "outer": 2 / 3})


def test_weighted_tuning_counts_each_kind_by_its_module_share() -> None:
    values = np.array([9.0, 8.0, 7.0, 6.0])
    # two central candidates in 1 s (share 1/3), two outer in 1 s (share 2/3)
    weights = np.array([1 / 3, 2 / 3, 1 / 3, 2 / 3])
    cut = analysis.tune(values, live_seconds=2.0, rate_hz=1.0, weights=weights)
    assert cut.background_candidates == 2  # 1/3 + 2/3 = 1 Hz per APA, module average
    assert cut.rate_hz_per_apa == pytest.approx(1.0)
    assert 7.0 < cut.value <= 8.0
