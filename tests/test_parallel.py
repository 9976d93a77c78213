"""Task running (triggerml.parallel): in-process and on Dask, a lost worker loses nothing."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from triggerml.parallel import run_tasks

KEYS = [f"t{index}" for index in range(6)]


def store_once(folder: str, key: str) -> str:
    """A task as the studies write them: skipped when its result file exists, the result
    written whole.  Task t3 kills its worker process the first time it runs (after t0–t2
    may have finished on that worker); every run of the work is counted in a log."""
    root = Path(folder)
    result = root / f"{key}.result"
    if result.is_file():
        return key
    with open(root / f"{key}.runs", "a") as log:
        log.write("run\n")
    marker = root / "killed"
    if key == "t3" and not marker.exists():
        marker.touch()
        os._exit(1)  # the worker dies mid-task, as an out-of-memory kill would do it
    partial = root / f"{key}.partial"
    partial.write_text(key)
    partial.rename(result)
    return key


def runs(folder: Path, key: str) -> int:
    return len((folder / f"{key}.runs").read_text().splitlines())


def test_in_process_runs_each_task_once(tmp_path: Path) -> None:
    done: list[str] = []
    run_tasks(
        functools.partial(store_once, str(tmp_path)),
        [k for k in KEYS if k != "t3"],
        lambda key: key,
        on_done=done.append,
    )
    assert done == [k for k in KEYS if k != "t3"]
    assert all(runs(tmp_path, k) == 1 for k in done)


def test_a_worker_lost_mid_run_loses_no_finished_task(tmp_path: Path) -> None:
    """The killed task is retried on the restarted worker; every other task did its work
    exactly once — finished results are files, not memory a dead worker takes along."""
    pytest.importorskip("dask.distributed")
    done: list[str] = []
    run_tasks(
        functools.partial(store_once, str(tmp_path)),
        KEYS,
        lambda key: f"lost-worker-{key}",
        workers=2,
        on_done=done.append,
    )
    assert sorted(done) == KEYS
    assert (tmp_path / "killed").exists()
    assert runs(tmp_path, "t3") == 2
    assert all(runs(tmp_path, k) == 1 for k in KEYS if k != "t3")
    assert all((tmp_path / f"{k}.result").read_text() == k for k in KEYS)


def test_peak_memory_counts_what_the_process_touched() -> None:
    """In a fresh process: touching 300 MB raises the peak by about that much."""
    import subprocess
    import sys

    code = (
        "from triggerml.parallel import peak_rss_mb\n"
        "import numpy as np\n"
        "before = peak_rss_mb()\n"
        "block = np.ones(300 << 17)  # 300 MB written\n"
        "print(peak_rss_mb() - before)"
    )
    grown = float(subprocess.check_output([sys.executable, "-c", code], text=True))
    assert 280 < grown < 340, grown


def numba_threads(folder: str, key: str) -> str:
    """Writes how many threads numba's parallel kernels would use in this task."""
    import numba

    (Path(folder) / f"{key}.threads").write_text(str(numba.get_num_threads()))
    return key


def test_tasks_on_dask_workers_run_numba_on_one_thread(tmp_path: Path) -> None:
    """A worker per core: a task's parallel kernels must not spread over the other cores."""
    run_tasks(functools.partial(numba_threads, str(tmp_path)), KEYS[:2], str, workers=1)
    assert [(tmp_path / f"{k}.threads").read_text() for k in KEYS[:2]] == ["1", "1"]


def test_single_threaded_work_sees_one_numba_thread_and_restores_the_count() -> None:
    import numba

    from triggerml.parallel import single_threaded

    before = numba.get_num_threads()
    inside = single_threaded(numba.get_num_threads)()
    assert inside == 1
    assert numba.get_num_threads() == before
