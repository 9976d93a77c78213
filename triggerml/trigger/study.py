"""`triggerml study`: run a scenario's tasks, then turn their scored clusters into the
summary, the report and the plots.

Layout of DIR: ``tasks/`` (one result file per task; ``plan.json`` names the study they
belong to), ``summary.json`` (written last), ``report.md``, ``*.png``.
"""

from __future__ import annotations

import json
import shutil
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
from triggerml.trigger import analysis, burst, execute, plots, report
from triggerml.trigger.budget import firmware_budget
from triggerml.trigger.scenario import Resolved, StudyKind, StudyScenario, resolve
from triggerml.trigger.tasks import APA_STRIDE, plan

SCHEMA_VERSION = 1


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


def fingerprint(resolved: Resolved) -> dict[str, Any]:
    """What the task results depend on: a different one means a different study."""
    emulation = Path(resolved.scenario.firmware) / "emulation"
    return {
        "triggerml": __version__,
        "scenario": sha256_json(to_mapping(resolved.scenario)),
        "dataset": sha256_json(to_mapping(resolved.dataset)),
        "firmware": {
            name: sha256_file(emulation / name) if (emulation / name).is_file() else None
            for name in ("graph.json", "weights.npz")
        },
    }


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
    resolved = resolve(scenario)
    check(resolved)
    out = Path(out)
    check_output_folder(out, is_study_folder, "a triggerml study", force)
    tasks_dir = out / "tasks"
    if fresh and tasks_dir.is_dir():
        shutil.rmtree(tasks_dir)
    tasks_dir.mkdir(parents=True, exist_ok=True)
    stamp = fingerprint(resolved)
    plan_file = tasks_dir / "plan.json"
    if plan_file.is_file() and json.loads(plan_file.read_text()) != stamp:
        raise StudyError(
            f"{out} holds results of a different study (scenario, training set or firmware "
            "changed): choose another --out, or --fresh to discard them"
        )
    write_json(plan_file, stamp)
    tasks = plan(resolved)
    done = sum(execute.result_path(tasks_dir, t).is_file() for t in tasks)
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
    report.write(out / "report.md", summary)
    write_json(out / "summary.json", summary)
    return summary


def pool(results: list[execute.TaskResult]) -> Pooled:
    stages: dict[str, float] = {}
    apa_seconds: dict[str, float] = {}
    for result in results:
        for name, seconds in result.stage_seconds.items():
            stages[name] = stages.get(name, 0.0) + seconds
        kind = result.task.kind
        apa_seconds[kind] = apa_seconds.get(kind, 0.0) + result.live_seconds
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
    )


def summarize(resolved: Resolved, pooled: Pooled, out: Path) -> dict[str, Any]:
    scenario = resolved.scenario
    detector = scenario.stream
    apa_rate = detector.geometry.n_channels * detector.readout.sampling_hz
    per_apa = pooled.live_seconds / (scenario.apas * len(scenario.apa_kinds))
    weights = rate_weights(pooled.candidates, scenario, pooled.apa_seconds)
    thresholds = analysis.working_point(
        pooled.candidates, pooled.live_seconds, scenario.working_point.rate_hz_per_apa, weights
    )
    samples_per_s = pooled.samples / pooled.chain_seconds if pooled.chain_seconds else 0.0
    in_range = pooled.candidates["in_range"]
    clusters_per_s = float(weights[in_range].sum())
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario.name,
        "seed": scenario.seed,
        "studies": [s.value for s in scenario.studies],
        "background_rate_hz_per_apa": {name: t.rate_hz_per_apa for name, t in thresholds.items()},
        "thresholds": {name: t.value for name, t in thresholds.items()},
        "e50_mev": dict.fromkeys(analysis.TRIGGERS),
        "fake_bursts_per_month": dict.fromkeys(analysis.TRIGGERS),
        "efficiency_vs_distance": {name: [] for name in analysis.TRIGGERS},
        "stream": {
            "samples_per_s": samples_per_s,
            "fraction_of_real_time": samples_per_s / apa_rate,
            "apa_samples_per_s_real_time": apa_rate,
            "stage_seconds": pooled.stage_seconds,
            "chain_seconds": pooled.chain_seconds,
            "simulate_seconds": pooled.simulate_seconds,
            "samples": pooled.samples,
        },
        "live_seconds_per_apa": per_apa,
        # rates per APA are module averages: each kind weighted by its share of the module
        "apa_seconds": {kind.value: pooled.apa_seconds.get(kind.value, 0.0) for kind in ApaKind},
        "module_shares": scenario.module_shares(),
        "apas": scenario.apas,
        "tasks": pooled.tasks,
        "clusters_per_s_per_apa": clusters_per_s,
        "background_clusters": int(analysis.background(pooled.candidates).size),
        "firmware": firmware_budget(scenario.firmware, clusters_per_s),
        "model": scenario.model,
        "input_kind": resolved.input_kind,
        "plots": {},
    }
    summary["warnings"] = exposure_warnings(
        pooled.live_seconds,
        scenario.apas * len(scenario.apa_kinds),
        scenario.working_point.rate_hz_per_apa,
    )
    if StudyKind.THRESHOLD_SCAN in scenario.studies:
        _threshold_scan(summary, pooled, thresholds, out, weights)
    if StudyKind.SNB_REACH in scenario.studies:
        _snb_reach(summary, resolved, pooled, thresholds, out)
    summary["versions"] = versions()
    summary["scenario_config"] = to_mapping(scenario)
    summary["created"] = now_iso()
    return summary


