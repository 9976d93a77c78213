"""`triggerml study`: run a scenario's tasks, then turn their scored clusters into the
summary, the report and the plots.

Layout of DIR: ``tasks/`` (one result file per task; ``plan.json`` names the study they
belong to), ``summary.json`` (written last), ``report.md``, ``*.png``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml import __version__
from triggerml.config import ConfigError, to_mapping
from triggerml.detector.config import ApaKind
from triggerml.io import (
    check_output_folder,
    now_iso,
    sha256_file,
    sha256_json,
    versions,
    write_json,
)
from triggerml.parallel import APA_STRIDE
from triggerml.trigger import analysis, burst, candidates, execute, figures, plots, report
from triggerml.trigger.budget import firmware_budget
from triggerml.trigger.figures import SignalClass
from triggerml.trigger.scenario import Resolved, StudyKind, StudyScenario, resolve
from triggerml.trigger.tasks import is_signal as tasks_is_signal
from triggerml.trigger.tasks import plan

SCHEMA_VERSION = 2
BURST_KEYS = (
    "reach_kpc",
    "milky_way_efficiency",
    "lmc_efficiency",
    "background_per_window",
    "fake_bursts_per_month",
    "fake_bursts_per_month_bound",
)
TASK_FORMAT = 2  # task files' fields (2: clusters carry `end`, scores −inf below the pre-cut)


class StudyError(ValueError):
    """A study that cannot run as configured (one line for the CLI)."""


@dataclass
class Pooled:
    """All tasks' results together."""

    candidates: npt.NDArray
    events: npt.NDArray
    live_seconds: float
    samples: int
    chain_seconds: float
    simulate_seconds: float
    stage_seconds: dict[str, float]
    tasks: int
    apa_seconds: dict[str, float]  # counted APA-seconds per APA kind
    half_seconds: tuple[dict[str, float], dict[str, float]]  # per kind: even, odd slices
    peak_rss_mb: float | None  # the largest process (worker) peak memory over the tasks


def fingerprint(resolved: Resolved) -> dict[str, Any]:
    """What the task results depend on: a different one means a different study."""
    emulation = Path(resolved.scenario.firmware) / "emulation"
    return {
        "triggerml": __version__,
        "task_format": TASK_FORMAT,
        "scenario": sha256_json(to_mapping(resolved.scenario)),
        "dataset": resolved.dataset.fingerprint(),
        "firmware": {
            name: sha256_file(emulation / name) if (emulation / name).is_file() else None
            for name in ("graph.json", "weights.npz")
        },
    }


def stamp_tasks(tasks_dir: Path, stamp: dict[str, Any], refusal: str) -> None:
    """Write what a folder's task results depend on (``plan.json``); a folder stamped
    otherwise holds other results: refused with ``refusal``."""
    plan_file = tasks_dir / "plan.json"
    if plan_file.is_file() and json.loads(plan_file.read_text()) != stamp:
        raise StudyError(refusal)
    write_json(plan_file, stamp)


def check(resolved: Resolved) -> None:
    scenario = resolved.scenario
    detector = scenario.detector
    if not (Path(scenario.firmware) / "manifest.json").is_file():
        raise StudyError(
            f"firmware: {scenario.firmware} is not a triggerml build folder; make it with "
            f"`triggerml build models/<model>.h5 --out {scenario.firmware}`"
        )
    if StudyKind.THRESHOLD_SCAN in scenario.studies and detector.singles.rate_hz <= 0:
        raise ConfigError(
            "detector.singles: threshold_scan needs single particles (rate_hz, energies_mev)"
        )
    if StudyKind.SNB_REACH in scenario.studies and detector.supernova.distance_kpc is None:
        raise ConfigError("detector.supernova.distance_kpc: snb_reach needs supernova events")


def is_study_folder(folder: Path) -> bool:
    """Does ``folder`` hold a study (its task plan or summary)?"""
    return (folder / "tasks" / "plan.json").is_file() or (folder / "summary.json").is_file()


