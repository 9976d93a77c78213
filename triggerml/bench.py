"""Throughput benchmarks, each measured against a reference in the same run.

Ratios, not absolute times, are what survive a shared, noisy machine: both sides are timed
back to back on the same data, best of several repeats.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from triggerml.fixed import parse_type
from triggerml.parallel import peak_rss_mb, single_threaded


@dataclass(frozen=True)
class BenchResult:
    name: str
    throughput: float
    unit: str
    reference: str
    reference_throughput: float
    ratio: float
    threads: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def against_copy(
    name: str, samples: int, seconds: float, copy_seconds: float, unit: str = "samples/s"
) -> BenchResult:
    """Items per second on one thread (the benches run numba's parallel kernels on one:
    :func:`triggerml.parallel.single_threaded`), against ``np.copy`` of the same bytes."""
    return BenchResult(
        name=name,
        throughput=samples / seconds,
        unit=unit,
        reference="np.copy",
        reference_throughput=samples / copy_seconds,
        ratio=copy_seconds / seconds,
        threads=1,
    )


def best_seconds(func: Callable[[], object], repeats: int = 5) -> float:
    """Fastest of ``repeats`` runs: the least disturbed by other load."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def bench_fixed(
    n_values: int = 1_000_000, type_string: str = "ap_fixed<16,6,AP_RND_CONV,AP_SAT>", seed: int = 0
) -> BenchResult:
    """Conversions of doubles to a fixed-point type per second, against ``np.copy``."""
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 40.0, n_values)
    ftype = parse_type(type_string)
    ftype.mantissa(values[:1000])  # warm-up
    cast_s = best_seconds(lambda: ftype.mantissa(values))
    copy_s = best_seconds(lambda: np.copy(values))
    return against_copy(f"fixed:{type_string}", n_values, cast_s, copy_s, unit="values/s")


@single_threaded
def bench_sim(slices: int = 20, seed: int = 1) -> BenchResult:
    """Background-only APA streaming (samples/s, one thread) against ``np.copy`` of slices."""
    import dataclasses

    from triggerml.detector.config import DetectorScenario
    from triggerml.detector.stream import ApaStream

    scenario = dataclasses.replace(DetectorScenario(seed=seed), seconds=1e3)
    stream = ApaStream(scenario)
    first = stream.next_slice()  # compile and warm up
    start = time.perf_counter()
    for _ in range(slices):
        stream.next_slice()
    sim_s = (time.perf_counter() - start) / slices
    copy_s = best_seconds(lambda: np.copy(first.adc), repeats=max(5, slices))
    return against_copy("sim:background APA", first.adc.size, sim_s, copy_s)


@single_threaded
def bench_tpg(
    mode: str = "fir", blocks: int = 8, seed: int = 2, plane: str = "collection"
) -> tuple[BenchResult, float]:
    """Python TPG (the fast kernel where it is exact, one thread) on one APA's collection
    plane (960 wires) or both induction planes (1600; |f| with their own threshold, as the
    chain runs them), against ``np.copy`` of the same int16 blocks.  Returns the result and
    the plane's real-time sample rate."""
    import dataclasses

    from triggerml.detector.config import DetectorScenario
    from triggerml.detector.stream import ApaStream
    from triggerml.tpg.config import INDUCTION_TPG, TpgConfig, TpgMode
    from triggerml.tpg.hitfinder import HitFinder

    scenario = dataclasses.replace(DetectorScenario(seed=seed), seconds=1e3)
    geometry = scenario.geometry
    first = geometry.first_channel["x"]
    rows = slice(first, None) if plane == "collection" else slice(0, first)
    base = TpgConfig() if plane == "collection" else INDUCTION_TPG
    stream = ApaStream(scenario)
    data = [np.ascontiguousarray(stream.next_slice().adc[rows]) for _ in range(blocks + 1)]
    finder = HitFinder(data[0].shape[0], dataclasses.replace(base, mode=TpgMode(mode)))
    finder.process(data[0])  # compile and settle
    start = time.perf_counter()
    for block in data[1:]:
        finder.process(block)
    tpg_s = (time.perf_counter() - start) / blocks
    copy_s = best_seconds(lambda: np.copy(data[1]), repeats=max(5, blocks))
    name = f"tpg:{mode} {plane} plane{'s' if plane == 'induction' else ''}"
    result = against_copy(name, data[1].size, tpg_s, copy_s)
    return result, data[1].shape[0] * scenario.readout.sampling_hz