def rate_weights(
    candidates: npt.NDArray, scenario: StudyScenario, apa_seconds: dict[str, float]
) -> npt.NDArray[np.float64]:
    """Each candidate's contribution to a module-average rate per APA (Hz): its APA kind's
    share of the module's APAs over that kind's counted APA-seconds."""
    shares = scenario.module_shares()
    per_kind = np.zeros(len(scenario.apa_kinds))
    for index, kind in enumerate(scenario.apa_kinds):
        seconds = apa_seconds.get(kind.value, 0.0)
        per_kind[index] = shares[kind.value] / seconds if seconds > 0 else 0.0
    kind_index = np.asarray(candidates["apa"], dtype=np.int64) // APA_STRIDE
    return per_kind[np.clip(kind_index, 0, per_kind.size - 1)]


def exposure_warnings(live_seconds: float, apas: int, rate_hz_per_apa: float) -> list[str]:
    """What the exposure cannot resolve: a working point below one background candidate in
    the whole exposure is a limit, not a measurement (so is everything built on it)."""
    warnings: list[str] = []
    smallest = 1.0 / live_seconds if live_seconds > 0 else float("inf")
    if rate_hz_per_apa * live_seconds < 1.0:
        needed = 10.0 / rate_hz_per_apa  # ≈10 background candidates: ±30 % on the rate
        warnings.append(
            f"exposure of {live_seconds:.3g} APA-s cannot resolve the working point of "
            f"{rate_hz_per_apa:g} Hz per APA (the smallest measurable rate is {smallest:.3g} Hz): "
            f"rates, thresholds, E50 and burst figures below are limits; simulate ≥ "
            f"{needed / apas:.3g} s per APA (≈10 background candidates)"
        )
    elif rate_hz_per_apa * live_seconds < 10.0:
        warnings.append(
            f"only {rate_hz_per_apa * live_seconds:.1f} background candidates expected at the "
            f"working point in {live_seconds:.3g} APA-s: its rate is uncertain by "
            f"≥ {100 / np.sqrt(max(rate_hz_per_apa * live_seconds, 1.0)):.0f} %"
        )
    return warnings


def _threshold_scan(
    summary: dict[str, Any],
    pooled: Pooled,
    thresholds: dict[str, analysis.Threshold],
    out: Path,
    weights: npt.NDArray[np.float64],
) -> None:
    singles = pooled.events[np.char.startswith(pooled.events["kind"], b"single_")]
    curves = {}
    for name, threshold in thresholds.items():
        counts = analysis.candidates_per_event(pooled.candidates, singles, name, threshold.value)
        curves[name] = analysis.efficiency_vs_energy(singles, counts > 0)
        summary["e50_mev"][name] = curves[name].e50_mev
    summary["efficiency_vs_energy"] = {name: c.rows() for name, c in curves.items()}
    summary["erf_fit"] = {
        name: dict(zip(("plateau", "mean_mev", "sigma_mev"), c.fit, strict=True)) if c.fit else None
        for name, c in curves.items()
    }
    summary["plots"]["efficiency_vs_energy"] = plots.efficiency_vs_energy(
        curves, thresholds, out / "efficiency_vs_energy.png"
    ).name
    summary["plots"]["rate_vs_efficiency"] = plots.rate_vs_efficiency(
        pooled.candidates,
        singles,
        pooled.live_seconds,
        thresholds,
        out / "rate_vs_efficiency.png",
        weights,
    ).name


def _snb_reach(
    summary: dict[str, Any],
    resolved: Resolved,
    pooled: Pooled,
    thresholds: dict[str, analysis.Threshold],
    out: Path,
) -> None:
    scenario = resolved.scenario
    sn_events = pooled.events[pooled.events["kind"] == b"snb_nue"]
    details = {}
    reach = {}
    for i, (name, threshold) in enumerate(thresholds.items()):
        per_event = analysis.candidates_per_event(
            pooled.candidates, sn_events, name, threshold.value
        )
        cut = burst.burst_threshold(threshold.rate_hz_per_apa, scenario.burst)
        points = burst.reach(
            per_event, cut, scenario.stream, scenario.burst, scenario.burst.seed + i
        )
        reach[name] = points
        summary["fake_bursts_per_month"][name] = cut.fake_bursts_per_month
        summary["efficiency_vs_distance"][name] = [p.row() for p in points]
        details[name] = {
            "sn_events": int(sn_events.size),
            "sn_event_efficiency": float((per_event > 0).mean()) if per_event.size else None,
            "candidates_per_sn_event": float(per_event.mean()) if per_event.size else None,
            "background_per_window": cut.background_mean,
            "burst_threshold_count": cut.count,
            "trials_per_month": cut.trials_per_month,
        }
    summary["burst"] = {
        **to_mapping(scenario.burst),
        "module_mass_t": scenario.stream.module_mass_t(),
        "events_in_window_10kpc": burst.events_in_window(scenario.stream, scenario.burst, 10.0),
        "triggers": details,
    }
    summary["plots"]["snb_reach"] = plots.reach(reach, out / "snb_reach.png").name