def run_study(
    scenario: StudyScenario,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    fresh: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Run (or resume) the study into ``out``; returns the summary.  ``fresh``: discard
    earlier task results in ``out`` instead of resuming.  ``out`` must be missing, empty or
    a study's folder (``force``: write into any folder, its other files left alone)."""
    started = time.perf_counter()
    resolved = resolve(scenario)
    check(resolved)
    out = Path(out)
    check_output_folder(out, is_study_folder, "a triggerml study", force)
    tasks_dir = out / "tasks"
    if fresh and tasks_dir.is_dir():
        shutil.rmtree(tasks_dir)
    tasks_dir.mkdir(parents=True, exist_ok=True)
    stamp_tasks(
        tasks_dir,
        fingerprint(resolved),
        f"{out} holds results of a different study (scenario, training set or firmware "
        "changed): choose another --out, or --fresh to discard them",
    )
    tasks = plan(resolved)
    done = sum(execute.result_path(tasks_dir, t).is_file() for t in tasks)
    done_before = done
    if on_progress is not None:
        on_progress(done, len(tasks))

    def tick(_: str) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, len(tasks))

    execute.execute(resolved, tasks, tasks_dir, workers, scheduler, tick)
    pooled = pool([execute.load(execute.result_path(tasks_dir, t)) for t in tasks])
    summary = summarize(resolved, pooled, out)
    # this invocation's wall time (tasks finished by an earlier, resumed run not included)
    summary["stream"]["wall_seconds"] = time.perf_counter() - started
    summary["stream"]["tasks_resumed"] = done_before
    report.write(out / "report.md", summary)
    write_json(out / "summary.json", summary)
    return summary


def pool(results: list[execute.TaskResult]) -> Pooled:
    stages: dict[str, float] = {}
    apa_seconds: dict[str, float] = {}
    halves: tuple[dict[str, float], dict[str, float]] = ({}, {})
    for result in results:
        for name, seconds in result.stage_seconds.items():
            stages[name] = stages.get(name, 0.0) + seconds
        kind = result.task.kind
        apa_seconds[kind] = apa_seconds.get(kind, 0.0) + result.live_seconds
        first, last = result.counted_first_slice, result.task.last_slice
        per_slice = result.live_seconds / max(last - first, 1)
        odd = last // 2 - first // 2  # odd slice indices in [first, last)
        for half, n in enumerate((last - first - odd, odd)):
            halves[half][kind] = halves[half].get(kind, 0.0) + n * per_slice
    return Pooled(
        np.concatenate([r.candidates for r in results]),
        np.concatenate([r.events for r in results]),
        sum(r.live_seconds for r in results),
        sum(r.samples for r in results),
        sum(r.chain_seconds for r in results),
        sum(r.simulate_seconds for r in results),
        stages,
        len(results),
        apa_seconds,
        halves,
        max((r.peak_rss_mb for r in results if r.peak_rss_mb is not None), default=None),
    )


def evaluator_of(resolved: Resolved, pooled: Pooled) -> figures.Evaluator:
    """The pooled clusters grouped into candidates, with the halves' rate weights and the
    signal events' module weights: what every figure is computed from."""
    scenario = resolved.scenario
    floor = resolved.chain.precut_adc_sum
    grouped = candidates.build(
        pooled.candidates, scenario.candidates, scenario.stream.slice_ticks, APA_STRIDE, floor
    )
    if floor > 0:
        # candidates below the pre-cut pass no trigger at the rates reported (the model does
        # not score them; the ADC sum's thresholds there lie far above it): the figures need
        # only the signal and the candidates above it
        grouped = grouped.select(grouped.signal | (grouped.adc_sum >= floor))
    weights = half_weights(grouped, scenario, pooled.half_seconds)
    mass_shares = scenario.module_mass_shares()
    event_weights = figures.module_event_weights(
        pooled.events,
        np.asarray(pooled.events["apa"], dtype=np.int64) // APA_STRIDE,
        np.array([mass_shares[k.value] for k in scenario.apa_kinds]),
    )
    objective = _objective(scenario, pooled.events)
    return figures.Evaluator(grouped, pooled.events, weights, objective, event_weights)


