"""Study tasks: one APA over a range of slices, simulated and run through the trigger chain.

A task is independent of every other (its own random streams, its own warm-up), so tasks run
in any order, on any worker, any number of times with the same result.  It simulates
``warmup`` slices before its range (pedestals and quartiles settle; their clusters are not
counted; a stream's first task, with nothing before it, counts from its ``warmup``-th slice)
and ``tail`` slices after it (charge drifting up to ≈2.2 ms still arrives).  Counted:
background clusters that start inside the range, and signal events that interact inside it
(with all of their clusters, wherever they end up).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from triggerml.detector.stream import ApaStream
from triggerml.emulator import Emulator
from triggerml.nn.dataset import SIGNAL, SIGNAL_KINDS, label_clusters
from triggerml.parallel import StreamTask, stream_tasks
from triggerml.trigger.chain import SCORED_DTYPE, TriggerChain
from triggerml.trigger.scenario import Resolved

TRUTH_SLICES = 6  # truth kept for matching: clusters end at most this many slices after

# a candidate: the chain's scored cluster (less its peak) with its APA and its truth
SCORED_FIELDS = tuple(name for name in SCORED_DTYPE.names or () if name != "peak_adc")
CANDIDATE_DTYPE = np.dtype(
    [
        ("apa", np.int32),
        *((name, SCORED_DTYPE[name]) for name in SCORED_FIELDS),
        ("label", np.int8),
        ("kind", "S16"),
        ("event_id", np.int64),
        ("true_energy_mev", np.float64),
        ("in_range", np.bool_),  # starts inside the task's counted range
    ]
)

EVENT_DTYPE = np.dtype(
    [
        ("apa", np.int32),
        ("event_id", np.int64),
        ("kind", "S16"),
        ("time_tick", np.int64),
        ("true_energy_mev", np.float64),
    ]
)


EVENT_ID_BITS = 24  # event ids of a task: its first slice << 24, plus the generator's number


Task = StreamTask


@dataclass
class TaskResult:
    task: Task
    counted_first_slice: int  # counted: [this, task.last_slice) (a first task warms up first)
    candidates: npt.NDArray  # every cluster, scored and labelled
    events: npt.NDArray  # signal events interacting inside the range
    live_seconds: float  # the counted range
    samples: int  # whole-APA readout samples through the chain (warm-up and tail included)
    chain_seconds: float  # TPG + clustering + inputs + emulator
    simulate_seconds: float
    stage_seconds: dict[str, float]
    # per model port, the inputs of the scored clusters (score > −inf) in candidate order;
    # only when recorded (``run_task(record_inputs=True)``)
    inputs: list[npt.NDArray] | None = None
    # the peak resident memory of the process that ran it, when it finished (MB; None in
    # files written before it was kept)
    peak_rss_mb: float | None = None


def plan(resolved: Resolved) -> list[Task]:
    scenario = resolved.scenario
    kinds = [kind.value for kind in scenario.apa_kinds]
    return stream_tasks(kinds, scenario.apas, scenario.stream.n_slices, scenario.chunk_slices)


def run_task(
    resolved: Resolved, task: Task, emulator: Emulator, record_inputs: bool = False
) -> TaskResult:
    scenario = resolved.scenario
    stream_scenario = scenario.stream_of(task.kind)
    ticks = stream_scenario.slice_ticks
    warmup = min(resolved.dataset.warmup_slices, task.first_slice)
    begin = task.first_slice - warmup
    # a stream's first task has no slices before it to warm up on: its first slices are the
    # warm-up and are not counted (the TPG's start-up made single-wire hit trains there that
    # were counted as background, the highest-scored clusters of a 208 APA-s study)
    counted_first = min(max(task.first_slice, resolved.dataset.warmup_slices), task.last_slice)
    end = task.last_slice + scenario.tail_slices
    stream = ApaStream(stream_scenario, task.apa, first_slice=begin)
    chain = TriggerChain(
        resolved.chain,
        emulator,
        stream_scenario.geometry,
        start_sample=begin * ticks,
        record_inputs=record_inputs,
    )
    first_tick, last_tick = counted_first * ticks, task.last_slice * ticks
    truths: list[npt.NDArray] = []
    events: list[npt.NDArray] = []
    parts: list[npt.NDArray] = []
    scores: list[npt.NDArray[np.float64]] = []
    simulate = 0.0
    for index in range(begin, end):
        t0 = time.perf_counter()
        slice_ = stream.next_slice()
        simulate += time.perf_counter() - t0
        truths = [*truths[-(TRUTH_SLICES - 1) :], slice_.truth]
        if first_tick <= slice_.start_tick < last_tick:
            events.append(_signal_events(slice_.truth, task.apa))
        scored = chain.process(slice_.adc) if index < end - 1 else _last(chain, slice_.adc)
        parts.append(_labelled(scored, np.concatenate(truths), task, first_tick, last_tick))
        scores.append(chain.scores(final=index == end - 1))
    candidates = np.concatenate(parts)
    candidates["score"] = np.concatenate(scores)
    # each task's generator numbers its events from 0: make them unique within the APA
    offset = np.int64(task.first_slice) << EVENT_ID_BITS
    candidates["event_id"][candidates["event_id"] >= 0] += offset
    all_events = np.concatenate(events) if events else np.zeros(0, EVENT_DTYPE)
    all_events["event_id"] += offset
    return TaskResult(
        task,
        counted_first,
        candidates,
        all_events,
        (last_tick - first_tick) / stream_scenario.readout.sampling_hz,
        chain.samples,
        chain.timer.total,
        simulate,
        {
            "tpg": chain.timer.tpg,
            "cluster": chain.timer.cluster,
            "inputs": chain.timer.inputs,
            "model": chain.timer.model,
        },
        _recorded_inputs(chain, emulator) if record_inputs else None,
    )


def _recorded_inputs(chain: TriggerChain, emulator: Emulator) -> list[npt.NDArray]:
    if not chain.recorded:
        return [np.zeros((0, *shape)) for shape in emulator.input_shapes]
    return [np.concatenate(parts) for parts in zip(*chain.recorded, strict=True)]


def _last(chain: TriggerChain, adc: npt.NDArray[np.int16]) -> npt.NDArray:
    return np.concatenate([chain.process(adc), chain.flush()])


def _signal_events(truth: npt.NDArray, apa: int) -> npt.NDArray:
    chosen = truth[np.isin(truth["kind"], SIGNAL_KINDS)]
    events = np.zeros(chosen.size, dtype=EVENT_DTYPE)
    events["apa"] = apa
    for name in ("event_id", "kind", "time_tick", "true_energy_mev"):
        events[name] = chosen[name]
    return events


def _labelled(
    scored: npt.NDArray, truth: npt.NDArray, task: Task, first_tick: int, last_tick: int
) -> npt.NDArray:
    meta = label_clusters(scored, truth)
    out = np.zeros(scored.size, dtype=CANDIDATE_DTYPE)
    out["apa"] = task.apa
    for name in SCORED_FIELDS:
        out[name] = scored[name]
    for name in ("label", "kind", "event_id", "true_energy_mev"):
        out[name] = meta[name]
    out["in_range"] = (scored["start"] >= first_tick) & (scored["start"] < last_tick)
    return out


def is_signal(candidates: npt.NDArray) -> npt.NDArray[np.bool_]:
    return candidates["label"] == SIGNAL
