"""Independent, idempotent tasks run in-process, on a local Dask cluster or on an existing one.

Studies and dataset builds are split into tasks that each write their own result file and
return a key: a killed run resumes from the files already written, a task run twice writes
the same bytes, and a worker lost mid-task loses nothing (Dask retries it).  Workers on another
machine need the output folder (and whatever the task reads) on a shared file system.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")
RETRIES = 2
# multi-APA runs number the APAs of the k-th kind listed from k × APA_STRIDE
APA_STRIDE = 1000


@dataclass(frozen=True)
class StreamTask:
    """One APA stream over a range of slices: a study's or a dataset's unit of work
    (counted: clusters starting in [first_slice, last_slice))."""

    apa: int
    first_slice: int
    last_slice: int
    kind: str = "central"  # APA kind: central (two drift volumes) or outer (one)

    @property
    def key(self) -> str:
        return f"{self.kind}_apa{self.apa:04d}_s{self.first_slice:07d}-{self.last_slice:07d}"


def stream_tasks(apa_kinds: Iterable[str], apas: int, n_slices: int, step: int) -> list[StreamTask]:
    """Every APA of every kind, its stream cut into ranges of ``step`` slices."""
    return [
        StreamTask(index * APA_STRIDE + apa, first, min(first + step, n_slices), kind)
        for index, kind in enumerate(apa_kinds)
        for apa in range(apas)
        for first in range(0, n_slices, step)
    ]


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: what a worker needs, read by each task
    when it finishes.  Linux's VmHWM (the ru_maxrss of a process started by another carries
    over its parent's peak through exec); ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextmanager
def one_numba_thread() -> Iterator[None]:
    """numba's parallel kernels (the emulator's and the ROI inputs' casts) on the calling
    thread only, inside the block: for work that owns one core."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def single_threaded(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` run inside :func:`one_numba_thread`."""

    @functools.wraps(func)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with one_numba_thread():
            return func(*args, **kwargs)

    return wrapped


def _on_one_thread(run_one: Callable[[T], str], task: T) -> str:
    """A task on a Dask worker (a worker per core): numba's parallel kernels run on the
    task's thread only, so that workers do not share their cores with each other's thread
    pools (measured: two workers on two cores 30 s → 23 s for emulation/demo.yaml)."""
    with one_numba_thread():
        return run_one(task)


def run_tasks(
    run_one: Callable[[T], str],
    tasks: Sequence[T],
    name: Callable[[T], str],
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[str], None] | None = None,
) -> None:
    """Run ``run_one`` on every task (it must be picklable for Dask: a module-level function
    or a ``functools.partial`` of one); ``name`` gives each task's unique Dask key; ``on_done``
    gets each returned key as it finishes.  In-process when neither ``workers`` nor
    ``scheduler`` is given."""
    if workers is None and scheduler is None:
        for task in tasks:
            key = run_one(task)
            if on_done is not None:
                on_done(key)
        return
    from dask.distributed import Client, LocalCluster, as_completed

    if scheduler is not None:
        client = Client(scheduler)
        cluster = None
    else:
        # ":0": a free port for the dashboard (None means dask's default :8787, which a
        # second run on the machine would find taken)
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = Client(cluster)
    try:
        on_one_thread = functools.partial(_on_one_thread, run_one)
        futures = [
            client.submit(on_one_thread, task, key=name(task), retries=RETRIES, pure=False)
            for task in tasks
        ]
        for future in as_completed(futures):
            key = future.result()
            if on_done is not None:
                on_done(key)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