def summarize(resolved: Resolved, pooled: Pooled, out: Path) -> dict[str, Any]:
    scenario = resolved.scenario
    detector = scenario.stream
    apa_rate = detector.geometry.n_channels * detector.readout.sampling_hz
    per_apa = pooled.live_seconds / (scenario.apas * len(scenario.apa_kinds))
    floor = resolved.chain.precut_adc_sum
    evaluator = evaluator_of(resolved, pooled)
    sn_events = pooled.events[figures.class_mask(pooled.events, SignalClass.SN_NUE_CC)]
    objective = evaluator.objective
    mass_shares = scenario.module_mass_shares()
    rate = scenario.working_point.rate_hz_per_apa
    decisions = {t: evaluator.at_rate(t, rate) for t in figures.TRIGGERS}
    measured = {
        t: evaluator.measured_rate(evaluator.decision_metric(d), d.threshold)
        for t, d in decisions.items()
    }
    clusters_per_s = _clusters_per_s(pooled, scenario)
    scored_per_s = _clusters_per_s(pooled, scenario, scored_only=True)
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario.name,
        "seed": scenario.seed,
        "studies": [s.value for s in scenario.studies],
        "apa_seconds": {kind.value: pooled.apa_seconds.get(kind.value, 0.0) for kind in ApaKind},
        "apa_seconds_by_half": {
            name: {kind.value: half.get(kind.value, 0.0) for kind in ApaKind}
            for name, half in zip(("tuning", "reporting"), pooled.half_seconds, strict=True)
        },
        "rate_at_90pct_hz_per_apa": {},
        "efficiency_at_rate": {},
        # the burst figures, filled by the snb_reach study (null per trigger without it)
        **{key: dict.fromkeys(figures.TRIGGERS) for key in BURST_KEYS},
        "background_rate_hz_per_apa": {t: r.value for t, r in measured.items()},
        "background_rate_interval": {t: r.row() for t, r in measured.items()},
        "thresholds": {t: d.row() for t, d in decisions.items()},
        "e50_mev": dict.fromkeys(figures.TRIGGERS),
        "efficiency_vs_distance": {t: [] for t in figures.TRIGGERS},
        "stream": _stream_speed(pooled, apa_rate),
        "live_seconds_per_apa": per_apa,
        "module_shares": scenario.module_shares(),
        "module_mass_shares": mass_shares,
        "apas": scenario.apas,
        "tasks": pooled.tasks,
        "clusters_per_s_per_apa": clusters_per_s,
        "scored_clusters_per_s_per_apa": scored_per_s,
        "precut_adc_sum": resolved.chain.precut_adc_sum,
        "candidates": _candidate_counts(scenario, pooled, evaluator, floor),
        "combined_grid": {
            "t_lo": evaluator.t_lo_grid,
            "t_hi": evaluator.t_hi_grid,
            "objective": objective.value if objective else None,
        },
        "background_clusters": int(
            (~tasks_is_signal(pooled.candidates) & pooled.candidates["in_range"]).sum()
        ),
        "firmware": firmware_budget(scenario.firmware, scored_per_s),
        "model": scenario.model,
        "input_kind": resolved.input_kind,
        "plots": {},
    }
    summary["warnings"] = exposure_warnings(
        min(sum(h.values()) for h in pooled.half_seconds),
        scenario.apas * len(scenario.apa_kinds),
        min(scenario.working_point.report_rates_hz_per_apa),
    )
    _operating_points(summary, scenario, evaluator, floor)
    _shape_control(summary, scenario, evaluator, resolved)
    if StudyKind.THRESHOLD_SCAN in scenario.studies:
        _threshold_scan(summary, scenario, pooled, evaluator, decisions, out)
    if StudyKind.SNB_REACH in scenario.studies:
        _snb_reach(summary, scenario, evaluator, sn_events, out)
    summary["plots"]["rate_vs_efficiency"] = plots.rate_vs_efficiency(
        evaluator, summary, out / "rate_vs_efficiency.png"
    ).name
    summary["versions"] = versions()
    summary["scenario_config"] = to_mapping(scenario)
    summary["created"] = now_iso()
    return summary


def _stream_speed(pooled: Pooled, apa_rate: float) -> dict[str, Any]:
    """The chain's speed against one APA's real-time readout (the simulator excluded)."""
    samples_per_s = pooled.samples / pooled.chain_seconds if pooled.chain_seconds else 0.0
    return {
        "samples_per_s": samples_per_s,
        "fraction_of_real_time": samples_per_s / apa_rate,
        "apa_samples_per_s_real_time": apa_rate,
        "stage_seconds": pooled.stage_seconds,
        "chain_seconds": pooled.chain_seconds,
        "simulate_seconds": pooled.simulate_seconds,
        "samples": pooled.samples,
        "peak_rss_mb_per_worker": pooled.peak_rss_mb,
    }


