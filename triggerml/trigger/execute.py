"""Running study tasks (:mod:`triggerml.parallel`): in-process, on a local Dask cluster, or
on an existing one.

Each task writes its result to ``DIR/tasks/<key>.npz`` (atomically) and returns only its key,
so a killed study resumes from the finished files.  Workers on another machine need the study
folder, the firmware folder and the zoo configs on a shared file system.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from triggerml.emulator import Emulator, load_emulator
from triggerml.io import atomic_path
from triggerml.parallel import run_tasks
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


def run_and_store(resolved: Resolved, firmware: str, tasks_dir: str, task: Task) -> str:
    """One task (arguments picklable for Dask); skipped if its file exists."""
    target = result_path(Path(tasks_dir), task)
    if target.is_file():
        return task.key
    save(run_task(resolved, task, _emulator(firmware)), target)
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
    }
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            candidates=result.candidates,
            events=result.events,
            scalars=np.array(json.dumps(scalars)),
        )


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
        )


def execute(
    resolved: Resolved,
    tasks: Iterable[Task],
    tasks_dir: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[str], None] | None = None,
) -> None:
    """Run the tasks whose results are missing; ``on_done`` after each."""
    todo = [task for task in tasks if not result_path(tasks_dir, task).is_file()]
    # absolute paths: workers need not share the working directory
    firmware = str(Path(resolved.scenario.firmware).resolve())
    run_tasks(
        functools.partial(run_and_store, resolved, firmware, str(tasks_dir.resolve())),
        todo,
        lambda task: f"triggerml-{task.key}",
        workers,
        scheduler,
        on_done,
    )
