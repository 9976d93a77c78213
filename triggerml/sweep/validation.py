"""The sweep's fixed validation stream: simulated and run through the TPG, clustering and
input building once, with every scored cluster's model inputs kept; each design point then
only runs its own firmware emulator on those inputs and is judged on the same candidates.

The stream is a study scenario's (same tasks, same counting, halves and candidate grouping as
``triggerml study``), so a point's figure is what a study of its firmware on that stream would
report — a test checks it against a study run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from triggerml.emulator import Emulator
from triggerml.trigger import execute, figures
from triggerml.trigger.figures import SignalClass
from triggerml.trigger.scenario import Resolved, StudyScenario, resolve
from triggerml.trigger.study import (
    StudyError,
    check,
    evaluator_of,
    fingerprint,
    pool,
    stamp_tasks,
)
from triggerml.trigger.tasks import TaskResult, plan

SIGNALS = (SignalClass.ELECTRON_5_10_MEV, SignalClass.SN_NUE_CC)


class ValidationStream:
    """The recorded stream: task results with their scored clusters' inputs."""

    def __init__(self, resolved: Resolved, results: list[TaskResult]) -> None:
        self.resolved = resolved
        self.results = results
        for result in results:
            if result.inputs is None:
                raise StudyError(f"task {result.task.key} was recorded without its inputs")

    @property
    def scored_clusters(self) -> int:
        return sum(int(r.inputs[0].shape[0]) for r in self.results if r.inputs is not None)

    def exposure(self) -> dict[str, Any]:
        pooled = pool(self.results)
        return {
            "apa_seconds": pooled.apa_seconds,
            "apa_seconds_by_half": dict(
                zip(("tuning", "reporting"), pooled.half_seconds, strict=True)
            ),
            "scored_clusters": self.scored_clusters,
        }

    def rescored(self, emulator: Emulator) -> list[TaskResult]:
        """The task results with the scored clusters' scores from ``emulator`` (its last
        output's logit, as the chain scores them)."""
        out = []
        for result in self.results:
            assert result.inputs is not None
            candidates = result.candidates.copy()
            scored = candidates["score"] > -np.inf
            if scored.sum() != result.inputs[0].shape[0]:
                raise StudyError(
                    f"task {result.task.key}: {int(scored.sum())} scored clusters but "
                    f"{result.inputs[0].shape[0]} recorded inputs"
                )
            if scored.any():
                x = result.inputs[0] if len(result.inputs) == 1 else result.inputs
                candidates["score"][scored] = emulator.predict(x, logits=True)[:, -1]
            out.append(dataclasses.replace(result, candidates=candidates))
        return out

    def figures(self, emulator: Emulator | None, rate_hz_per_apa: float) -> dict[str, Any]:
        """Efficiency at ``rate_hz_per_apa`` (tuned on one half, measured on the other) for
        the ML trigger of ``emulator`` (the recorded scores when None) and the ADC sum."""
        results = self.results if emulator is None else self.rescored(emulator)
        evaluator = evaluator_of(self.resolved, pool(results))
        out: dict[str, Any] = {}
        for trigger in ("ml", "adc_sum"):
            decision = evaluator.at_rate(trigger, rate_hz_per_apa)
            rate = evaluator.measured_rate(evaluator.decision_metric(decision), decision.threshold)
            efficiency = {}
            for signal in SIGNALS:
                row = figures.efficiency_row(evaluator, decision, signal)
                efficiency[signal.value] = {
                    "value": row["efficiency"],
                    "lo": row["lo"],
                    "hi": row["hi"],
                    "events": row["events"],
                }
            out[trigger] = {
                "efficiency": efficiency,
                "measured_rate_hz_per_apa": rate.row(),
                "limit": not evaluator.resolvable(rate_hz_per_apa),
                "threshold": decision.threshold,
            }
        return out


def record(
    scenario: StudyScenario,
    firmware: Path,
    folder: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ValidationStream:
    """Run (or resume) the stream's tasks into ``folder`` with inputs recorded, through the
    chain of ``firmware`` (any build of the swept model: only the inputs are kept)."""
    resolved = resolve(dataclasses.replace(scenario, firmware=str(firmware)))
    check(resolved)
    folder.mkdir(parents=True, exist_ok=True)
    stamp_tasks(
        folder,
        {**fingerprint(resolved), "firmware": None, "recorded_inputs": True},
        f"{folder} holds a different validation stream (scenario or training set changed): "
        "choose another --out, or --fresh to discard it",
    )
    tasks = plan(resolved)
    done = [sum(execute.result_path(folder, t).is_file() for t in tasks)]
    if on_progress is not None:
        on_progress(done[0], len(tasks))

    def tick(_: str) -> None:
        done[0] += 1
        if on_progress is not None:
            on_progress(done[0], len(tasks))

    execute.execute(resolved, tasks, folder, workers, scheduler, tick, record_inputs=True)
    return load_recorded(resolved, folder)


def load_recorded(resolved: Resolved, folder: Path) -> ValidationStream:
    """The stream recorded in ``folder`` (every task's file must be there)."""
    results = []
    for task in plan(resolved):
        path = execute.result_path(folder, task)
        if not path.is_file():
            raise StudyError(f"{folder}: task {task.key} was not recorded: rerun the sweep")
        results.append(execute.load(path))
    return ValidationStream(resolved, results)