def _candidate_counts(
    scenario: StudyScenario, pooled: Pooled, evaluator: figures.Evaluator, floor: int
) -> dict[str, Any]:
    """The grouping's windows and what it made of the clusters."""
    return {
        **to_mapping(scenario.candidates),
        "clusters": int(pooled.candidates.size),
        "candidates_analysed": evaluator.c.size,
        "analysis_floor_adc_sum": floor,
        "background_candidates": {
            name: int(mask.sum())
            for name, mask in zip(("tuning", "reporting"), evaluator.bkg, strict=True)
        },
    }


def _objective(scenario: StudyScenario, events: npt.NDArray) -> SignalClass | None:
    """What the combined trigger's grid maximizes: SN νe-CC if simulated, else 5–10 MeV
    electrons."""
    for signal in (SignalClass.SN_NUE_CC, SignalClass.ELECTRON_5_10_MEV):
        if signal in scenario.signals and figures.class_mask(events, signal).any():
            return signal
    return None


def _clusters_per_s(pooled: Pooled, scenario: StudyScenario, scored_only: bool = False) -> float:
    """Module-average clusters (or model inferences) per second per APA."""
    c = pooled.candidates
    mask = c["in_range"] & (np.isfinite(c["score"]) if scored_only else True)
    weights = rate_weights(c, scenario, pooled.apa_seconds)
    return float(weights[mask].sum())


def half_weights(
    grouped: candidates.Candidates,
    scenario: StudyScenario,
    half_seconds: tuple[dict[str, float], dict[str, float]],
) -> npt.NDArray[np.float64]:
    """(2, n): each candidate's contribution to the module-average rate per APA measured on
    the tuning (0) and reporting (1) half."""
    shares = scenario.module_shares()
    out = np.zeros((2, grouped.size))
    index = np.clip(grouped.kind, 0, len(scenario.apa_kinds) - 1)
    for half, seconds in enumerate(half_seconds):
        per_kind = np.array(
            [
                shares[k.value] / seconds[k.value] if seconds.get(k.value, 0.0) > 0 else 0.0
                for k in scenario.apa_kinds
            ]
        )
        out[half] = per_kind[index]
    return out


def rate_weights(
    clusters: npt.NDArray, scenario: StudyScenario, apa_seconds: dict[str, float]
) -> npt.NDArray[np.float64]:
    """Each cluster's contribution to a module-average rate per APA (Hz): its APA kind's
    share of the module's APAs over that kind's counted APA-seconds."""
    shares = scenario.module_shares()
    per_kind = np.zeros(len(scenario.apa_kinds))
    for index, kind in enumerate(scenario.apa_kinds):
        seconds = apa_seconds.get(kind.value, 0.0)
        per_kind[index] = shares[kind.value] / seconds if seconds > 0 else 0.0
    kind_index = np.asarray(clusters["apa"], dtype=np.int64) // APA_STRIDE
    return per_kind[np.clip(kind_index, 0, per_kind.size - 1)]


def exposure_warnings(live_seconds: float, apas: int, rate_hz_per_apa: float) -> list[str]:
    """What the exposure cannot resolve: a working point below one background candidate in
    the reporting half's exposure is a limit, not a measurement."""
    warnings: list[str] = []
    smallest = 1.0 / live_seconds if live_seconds > 0 else float("inf")
    if rate_hz_per_apa * live_seconds < 1.0:
        needed = 2 * 10.0 / rate_hz_per_apa  # ≈10 background candidates in each half
        warnings.append(
            f"exposure of {live_seconds:.3g} APA-s per half (tuning, reporting) cannot resolve "
            f"{rate_hz_per_apa:g} Hz per APA (the smallest measurable rate is {smallest:.3g} Hz): "
            f"figures at lower rates are limits; simulate ≥ {needed / apas:.3g} s per APA "
            "(≈10 background candidates per half)"
        )
    elif rate_hz_per_apa * live_seconds < 10.0:
        warnings.append(
            f"only {rate_hz_per_apa * live_seconds:.1f} background candidates expected at "
            f"{rate_hz_per_apa:g} Hz per APA in {live_seconds:.3g} APA-s per half: that rate "
            f"is uncertain by ≥ {100 / np.sqrt(max(rate_hz_per_apa * live_seconds, 1.0)):.0f} %"
        )
    return warnings