def bench_emulator(
    build_dir: str, events: int = 10000, csim_events: int = 500
) -> list[dict[str, object]]:
    """Emulator vs hls4ml C simulation vs QKeras predict, same events, one run."""
    import json
    import os
    from pathlib import Path

    import numba

    from triggerml.compile.keras2 import load_qkeras_model
    from triggerml.compile.relink import csim_predict, link_project
    from triggerml.emulator import load_emulator

    emulator = load_emulator(build_dir)
    rng = np.random.default_rng(0)
    grid = emulator.input_type
    x = grid.cast(rng.normal(0, max(abs(grid.max_value), 1.0) / 8, (events, *emulator.input_shape)))
    rates = {}  # the emulator first: TensorFlow's thread pools, once started, keep spinning
    for threads in (1, os.cpu_count() or 1):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
        emulator.predict(x[:512])
        rates[threads] = events / best_seconds(lambda: emulator.predict(x), 3)
    model = link_project(build_dir)
    csim_predict(model, x[:10])
    csim_rate = csim_events / best_seconds(lambda: csim_predict(model, x[:csim_events]), 3)
    manifest = json.loads((Path(build_dir) / "manifest.json").read_text())
    keras: Any = load_qkeras_model(manifest["source"]["path"])
    keras.predict(x[:256], verbose=0, batch_size=1024)
    keras_rate = events / best_seconds(lambda: keras.predict(x, verbose=0, batch_size=1024), 3)
    results = []
    for threads, rate in rates.items():
        results.append(
            {
                "name": f"emulator:{Path(build_dir).name}",
                "throughput": rate,
                "unit": "events/s",
                "reference": "hls4ml C-sim",
                "reference_throughput": csim_rate,
                "ratio": rate / csim_rate,
                "qkeras_throughput": keras_rate,
                "ratio_qkeras": rate / keras_rate,
                "threads": threads,
            }
        )
    return results


def bench_startup(build_dir: str, events: int = 8) -> dict[str, object]:
    """`triggerml emulate` of a few events in a new process, cold (empty kernel cache: every
    specialized kernel compiled) and warm (the cache of the cold run): wall seconds each, and
    the warm run against the bare interpreter start-up with numpy and numba imported."""
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from triggerml.emulator import load_emulator
    from triggerml.emulator.kernel_cache import CACHE_ENV

    emulator = load_emulator(build_dir)
    grid = emulator.input_type
    rng = np.random.default_rng(0)
    x = grid.cast(rng.normal(0, 4.0, (events, *emulator.input_shape)))
    with tempfile.TemporaryDirectory(prefix="triggerml-bench-") as folder:
        data, out = Path(folder) / "x.npy", Path(folder) / "y.npy"
        np.save(data, x)
        env = {**os.environ, CACHE_ENV: str(Path(folder) / "kernels")}
        command = [sys.executable, "-m", "triggerml.cli", "emulate", build_dir]
        command += ["--input", str(data), "--output", str(out)]

        def run(args: list[str]) -> float:
            start = time.perf_counter()
            subprocess.run(args, env=env, check=True, capture_output=True)
            return time.perf_counter() - start

        cold = run(command)
        warm = min(run(command) for _ in range(3))
        bare = min(run([sys.executable, "-c", "import numba, numpy"]) for _ in range(3))
    return {
        "name": f"startup:{Path(build_dir).name}",
        "events": events,
        "cold_seconds": cold,
        "warm_seconds": warm,
        "interpreter_seconds": bare,
        "ratio_cold_to_warm": cold / warm,
    }


STREAM_POOL = 24  # slices simulated beforehand; longer runs replay them in turn


