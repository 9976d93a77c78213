"""The streaming trigger study: chain, working point, burst trigger, resumability, Dask."""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats

from triggerml.compile.build import BuildConfig, build
from triggerml.config import ConfigError
from triggerml.trigger import analysis, burst
from triggerml.trigger.scenario import Burst, load_study, resolve
from triggerml.trigger.study import StudyError, run_study

REPO = Path(__file__).resolve().parents[1]
TRIGGERS = {"ml", "adc_sum", "combined"}
DESIGN_KEYS = {  # DESIGN §5, summary schema 2
    "apa_seconds",
    "rate_at_90pct_hz_per_apa",
    "efficiency_at_rate",
    "reach_kpc",
    "milky_way_efficiency",
    "lmc_efficiency",
    "background_per_window",
    "fake_bursts_per_month",
    "fake_bursts_per_month_bound",
    "background_rate_hz_per_apa",
    "e50_mev",
    "efficiency_vs_distance",
    "stream",
    "warnings",
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
    assert _stable(written) == _stable(json.loads(json.dumps(summary, default=str)))
    for name in summary["plots"].values():
        assert (tmp / "out" / name).read_bytes()[:4] == b"\x89PNG"
    report = (tmp / "out" / "report.md").read_text()
    assert "E50" in report
    assert "fake bursts" in report
    # the firmware budget states the build's estimate per APA against the part, labelled
    assert summary["firmware"]["source"].startswith("estimate (not synthesized")
    lut = summary["firmware"]["resources_per_apa"]["LUT"]["used"]
    assert f"Resources per APA: LUT {lut}" in report


def test_every_summary_key_is_documented(tiny_study: tuple[Path, dict]) -> None:
    _, summary = tiny_study
    documented = (REPO / "docs" / "summary.md").read_text()
    for key in summary:
        assert f"`{key}`" in documented, key


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


def test_one_and_two_dask_workers_give_the_in_process_summary(
    tiny_study: tuple[Path, dict], firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    """``bench study`` runs the study on 1 and 2 workers: both equal the in-process run,
    and it reports their wall times, speed-up and each run's worker memory."""
    from triggerml.bench import bench_study

    _, full = tiny_study
    rows = bench_study(str(_scenario(tmp_path, firmware)), [1, 2], tmp_path / "bench")
    for count in (1, 2):
        distributed = json.loads(
            (tmp_path / "bench" / f"workers_{count}" / "summary.json").read_text()
        )
        assert _stable(distributed) == _stable(json.loads(json.dumps(full, default=str)))
    assert [row["workers"] for row in rows] == [1, 2]
    assert rows[0]["speedup"] == 1.0
    assert rows[1]["speedup"] == pytest.approx(rows[0]["wall_seconds"] / rows[1]["wall_seconds"])
    assert rows[0]["tasks"] == rows[1]["tasks"] == full["tasks"]
    assert rows[0]["apa_seconds"] == pytest.approx(sum(full["apa_seconds"].values()))
    for row in rows:  # a worker holds at least the emulator, numba and numpy: > 100 MB
        assert 100 < row["peak_rss_mb_per_worker"] < 8000


def test_bench_stream_reports_stages_memory_and_real_time(
    firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    from triggerml.bench import STREAM_POOL, bench_stream

    bench = bench_stream(str(_scenario(tmp_path, firmware)), slices=STREAM_POOL + 2)
    record = bench.as_dict()
    assert record["slices"] == STREAM_POOL + 2  # two replayed
    assert set(record["stages"]) == {"tpg", "cluster", "inputs", "model"}
    assert all(seconds >= 0 for seconds in record["stages"].values())
    chain_seconds = (STREAM_POOL + 2) * 2560 * 4096 / bench.result.throughput
    assert sum(record["stages"].values()) <= chain_seconds
    assert bench.real_time == pytest.approx(2560 * 1e9 / 512)  # DESIGN §5: the whole APA
    assert record["fraction_of_real_time"] == pytest.approx(
        bench.result.throughput / bench.real_time
    )
    pool_mb = STREAM_POOL * 2560 * 4096 * 2 / 2**20  # the slices simulated beforehand
    assert record["peak_rss_mb"] > pool_mb


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
    from triggerml.detector.config import DetectorScenario, Supernova

    detector = DetectorScenario(supernova=Supernova(distance_kpc=1.0))
    config = Burst(toys=400, distances_kpc=(1, 10, 100, 1000))
    cut = burst.burst_threshold(5.0, config)
    points = burst.reach(np.array([0, 1, 1, 2, 1, 0]), cut, detector, config, seed=1)
    effs = [p.efficiency for p in points]
    assert effs[0] == 1.0
    assert effs[-1] < 0.05
    assert all(a >= b for a, b in itertools.pairwise(effs))
    with pytest.raises(ValueError, match="supernova"):
        burst.reach(np.zeros(0, np.int64), cut, detector, config, seed=1)
    # module weights: equal ones change nothing; weight on the events without a candidate
    # lowers the reach
    per_event = np.array([0, 1, 1, 2, 1, 0])
    equal = burst.reach(per_event, cut, detector, config, seed=1, weights=np.full(6, 1 / 6))
    assert [p.efficiency for p in equal] == effs
    heavy_zeros = np.where(per_event == 0, 0.45, 0.025)
    lowered = burst.reach(per_event, cut, detector, config, seed=1, weights=heavy_zeros)
    assert lowered[1].efficiency < effs[1] or effs[1] == 0.0
    assert all(a.efficiency <= b + 0.1 for a, b in zip(lowered, effs, strict=True))


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


def _clusters(rows: list[dict]) -> np.ndarray:
    from triggerml.trigger.tasks import CANDIDATE_DTYPE

    out = np.zeros(len(rows), CANDIDATE_DTYPE)
    out["event_id"] = -1
    out["in_range"] = True
    for i, row in enumerate(rows):
        for key, value in row.items():
            out[i][key] = value
    return out


def test_grouping_joins_fragments_within_the_windows_and_no_further() -> None:
    from triggerml.trigger.candidates import Grouping, group

    clusters = _clusters(
        [
            {"apa": 0, "start": 100, "end": 150, "channel_min": 10, "channel_max": 12},
            {
                "apa": 0,
                "start": 300,
                "end": 320,
                "channel_min": 30,
                "channel_max": 31,
            },  # 18 wires, 150 ticks
            {
                "apa": 0,
                "start": 480,
                "end": 500,
                "channel_min": 51,
                "channel_max": 51,
            },  # chained to the 2nd
            {
                "apa": 0,
                "start": 100,
                "end": 150,
                "channel_min": 80,
                "channel_max": 81,
            },  # too far in wires
            {
                "apa": 1,
                "start": 100,
                "end": 150,
                "channel_min": 10,
                "channel_max": 12,
            },  # another APA
            {
                "apa": 0,
                "start": 901,
                "end": 910,
                "channel_min": 52,
                "channel_max": 52,
            },  # 401 ticks on
        ]
    )
    ids = group(clusters, Grouping(channels=20, ticks=200))
    assert ids[0] == ids[1] == ids[2]
    assert len(set(ids.tolist())) == 4
    assert group(clusters, Grouping(channels=0, ticks=0)).max() == 5  # nothing joins


def _evaluator(clusters: np.ndarray, events: np.ndarray, objective=None):
    from triggerml.trigger import candidates, figures

    grouped = candidates.build(clusters, candidates.Grouping(0, 0), 1000, 1000)
    weights = np.ones((2, grouped.size))  # 1 Hz per candidate on each half
    return figures.Evaluator(grouped, events, weights, objective)


def test_candidates_per_event_counts_only_listed_events() -> None:
    from triggerml.trigger.figures import Decision
    from triggerml.trigger.tasks import EVENT_DTYPE

    events = np.zeros(3, EVENT_DTYPE)
    events["apa"] = [0, 0, 1]
    events["event_id"] = [7, 3, 7]
    clusters = _clusters(
        [
            {"label": 2, "apa": 0, "event_id": 7, "adc_sum": 10, "start": 0, "channel_min": 0},
            {"label": 2, "apa": 0, "event_id": 7, "adc_sum": 10, "start": 0, "channel_min": 90},
            {"label": 2, "apa": 1, "event_id": 7, "adc_sum": 10, "start": 0, "channel_min": 0},
            {"label": 2, "apa": 0, "event_id": 99, "adc_sum": 10, "start": 0, "channel_min": 50},
            {"label": 2, "apa": 1, "event_id": 3, "adc_sum": 10, "start": 0, "channel_min": 50},
        ]
    )
    evaluator = _evaluator(clusters, events)
    counts = evaluator.candidates_per_event(Decision("adc_sum", 5))
    assert counts.tolist() == [2, 0, 1]
    assert evaluator.candidates_per_event(Decision("adc_sum", 11)).tolist() == [0, 0, 0]


def test_combined_trigger_never_does_worse_than_the_adc_sum_where_it_was_tuned() -> None:
    """Signal events that the ML score separates from background at equal ADC sum: the
    combined trigger gains efficiency at the same rate; the ADC sum's own point is in its
    grid, so it cannot lose."""
    from triggerml.trigger.figures import SignalClass, class_mask
    from triggerml.trigger.tasks import EVENT_DTYPE

    rng = np.random.default_rng(4)
    n_bkg, n_sig = 4000, 400
    rows = []
    for i in range(n_bkg):  # background: ADC sums like the signal's, low scores
        rows.append(
            {
                "label": 1,
                "apa": 0,
                "start": 2 * i * 1000 + (i % 2) * 1000,
                "adc_sum": int(rng.integers(1000, 3000)),
                "score": rng.normal(-2, 1),
            }
        )
    events = np.zeros(n_sig, EVENT_DTYPE)
    events["kind"] = b"snb_nue"
    events["apa"] = 0
    events["event_id"] = np.arange(n_sig)
    for i in range(n_sig):
        rows.append(
            {
                "label": 2,
                "apa": 0,
                "event_id": i,
                "start": 10**9 + 1000 * i,
                "adc_sum": int(rng.integers(1000, 3000)),
                "score": rng.normal(2, 1),
            }
        )
    evaluator = _evaluator(_clusters(rows), events, SignalClass.SN_NUE_CC)
    from triggerml.trigger.figures import efficiency_row

    effs = {}
    for trigger in ("ml", "adc_sum", "combined"):
        decision = evaluator.at_rate(trigger, 20.0)
        metric = evaluator.decision_metric(decision)
        assert evaluator.tuning_rate(metric, decision.threshold) <= 20.0
        effs[trigger] = efficiency_row(evaluator, decision, SignalClass.SN_NUE_CC)["efficiency"]
    assert effs["combined"] >= effs["adc_sum"]
    assert effs["combined"] > 0.5 > effs["adc_sum"]
    assert class_mask(events, SignalClass.SN_NUE_CC).all()


def test_rates_are_tuned_on_one_half_and_measured_on_the_other() -> None:
    from triggerml.trigger.figures import Decision
    from triggerml.trigger.tasks import EVENT_DTYPE

    # even slices (tuning) hold ADC sums 1..10, odd slices (reporting) 101..110
    rows = [{"label": 1, "apa": 0, "start": 2000 * i, "adc_sum": i + 1} for i in range(10)]
    rows += [
        {"label": 1, "apa": 0, "start": 2000 * i + 1000, "adc_sum": 101 + i} for i in range(10)
    ]
    evaluator = _evaluator(_clusters(rows), np.zeros(0, EVENT_DTYPE))
    threshold = evaluator.tune(evaluator.c.adc_sum, 3.0)
    assert 7 < threshold <= 8  # three tuning candidates (8, 9, 10) pass
    measured = evaluator.measured_rate(evaluator.c.adc_sum, threshold)
    assert measured.count == 10  # every reporting candidate passes: the halves differ
    assert measured.lo < measured.value == 10.0 < measured.hi
    # the burst scan chooses its point on the tuning half's count (3), not the reported one
    from triggerml.trigger.figures import TUNING

    assert evaluator.measured_rate(evaluator.c.adc_sum, threshold, TUNING).count == 3
    none = evaluator.measured_rate(evaluator.c.adc_sum, 1000.0)
    assert none.limit
    assert none.value == 0.0
    assert none.hi > 1.0
    assert evaluator.candidates_per_event(Decision("adc_sum", 1.0)).size == 0


def test_burst_efficiency_matches_pseudo_bursts() -> None:
    rng = np.random.default_rng(1)
    p = np.array([0.3, 0.5, 0.15, 0.05])
    for lam, b, k in [(20, 15, 40), (300, 100, 380), (900, 15000, 15700)]:
        toys = 200_000
        signal = sum(j * rng.poisson(lam * p[j], toys) for j in range(1, p.size))
        total = signal + rng.poisson(b, toys)
        sampled = (total >= k).mean()
        exact = burst.burst_efficiency(lam, p, b, k)
        assert exact == pytest.approx(
            sampled, abs=4 * np.sqrt(sampled * (1 - sampled) / toys) + 1e-3
        )


def test_milky_way_distances_have_the_cited_mean_and_spread() -> None:
    """Mirizzi, Raffelt & Serpico 2006 quote 10.7 kpc mean and 4.9 kpc rms."""
    d = burst.milky_way_distances(400_000, seed=3)
    assert d.mean() == pytest.approx(10.7, rel=0.03)
    assert d.std() == pytest.approx(4.9, rel=0.05)
    flat = np.ones(burst.REACH_GRID_KPC.size)
    assert burst.milky_way_efficiency(flat) == pytest.approx(1.0)
    steps = (burst.REACH_GRID_KPC <= 10.0).astype(float)
    assert 0.3 < burst.milky_way_efficiency(steps) < 0.7
    assert burst.reach_kpc(steps, 0.5) == pytest.approx(10.0, rel=0.06)


def test_scenario_rates_and_signal_classes_are_checked(tmp_path: Path, firmware: Path) -> None:
    with pytest.raises(ConfigError, match="report_rates_hz_per_apa"):
        load_study(
            _scenario(tmp_path, firmware, working_point={"report_rates_hz_per_apa": [1, -1]})
        )
    with pytest.raises(ConfigError, match="signals"):
        load_study(_scenario(tmp_path, firmware, signals=["electron_7_mev"]))


def test_cli_prints_the_headline_and_one_line_errors(
    tiny_study: tuple[Path, dict], firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    from conftest import run_cli

    tmp, _ = tiny_study
    shutil.copytree(tmp / "out", tmp_path / "out")  # finished tasks: the CLI only aggregates
    done = run_cli("study", str(_scenario(tmp_path, firmware)), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "E50 at" in done.stdout
    assert "bkg. rate for 90 % eff." in done.stdout
    assert "summary.json" in done.stdout
    bad = run_cli("study", str(_scenario(tmp_path, firmware, apas=0)), "--out", str(tmp_path / "x"))
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0
    assert "apas" in bad.stderr


def _study_scenarios() -> list[Path]:
    """emulation/*.yaml but the sweep specs (tests/test_sweep.py checks those)."""
    return [
        path
        for path in sorted((REPO / "emulation").glob("*.yaml"))
        if "axes" not in yaml.safe_load(path.read_text())
    ]


@pytest.mark.parametrize("path", _study_scenarios(), ids=lambda p: p.stem)
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


def test_weighted_tuning_counts_each_kind_by_its_module_share() -> None:
    values = np.array([9.0, 8.0, 7.0, 6.0])
    # two central candidates in 1 s (share 1/3), two outer in 1 s (share 2/3)
    weights = np.array([1 / 3, 2 / 3, 1 / 3, 2 / 3])
    cut = analysis.tune(values, live_seconds=2.0, rate_hz=1.0, weights=weights)
    assert cut.background_candidates == 2  # 1/3 + 2/3 = 1 Hz per APA, module average
    assert cut.rate_hz_per_apa == pytest.approx(1.0)
    assert 7.0 < cut.value <= 8.0


def test_the_pre_cut_scores_only_clusters_above_it_and_leaves_their_scores_unchanged(
    firmware: Path, tmp_path: Path, monkeypatch_module: None
) -> None:
    """The firmware scores clusters passing the loose ADC-sum pre-cut; every other cluster
    gets −inf, and the scored ones keep exactly the scores of the chain without a pre-cut."""
    import dataclasses

    from triggerml.emulator import load_emulator
    from triggerml.trigger.scenario import resolve
    from triggerml.trigger.tasks import Task, run_task

    resolved = resolve(load_study(_scenario(tmp_path, firmware)))
    emulator = load_emulator(firmware)
    task = Task(0, 3, 6)
    full = run_task(resolved, task, emulator).candidates
    cut = 3000
    chain = dataclasses.replace(resolved.chain, precut_adc_sum=cut)
    pre = run_task(dataclasses.replace(resolved, chain=chain), task, emulator).candidates
    assert np.array_equal(
        full[["start", "channel_min", "adc_sum"]], pre[["start", "channel_min", "adc_sum"]]
    )
    above = pre["adc_sum"] >= cut
    assert 0 < above.sum() < above.size
    assert np.array_equal(pre["score"][above], full["score"][above])
    assert np.all(np.isneginf(pre["score"][~above]))
    assert np.all(np.isfinite(full["score"]))


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
    resolved = resolve(load_study(_scenario(tmp, firmware)))
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


def test_firmware_decision_equals_the_python_rule_and_catches_an_off_by_one() -> None:
    """firmware/trigger/decision.h vs the rule the figures use, on clusters placed on and
    around every threshold; a threshold one logit step off must show up."""
    from triggerml.trigger import decision as fw
    from triggerml.trigger.figures import Decision

    check = fw.verify(clusters=300)
    assert check.clusters == 300 * check.decisions
    assert check.mismatches == 0
    binary = fw.compile_testbench()
    rule = Decision("combined", 1.0, 7000.0, 20000.0)
    th = fw.firmware_thresholds(rule, 6000, 6)
    assert (th.adc_lo, th.adc_hi, th.logit_min) == (7000, 20000, 64)
    adc = np.array([7000, 7000, 6999, 20000, 19999, 5999])
    logit_m = np.array([64, 63, 64, -500, 63, 64])
    score = np.where(adc >= 6000, logit_m / 64.0, -np.inf)
    expected = [True, False, False, True, False, False]
    assert fw.accepts(adc, score, rule).tolist() == expected
    assert fw.run_cpp(binary, th, adc, logit_m).tolist() == expected
    off = dataclasses.replace(th, logit_min=th.logit_min + 1)
    assert fw.run_cpp(binary, off, adc, logit_m).tolist() != expected


def test_a_candidate_passes_exactly_when_one_of_its_clusters_does() -> None:
    """The figures' candidate metric agrees with the per-cluster firmware rule."""
    from triggerml.trigger import candidates
    from triggerml.trigger.decision import accepts
    from triggerml.trigger.figures import Decision, Evaluator
    from triggerml.trigger.tasks import EVENT_DTYPE

    rng = np.random.default_rng(8)
    n = 3000
    clusters = _clusters(
        [
            {
                "label": 1,
                "apa": int(rng.integers(0, 2)),
                "start": int(rng.integers(0, 200_000)),
                "end": 0,
                "channel_min": int(c),
                "channel_max": int(c) + 2,
                "adc_sum": int(rng.integers(0, 30000)),
                "score": float(rng.normal(0, 3)) if rng.random() < 0.7 else -np.inf,
            }
            for c in rng.integers(0, 900, n)
        ]
    )
    clusters["end"] = clusters["start"] + 30
    grouped = candidates.build(clusters, candidates.Grouping(), 4096, 1000)
    assert grouped.size < n  # some clusters did join
    evaluator = Evaluator(grouped, np.zeros(0, EVENT_DTYPE), np.ones((2, grouped.size)), None)
    for rule in (
        Decision("combined", 1.5, 8000.0, 22000.0),
        Decision("ml", 0.3),
        Decision("adc_sum", 15000.5),
    ):
        per_cluster = accepts(grouped.clusters["adc_sum"], grouped.clusters["score"], rule)
        expected = np.logical_or.reduceat(per_cluster, grouped.offsets[:-1])
        passed = evaluator.decision_metric(rule) >= rule.threshold
        assert np.array_equal(passed, expected)


def test_selecting_candidates_keeps_their_clusters_together() -> None:
    from triggerml.trigger import candidates

    rng = np.random.default_rng(2)
    clusters = _clusters(
        [
            {
                "apa": 0,
                "start": int(s),
                "end": int(s) + 20,
                "channel_min": int(c),
                "channel_max": int(c) + 1,
                "adc_sum": int(rng.integers(0, 10000)),
            }
            for s, c in zip(rng.integers(0, 50_000, 500), rng.integers(0, 200, 500), strict=True)
        ]
    )
    grouped = candidates.build(clusters, candidates.Grouping(), 4096, 1000)
    keep = grouped.adc_sum >= 5000
    kept = grouped.select(keep)
    assert kept.size == int(keep.sum())
    assert np.array_equal(kept.adc_sum, kept.reduce_max(kept.clusters["adc_sum"].astype(float)))
    assert np.array_equal(kept.group, np.repeat(np.arange(kept.size), np.diff(kept.offsets)))
    assert kept.clusters.size == int(np.diff(grouped.offsets)[keep].sum())


def test_signal_efficiencies_weight_each_apa_kind_by_its_share_of_the_module_argon() -> None:
    """Central APAs see twice the SN events of outer ones (two drift volumes), the module
    holds equal argon in each kind: the module efficiency is the plain mean of the kinds'
    efficiencies, not the pooled fraction; the 90 % point and burst multiplicity follow."""
    from triggerml.trigger import figures
    from triggerml.trigger.figures import Decision, SignalClass, efficiency_row
    from triggerml.trigger.tasks import APA_STRIDE, EVENT_DTYPE

    n_central, n_outer = 200, 100
    events = np.zeros(n_central + n_outer, EVENT_DTYPE)
    events["kind"] = b"snb_nue"
    events["apa"] = np.r_[np.zeros(n_central), np.full(n_outer, APA_STRIDE)]
    events["event_id"] = np.arange(events.size)
    # central events all found (ADC sum 100), outer ones: half found
    adc = np.r_[np.full(n_central, 100), np.where(np.arange(n_outer) % 2 == 0, 100, 1)]
    rows = [
        {"label": 2, "apa": int(a), "event_id": i, "start": 1000 * i, "adc_sum": int(s)}
        for i, (a, s) in enumerate(zip(events["apa"], adc, strict=True))
    ]
    kind_index = np.asarray(events["apa"], dtype=np.int64) // APA_STRIDE
    weights = figures.module_event_weights(events, kind_index, np.array([0.5, 0.5]))
    assert weights[:n_central] == pytest.approx(0.5 / n_central)
    assert weights[n_central:] == pytest.approx(0.5 / n_outer)
    from triggerml.trigger import candidates

    grouped = candidates.build(_clusters(rows), candidates.Grouping(0, 0), 1000, APA_STRIDE)
    evaluator = figures.Evaluator(grouped, events, np.ones((2, grouped.size)), None, weights)
    row = efficiency_row(evaluator, Decision("adc_sum", 50), SignalClass.SN_NUE_CC)
    assert row["efficiency"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.5)  # pooled would say 0.833
    assert row["found"] == 250
    assert row["events"] == 300
    assert row["lo"] < 0.75 < row["hi"]
    # Kish: relative weights 1 (central) and 2 (outer) → (200 + 200)² / (200 + 400)
    assert row["effective_events"] == pytest.approx(400**2 / 600)
    # no threshold reaches 90 % of the module (max 75 %), although 83 % of events pass
    decision, max_eff = evaluator.at_efficiency("adc_sum", SignalClass.SN_NUE_CC, 0.9)
    assert max_eff == pytest.approx(1.0)  # every event has a candidate
    assert decision is not None
    assert decision.threshold == 1
    sn_mask = np.ones(events.size, bool)
    point_weights = weights / weights.sum()
    per_event = evaluator.candidates_per_event(Decision("adc_sum", 50))[sn_mask]
    assert float(point_weights[per_event > 0].sum()) == pytest.approx(0.75)
    equal = figures.Evaluator(grouped, events, np.ones((2, grouped.size)), None)
    pooled = efficiency_row(equal, Decision("adc_sum", 50), SignalClass.SN_NUE_CC)
    assert pooled["efficiency"] == 250 / 300
    assert pooled["effective_events"] == 300
    assert float(np.bincount(per_event, weights=point_weights)[0]) == pytest.approx(0.25)


def test_card_takes_the_operating_point_from_a_study_of_its_model(
    tiny_study: tuple[Path, dict], tmp_path: Path
) -> None:
    """`triggerml card` adds the validation stream's efficiencies at 0.1 and 1 Hz per APA
    (with intervals and exposure) to the model's card; a study of another model is refused
    in one line and the card is left as it was."""
    from conftest import run_cli

    study_dir = tiny_study[0] / "out"
    card_path = tmp_path / "tpmlp.json"
    card_path.write_text((REPO / "models" / "tpmlp.json").read_text())
    result = run_cli("card", str(card_path), "--study", str(study_dir))
    assert result.returncode == 0, result.stderr
    card = json.loads(card_path.read_text())
    summary = json.loads((study_dir / "summary.json").read_text())
    rows = card["validation"]["efficiency_at_rate"]
    assert {(r["trigger"], r["rate_hz_per_apa"]) for r in rows} == {
        (t, r) for t in ("ml", "combined", "adc_sum") for r in (0.1, 1.0)
    }
    source = {
        (r["rate_hz_per_apa"], r["signal"]): r["efficiency"]
        for r in summary["efficiency_at_rate"]["ml"]
    }
    for row in rows:
        if row["trigger"] == "ml":
            assert row["efficiency"] == source[(row["rate_hz_per_apa"], row["signal"])]
    assert card["validation"]["apa_seconds"] == summary["apa_seconds"]
    markdown = card_path.with_suffix(".md").read_text()
    assert "## Operating point on the validation stream" in markdown
    assert "Test split" in markdown  # the training figures stay
    # the firmware's cost: the build's estimate (no synthesis here), labelled as one
    fpga = card["validation"]["fpga"]
    assert fpga["source"].startswith("estimate (not synthesized")
    assert fpga["resources_per_instance"]["LUT"] > 0
    assert "FPGA cost per instance: LUT" in markdown
    other = tmp_path / "roi32.json"
    other.write_text((REPO / "models" / "roi32.json").read_text())
    before = other.read_text()
    refused = run_cli("card", str(other), "--study", str(study_dir))
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "not 'roi32'" in refused.stderr
    assert other.read_text() == before


def _chain_and_training_inputs(
    emulator: Any, config: Any, first_slice: int, n_slices: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """A stream of electrons through the chain, from ``first_slice`` on, and — from the same
    slices — every model input of the clusters above the pre-cut built by the code path the
    training set uses (HitFinder, InductionFinder, clusterer, build_inputs): the streamed
    clusters, their scores, and the reference inputs (one array per model input)."""
    from triggerml.detector.config import DetectorScenario, Particle, Singles
    from triggerml.detector.stream import ApaStream
    from triggerml.tpg.clusters import ClusterConfig, StreamingClusterer
    from triggerml.tpg.config import INDUCTION_TPG, TpgConfig
    from triggerml.tpg.hitfinder import HitFinder
    from triggerml.tpg.planes import InductionFinder, MatchConfig
    from triggerml.tpg.roi import build_inputs
    from triggerml.trigger.chain import BUFFER_SLICES, TriggerChain

    singles = Singles(particle=Particle.ELECTRON, rate_hz=3000.0, energies_mev=(6.0, 15.0))
    scenario = DetectorScenario(seconds=0.03, singles=singles)
    g, ticks = scenario.geometry, scenario.slice_ticks
    start = first_slice * ticks
    chain = TriggerChain(config, emulator, g, start_sample=start, batch=64)
    first_x = g.first_channel["x"]
    finder = HitFinder(
        g.plane_channels["x"],
        dataclasses.replace(TpgConfig(), first_channel=first_x),
        start_sample=start,
    )
    induction = InductionFinder(g, INDUCTION_TPG, MatchConfig(), BUFFER_SLICES, start)
    clusterer = StreamingClusterer(ClusterConfig())
    stream = ApaStream(scenario, first_slice=first_slice)
    streamed, scores = [], []
    reference: list[list[np.ndarray]] = [[] for _ in config.inputs]
    for _ in range(n_slices):
        adc = stream.next_slice().adc
        streamed.append(chain.process(adc))
        scores.append(chain.scores())
        hits = finder.process(adc[first_x:])
        induction.process(adc)
        clusters, cluster_hits, index = clusterer.add(hits, finder.open_since)
        passing = clusters["adc_sum"] >= config.precut_adc_sum
        if passing.any():
            keep = np.flatnonzero(passing)
            renumber = np.full(clusters.size, -1)
            renumber[keep] = np.arange(keep.size)
            hit_keep = passing[index]
            for parts, roi in zip(reference, config.inputs, strict=True):
                parts.append(
                    build_inputs(
                        roi,
                        np.zeros((g.plane_channels["x"], 0), dtype=np.int16),  # TP kinds only
                        0,
                        finder.pedestals,
                        first_x,
                        clusters[passing],
                        cluster_hits[hit_keep],
                        renumber[index[hit_keep]],
                        induction.hits(),
                    )
                )
    scores.append(chain.scores(final=True))
    return np.concatenate(streamed), np.concatenate(scores), [np.concatenate(p) for p in reference]


def test_the_multi_plane_chain_scores_what_the_training_code_builds(tmp_path: Path) -> None:
    """The chain runs the U and V planes' TPG beside the collection plane's and matches each
    cluster with its buffered induction hits, in a task that starts mid-stream: its scores
    equal the firmware's on inputs built from the same slices by the code path the training
    set uses, cluster for cluster."""
    from triggerml.emulator import load_emulator
    from triggerml.tpg.roi import InputKind, RoiConfig
    from triggerml.trigger.chain import ChainConfig

    out = tmp_path / "uvx"
    build(REPO / "models" / "tpmlpuvx.h5", out, BuildConfig(csim=False))
    emulator = load_emulator(out)
    config = ChainConfig(roi=RoiConfig(kind=InputKind.TP_FEATURES_UVX), precut_adc_sum=3000)
    clusters, streamed_scores, (inputs,) = _chain_and_training_inputs(emulator, config, 2, 6)
    passing = clusters["adc_sum"] >= config.precut_adc_sum
    assert passing.sum() > 10  # electrons above the pre-cut
    assert inputs.shape == (passing.sum(), 14)
    heights = inputs[:, -1]
    assert np.mean(heights >= 0) > 0.8  # the induction hits were found and matched
    expected = emulator.predict(inputs, logits=True)[:, -1]
    assert np.array_equal(streamed_scores[passing], expected)


def test_a_side_input_model_is_fed_both_inputs_by_the_chain(tmp_path: Path) -> None:
    """A model with a side input (collection TP features, then the multi-plane features
    joined after its first hidden layer): the chain builds both inputs for every cluster
    above the pre-cut and its scores equal the firmware's on the two inputs the training
    code path builds from the same slices."""
    from triggerml.emulator import load_emulator
    from triggerml.nn.zoo import ModelConfig, build_model
    from triggerml.tpg.roi import InputKind, RoiConfig
    from triggerml.trigger.chain import ChainConfig

    model_config = ModelConfig(
        name="side",
        input="tp_features",
        side_input="tp_features_uvx",
        merge_after=1,
        layers=(
            {"type": "dense", "units": 8, "bits": 8},
            {"type": "relu", "bits": 8, "integer": 4},
            {"type": "dense", "units": 1, "bits": 8},
        ),
    )
    model_config.validate()
    model = build_model(model_config, (8,), side_shape=(14,))
    assert [tuple(t.shape[1:]) for t in model.inputs] == [(8,), (14,)]
    rng = np.random.default_rng(8)
    for layer in model.layers:
        if layer.get_weights():
            layer.set_weights([rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])
    model.save(tmp_path / "side.h5")
    out = tmp_path / "fw"
    manifest = build(tmp_path / "side.h5", out, BuildConfig(events=200))
    assert [p["shape"] for p in manifest["inputs"]] == [[8], [14]]
    assert manifest["csim"]["mismatches"] == 0
    assert manifest["csim"]["emulator_mismatches"] == 0
    emulator = load_emulator(out)
    main = RoiConfig(kind=InputKind.TP_FEATURES)
    side = RoiConfig(kind=InputKind.TP_FEATURES_UVX)
    config = ChainConfig(roi=main, side=side, precut_adc_sum=3000)
    with pytest.raises(ValueError, match="builder makes"):  # the side input missing
        _chain_and_training_inputs(emulator, ChainConfig(roi=main), 0, 1)
    clusters, scores, inputs = _chain_and_training_inputs(emulator, config, 0, 6)
    passing = clusters["adc_sum"] >= config.precut_adc_sum
    assert passing.sum() > 10
    expected = emulator.predict(inputs, logits=True)[:, -1]
    assert np.array_equal(scores[passing], expected)
    # the side input matters: the same clusters without it score differently
    blank = emulator.predict([inputs[0], np.zeros_like(inputs[1])], logits=True)[:, -1]
    assert np.any(blank != expected)


def test_card_fpga_cost_of_an_older_study_comes_from_its_firmware_if_built_from_the_card(
    firmware: Path,
) -> None:
    """A study whose budget has no resources (run before builds carried an estimate): the
    card takes the estimate of the study's firmware folder — only when that firmware was
    built from the card's weights."""
    from triggerml.compile.estimate import estimate_build
    from triggerml.nn.card import _fpga

    budget = {"source": "estimate (not synthesized)", "interval_cycles": 1, "clock_ns": 5.0}
    manifest = json.loads((firmware / "manifest.json").read_text())
    same = _fpga(budget, {"firmware": str(firmware)}, manifest["source"]["sha256"])
    assert same is not None
    expected = {k: row["used"] for k, row in estimate_build(firmware)["resources"].items()}
    assert same["resources_per_instance"] == expected
    assert same["source"].startswith("estimate (not synthesized; against 5 real HLS reports")
    assert _fpga(budget, {"firmware": str(firmware)}, "0" * 64) is None


def test_card_takes_the_fpga_cost_of_a_build_of_its_weights(firmware: Path, tmp_path: Path) -> None:
    """`triggerml card --firmware DIR`: the build's estimate (no synthesis here), labelled,
    in the card and its Markdown; a build of other weights is refused in one line and the
    card left as it was; neither option is a usage error."""
    from conftest import run_cli

    from triggerml.compile.estimate import estimate_build

    card_path = tmp_path / "tpmlp.json"
    card_path.write_text((REPO / "models" / "tpmlp.json").read_text())
    done = run_cli("card", str(card_path), "--firmware", str(firmware))
    assert done.returncode == 0, done.stderr
    fpga = json.loads(card_path.read_text())["fpga"]
    estimate = estimate_build(firmware)
    assert fpga["resources_per_instance"] == {
        k: row["used"] for k, row in estimate["resources"].items()
    }
    assert fpga["multiplications"] == estimate["multiplications"] > 0
    assert fpga["latency_cycles"] == estimate["latency_cycles"]
    assert fpga["source"].startswith("estimate (not synthesized; against 5 real HLS reports")
    markdown = card_path.with_suffix(".md").read_text()
    assert "## FPGA cost" in markdown
    assert f"LUT {estimate['resources']['LUT']['used']}" in markdown
    assert "Test split" in markdown
    other = tmp_path / "roi32.json"
    other.write_text((REPO / "models" / "roi32.json").read_text())
    before = other.read_text()
    refused = run_cli("card", str(other), "--firmware", str(firmware))
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "built from other weights than roi32's card" in refused.stderr
    assert other.read_text() == before
    neither = run_cli("card", str(card_path))
    assert neither.returncode == 2
    assert "give --study DIR, --firmware DIR or both" in neither.stderr