def _operating_points(
    summary: dict[str, Any], scenario: StudyScenario, evaluator: figures.Evaluator, floor: int
) -> None:
    """rate_at_90pct_hz_per_apa and efficiency_at_rate for every trigger."""
    signals = list(scenario.signals)
    for trigger in figures.TRIGGERS:
        at90: dict[str, Any] = {}
        for signal in (SignalClass.ELECTRON_5_10_MEV, SignalClass.SN_NUE_CC):
            if signal not in signals:
                continue
            decision, max_eff = evaluator.at_efficiency(trigger, signal)
            if decision is not None and trigger == "adc_sum" and decision.threshold < floor:
                summary["warnings"].append(
                    f"adc_sum: 90 % efficiency for {signal.value} needs an ADC sum below the "
                    f"pre-cut ({floor}), where the study kept no background candidates"
                )
                decision, max_eff = None, float("nan")
            if decision is None:
                at90[signal.value] = {
                    "value": None,
                    "lo": None,
                    "hi": None,
                    "max_efficiency": None if np.isnan(max_eff) else max_eff,
                }
                summary["warnings"].append(
                    f"{trigger}: no threshold reaches 90 % efficiency for {signal.value} "
                    + (
                        "(no such events simulated)"
                        if np.isnan(max_eff)
                        else f"(at most {max_eff:.3f})"
                    )
                )
                continue
            values = evaluator.decision_metric(decision)
            rate = evaluator.measured_rate(values, decision.threshold)
            at90[signal.value] = {
                **rate.row(),
                "decision": decision.row(),
                "background_sources": evaluator.background_sources(values, decision.threshold),
            }
        summary["rate_at_90pct_hz_per_apa"][trigger] = at90
        rows = []
        for target in scenario.working_point.report_rates_hz_per_apa:
            decision = evaluator.at_rate(trigger, target)
            rate = evaluator.measured_rate(evaluator.decision_metric(decision), decision.threshold)
            for signal in (
                SignalClass.ELECTRON_5_MEV,
                SignalClass.ELECTRON_10_MEV,
                SignalClass.SN_NUE_CC,
            ):
                if signal not in signals:
                    continue
                rows.append(
                    {
                        "rate_hz_per_apa": target,
                        **figures.efficiency_row(evaluator, decision, signal),
                        "measured_rate_hz_per_apa": rate.row(),
                        # the exposure cannot resolve the target: the threshold sits above
                        # every tuning background, the efficiency is an upper limit
                        "limit": not evaluator.resolvable(target),
                        "decision": decision.row(),
                    }
                )
        summary["efficiency_at_rate"][trigger] = rows


def _shape_control(
    summary: dict[str, Any],
    scenario: StudyScenario,
    evaluator: figures.Evaluator,
    resolved: Resolved,
) -> None:
    """The ADC sum over the ML's own input window, tuned and measured like the triggers: a
    gain of ML over the ADC sum that this matches comes from seeing more charge, not from
    learning the event's shape."""
    trigger = figures.SHAPE_CONTROL
    roi = resolved.chain.roi
    rows = []
    for target in scenario.working_point.report_rates_hz_per_apa:
        decision = evaluator.at_rate(trigger, target)
        for signal in scenario.signals:
            rows.append(
                {
                    "rate_hz_per_apa": target,
                    **figures.efficiency_row(evaluator, decision, signal),
                }
            )
    at90: dict[str, Any] = {}
    for signal in (SignalClass.ELECTRON_5_10_MEV, SignalClass.SN_NUE_CC):
        found, max_eff = evaluator.at_efficiency(trigger, signal)
        if found is None:
            at90[signal.value] = {"value": None, "max_efficiency": max_eff}
            continue
        rate = evaluator.measured_rate(evaluator.decision_metric(found), found.threshold)
        at90[signal.value] = rate.row()
    summary["shape_control"] = {
        "window": {"wires": roi.channels, "samples": roi.ticks, "kind": roi.kind.value},
        "efficiency_at_rate": rows,
        "rate_at_90pct_hz_per_apa": at90,
    }