@dataclass(frozen=True)
class StreamBench:
    """``bench stream``: the chain's throughput against ``np.copy``, seconds per stage, one
    APA's real-time sample rate and the process's peak resident memory."""

    result: BenchResult
    stages: dict[str, float]
    real_time: float
    peak_rss_mb: float
    slices: int

    @property
    def fraction_of_real_time(self) -> float:
        return self.result.throughput / self.real_time

    def as_dict(self) -> dict[str, object]:
        return {
            **self.result.as_dict(),
            "fraction_of_real_time": self.fraction_of_real_time,
            "stages": self.stages,
            "peak_rss_mb": self.peak_rss_mb,
            "slices": self.slices,
        }


@single_threaded
def bench_stream(scenario_path: str, slices: int = 24) -> StreamBench:
    """The trigger chain (TPG → clusters → inputs → emulator) on already simulated readout
    of the scenario's first APA, against ``np.copy`` of the same slices.  At most
    STREAM_POOL distinct slices are simulated; a longer run replays them in turn (so the
    memory a run of 1,000 slices needs beyond one of 100 is the chain's own)."""
    from triggerml.detector.stream import ApaStream
    from triggerml.emulator import load_emulator
    from triggerml.trigger.chain import ChainTimer, TriggerChain
    from triggerml.trigger.scenario import load_study, resolve
    from triggerml.trigger.study import check

    resolved = resolve(load_study(scenario_path))
    check(resolved)
    detector = resolved.scenario.stream
    stream = ApaStream(detector)
    warmup = 3  # compile every kernel; the TPG's pedestals and quartiles settle
    data = [stream.next_slice().adc for _ in range(min(slices, STREAM_POOL) + warmup)]
    emulator = load_emulator(resolved.scenario.firmware)
    chain = TriggerChain(resolved.chain, emulator, detector.geometry)
    for block in data[:warmup]:
        chain.process(block)
    chain.scores(final=True)
    chain.timer = ChainTimer()
    data = data[warmup:]
    start = time.perf_counter()
    for index in range(slices):
        chain.process(data[index % len(data)])
        chain.scores()
    chain.flush()
    chain.scores(final=True)
    chain_s = (time.perf_counter() - start) / slices
    copy_s = best_seconds(lambda: np.copy(data[-1]), repeats=max(5, len(data)))
    samples = data[-1].size
    stages = {
        "tpg": chain.timer.tpg,
        "cluster": chain.timer.cluster,
        "inputs": chain.timer.inputs,
        "model": chain.timer.model,
    }
    name = f"stream:{resolved.scenario.name} ({resolved.input_kind})"
    result = against_copy(name, samples, chain_s, copy_s)
    real_time = detector.geometry.n_channels * detector.readout.sampling_hz
    return StreamBench(result, stages, real_time, peak_rss_mb(), slices)


def bench_study(
    scenario_path: str,
    workers: Sequence[int],
    out: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """The whole study run afresh once per worker count, each on a local Dask cluster of
    that many single-threaded worker processes (into ``out/workers_N``): wall time, speed-up
    against the first count, tasks per second and the largest worker's peak memory."""
    from triggerml.trigger.scenario import load_study
    from triggerml.trigger.study import run_study

    rows: list[dict[str, Any]] = []
    for count in workers:
        start = time.perf_counter()
        summary = run_study(
            load_study(scenario_path),
            out / f"workers_{count}",
            workers=count,
            on_progress=on_progress,
            fresh=True,
        )
        wall = time.perf_counter() - start
        rows.append(
            {
                "workers": count,
                "wall_seconds": wall,
                "speedup": rows[0]["wall_seconds"] / wall if rows else 1.0,
                "tasks": summary["tasks"],
                "apa_seconds": sum(summary["apa_seconds"].values()),
                "peak_rss_mb_per_worker": summary["stream"]["peak_rss_mb_per_worker"],
                "chain_fraction_of_real_time": summary["stream"]["fraction_of_real_time"],
            }
        )
    return rows
