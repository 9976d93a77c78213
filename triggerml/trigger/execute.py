"""Running study tasks (:mod:`triggerml.parallel`): in-process, on a local Dask cluster, or
on an existing one.

Each task writes its result to ``DIR/tasks/<key>.npz`` (atomically) and returns only its key,
so a killed study resumes from the finished files.  Workers on another machine need the study
folder, the firmware folder and the zoo configs on a shared file system.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from triggerml.emulator import Emulator, load_emulator
from triggerml.io import atomic_path
from triggerml.parallel import peak_rss_mb, run_tasks
from triggerml.trigger.scenario import Resolved
from triggerml.trigger.tasks import Task, TaskResult, run_task


def result_path(tasks_dir: Path, task: Task) -> Path:
    return tasks_dir / f"{task.key}.npz"


@functools.lru_cache(maxsize=4)
def _emulator(firmware: str) -> Emulator:
    """Loaded once per process and run once, so kernel compilation is not chain time."""
    emulator = load_emulator(firmware)
    zeros = [np.zeros((1, *shape)) for shape in emulator.input_shapes]
    emulator.predict(zeros[0] if len(zeros) == 1 else zeros)
    return emulator


def run_and_store(
    resolved: Resolved, firmware: str, tasks_dir: str, task: Task, record_inputs: bool = False
) -> str:
    """One task (arguments picklable for Dask); skipped if its file exists."""
    target = result_path(Path(tasks_dir), task)
    if target.is_file():
        return task.key
    result = run_task(resolved, task, _emulator(firmware), record_inputs)
    save(dataclasses.replace(result, peak_rss_mb=peak_rss_mb()), target)
    return task.key


def save(result: TaskResult, target: Path) -> None:
    scalars = {
        "apa": result.task.apa,
        "kind": result.task.kind,
        "first_slice": result.task.first_slice,
        "last_slice": result.task.last_slice,
        "counted_first_slice": result.counted_first_slice,
        "live_seconds": result.live_seconds,
        "samples": result.samples,
        "chain_seconds": result.chain_seconds,
        "simulate_seconds": result.simulate_seconds,
        "stage_seconds": result.stage_seconds,
        "peak_rss_mb": result.peak_rss_mb,
    }
    arrays: dict[str, Any] = {
        "candidates": result.candidates,
        "events": result.events,
        "scalars": np.array(json.dumps(scalars)),
        **{f"input_{k}": x for k, x in enumerate(result.inputs or [])},
    }
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def load(path: Path) -> TaskResult:
    with np.load(path, allow_pickle=False) as data:
        scalars = json.loads(str(data["scalars"]))
        task = Task(scalars["apa"], scalars["first_slice"], scalars["last_slice"], scalars["kind"])
        counted_first = scalars.get("counted_first_slice")
        if counted_first is None:  # written before a stream's first task warmed up
            if task.first_slice == 0:
                raise ValueError(
                    f"{path} counts the TPG's start-up (written before a stream's first task "
                    "warmed up): rerun the study with --fresh"
                )
            counted_first = task.first_slice  # later tasks counted then as now
        return TaskResult(
            task,
            counted_first,
            data["candidates"],
            data["events"],
            scalars["live_seconds"],
            scalars["samples"],
            scalars["chain_seconds"],
            scalars["simulate_seconds"],
            scalars["stage_seconds"],
            _inputs(data),
            scalars.get("peak_rss_mb"),
        )


def _inputs(data: Any) -> list[np.ndarray] | None:
    """The recorded model inputs, per port (None when the task did not record them)."""
    names = sorted((n for n in data.files if n.startswith("input_")), key=lambda n: int(n[6:]))
    return [data[name] for name in names] or None


def execute(
    resolved: Resolved,
    tasks: Iterable[Task],
    tasks_dir: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[str], None] | None = None,
    record_inputs: bool = False,
) -> None:
    """Run the tasks whose results are missing; ``on_done`` after each; ``record_inputs``:
    keep every scored cluster's model inputs in the task files."""
    todo = [task for task in tasks if not result_path(tasks_dir, task).is_file()]
    # absolute paths: workers need not share the working directory
    firmware = str(Path(resolved.scenario.firmware).resolve())
    run_tasks(
        functools.partial(
            run_and_store,
            resolved,
            firmware,
            str(tasks_dir.resolve()),
            record_inputs=record_inputs,
        ),
        todo,
        lambda task: f"triggerml-{task.key}",
        workers,
        scheduler,
        on_done,
    )