def _threshold_scan(
    summary: dict[str, Any],
    scenario: StudyScenario,
    pooled: Pooled,
    evaluator: figures.Evaluator,
    decisions: dict[str, figures.Decision],
    out: Path,
) -> None:
    events = pooled.events
    listed = np.array(scenario.detector.singles.energies_mev, dtype=np.float64)
    singles = np.char.startswith(events["kind"], b"single_") & np.isin(
        np.round(events["true_energy_mev"], 6), np.round(listed, 6)
    )
    curves = {}
    for name, decision in decisions.items():
        best = evaluator.best_per_event(evaluator.decision_metric(decision))
        curves[name] = analysis.efficiency_vs_energy(
            events[singles], best[singles] >= decision.threshold
        )
        summary["e50_mev"][name] = curves[name].e50_mev
    summary["efficiency_vs_energy"] = {name: c.rows() for name, c in curves.items()}
    summary["erf_fit"] = {
        name: dict(zip(("plateau", "mean_mev", "sigma_mev"), c.fit, strict=True)) if c.fit else None
        for name, c in curves.items()
    }
    summary["plots"]["efficiency_vs_energy"] = plots.efficiency_vs_energy(
        curves, scenario.working_point.rate_hz_per_apa, out / "efficiency_vs_energy.png"
    ).name


def _snb_reach(
    summary: dict[str, Any],
    scenario: StudyScenario,
    evaluator: figures.Evaluator,
    sn_events: npt.NDArray,
    out: Path,
) -> None:
    """Each trigger's burst reach at its best working point of the scan."""
    details = {}
    reach = {}
    curves = {}
    sn_mask = figures.class_mask(evaluator.events, SignalClass.SN_NUE_CC)
    for i, trigger in enumerate(figures.TRIGGERS):
        scan = []
        for target in scenario.working_point.scan_rates_hz_per_apa:
            decision = evaluator.at_rate(trigger, target)
            args = (evaluator, decision, sn_mask, scenario.stream, scenario.burst)
            # the point is chosen by its reach on the tuning half's background and reported
            # on the other half: choosing on the reported counts would favour a point whose
            # background fluctuated down there
            chooser = burst.operating_point(*args, half=figures.TUNING)
            scan.append((target, decision, burst.operating_point(*args), chooser))
        target, decision, point, _ = max(
            scan, key=lambda s: (s[3].reach50 or 0.0, s[3].reach90 or 0.0, -s[0])
        )
        curves[trigger] = point.curve
        summary["reach_kpc"][trigger] = {
            "eff90": point.reach90,
            "eff50": point.reach50,
            "rate_hz_per_apa": target,
            "limit": point.rate.limit,
        }
        summary["milky_way_efficiency"][trigger] = burst.milky_way_efficiency(point.curve)
        summary["lmc_efficiency"][trigger] = float(
            np.interp(np.log(50.0), np.log(burst.REACH_GRID_KPC), point.curve)
        )
        summary["background_per_window"][trigger] = point.window_row()
        summary["fake_bursts_per_month"][trigger] = point.fake_at_mean
        summary["fake_bursts_per_month_bound"][trigger] = point.fake_bound
        toys = burst.reach(
            point.per_event,
            point.threshold,
            scenario.stream,
            scenario.burst,
            scenario.burst.seed + i,
            point.event_weights,
        )
        reach[trigger] = toys
        summary["efficiency_vs_distance"][trigger] = [p.row() for p in toys]
        details[trigger] = {
            "sn_events": int(sn_events.size),
            "sn_event_efficiency": point.event_efficiency,
            "candidates_per_sn_event": point.candidates_per_event,
            "burst_threshold_count": point.threshold.count,
            "decision": decision.row(),
            "scan": [
                {
                    "rate_hz_per_apa": t,
                    "reach_eff50_kpc": p.reach50,
                    "reach_eff90_kpc": p.reach90,
                    "measured_rate_hz_per_apa": p.rate.row(),
                    "tuning_reach_eff50_kpc": c.reach50,  # what chose the point
                }
                for t, _, p, c in scan
            ],
        }
    summary["burst"] = {
        **to_mapping(scenario.burst),
        "module_mass_t": scenario.stream.module_mass_t(),
        "events_in_window_10kpc": burst.events_in_window(scenario.stream, scenario.burst, 10.0),
        "milky_way_model": burst.MILKY_WAY_MODEL,
        "triggers": details,
    }
    summary["plots"]["snb_reach"] = plots.reach(reach, curves, out / "snb_reach.png").name
