"""Training datasets from the simulator: TPG hit clusters → model inputs, with truth labels.

The stream is simulated, run through the TPG, and clustered exactly as the online trigger
does; every final cluster becomes one example in every input kind (roi2d, waveform,
tp_features, and tp_features_uvx when ``induction_planes`` runs the TPG on the U and V
planes too) built by :mod:`triggerml.tpg.roi`.  Labels come from the truth: a cluster that
is the largest one of a signal event (single electron, supernova νe-CC) is *signal*; one
overlapping a radiological decay is *background*; one overlapping nothing is *noise*.
Backgrounds and noise are subsampled to a configurable multiple of the signal count, and a
seeded split assigns train / validation / test.

A build is split into tasks like a study (APA kind × APA stream × slice range, each with its
own warm-up and tail, :mod:`triggerml.parallel`): every task writes its examples to a part
file beside the output, so a killed build resumes where it stopped and ``--workers N`` runs
the tasks on a local Dask cluster; the parts are merged (largest cluster per signal event,
balance, split) into the HDF5 file, written last.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numba
import numpy as np
import numpy.typing as npt

from triggerml.config import from_mapping, load_yaml, require, to_mapping
from triggerml.detector.config import (
    ApaKind,
    DetectorScenario,
    Particle,
    Singles,
    Supernova,
    require_apas,
)
from triggerml.detector.stream import ApaStream
from triggerml.io import atomic_path, sha256_json, versions
from triggerml.parallel import StreamTask, run_tasks, stream_tasks
from triggerml.tpg.clusters import ClusterConfig, StreamingClusterer
from triggerml.tpg.config import INDUCTION_TPG, TpgConfig
from triggerml.tpg.hitfinder import HitFinder
from triggerml.tpg.planes import InductionFinder, MatchConfig
from triggerml.tpg.roi import AdcBuffer, InputKind, RoiConfig, build_inputs

NOISE, BACKGROUND, SIGNAL = 0, 1, 2
CLASS_NAMES = ("noise", "background", "signal")
SIGNAL_KINDS = (b"single_electron", b"single_gamma", b"snb_nue")
TICK_MARGIN = (-5, 40)
BUFFER_SLICES = 3  # raw ADC kept for windows that reach back before the current slice
TRUTH_SLICES = BUFFER_SLICES + 3  # truth kept for labelling clusters that end late
EVENT_ID_BITS = 24  # a task's event ids: its first slice << 24, plus the generator's number


def _default_scenario() -> DetectorScenario:
    return DetectorScenario(
        name="zoo-dataset",
        seconds=1.0,
        singles=Singles(
            particle=Particle.ELECTRON,
            rate_hz=1500.0,
            energies_mev=(
                1.0,
                2.0,
                3.0,
                4.0,
                5.0,
                6.0,
                8.0,
                10.0,
                12.0,
                15.0,
                20.0,
                25.0,
                30.0,
                40.0,
            ),
        ),
        supernova=Supernova(distance_kpc=1.0, duration_s=10.0),
    )


@dataclass(frozen=True)
class DatasetConfig:
    name: str = "zoo-dataset"
    seed: int = 20261124
    detector: DetectorScenario = field(default_factory=_default_scenario)
    tpg: TpgConfig = field(default_factory=TpgConfig)
    clusters: ClusterConfig = field(default_factory=ClusterConfig)
    roi2d: RoiConfig = field(default_factory=lambda: RoiConfig(kind=InputKind.ROI2D))
    waveform: RoiConfig = field(default_factory=lambda: RoiConfig(kind=InputKind.WAVEFORM))
    tp_features: RoiConfig = field(default_factory=lambda: RoiConfig(kind=InputKind.TP_FEATURES))
    # the U and V planes through their own TPG (|f|, bipolar pulses), matched to the
    # collection clusters: adds the tp_features_uvx input kind; off by default (it doubles
    # the TPG's work)
    induction_planes: bool = False
    tp_features_uvx: RoiConfig = field(
        default_factory=lambda: RoiConfig(kind=InputKind.TP_FEATURES_UVX)
    )
    induction_tpg: TpgConfig = field(default_factory=lambda: INDUCTION_TPG)
    induction_match: MatchConfig = field(default_factory=MatchConfig)
    background_prescale: float = 0.05  # background and noise clusters kept while streaming
    # the loose ADC-sum pre-cut of the online chain: the model only ever sees clusters above
    # it, so backgrounds and noise below it are not training examples (hard negatives only)
    precut_adc_sum: int = 0
    max_background_per_signal: float = 2.0
    max_noise_per_signal: float = 1.0
    split: tuple[float, ...] = (0.7, 0.15, 0.15)
    # importance sampling (#15.3): independent background sources (catalogue names) simulated
    # at this many times their activity, with the sources derived from them; each of their
    # clusters carries weight 1/factor (meta "weight"), so weighted counts stay the
    # unboosted world's while the rare hard negatives (neutron captures, K-42) come in
    # hundreds instead of a handful
    boost: dict[str, float] = field(default_factory=dict)
    warmup_slices: int = 3  # the TPG's pedestals and quartiles settle first
    # streams: APA kinds (central reads two drift volumes, outer one), independent APA
    # streams per kind, and slices per task (0: one task per stream)
    apa_kinds: tuple[ApaKind, ...] = (ApaKind.CENTRAL,)
    apas: int = 1
    chunk_slices: int = 0
    tail_slices: int = 2  # slices simulated after a task so late drift charge arrives

    def validate(self) -> None:
        require(
            len(self.split) == 3 and abs(sum(self.split) - 1) < 1e-9 and min(self.split) >= 0,
            "split",
            "three fractions summing to 1",
        )
        require(self.max_background_per_signal > 0, "max_background_per_signal", "must be positive")
        require(self.max_noise_per_signal >= 0, "max_noise_per_signal", "must not be negative")
        require(0 < self.background_prescale <= 1, "background_prescale", "must be in (0, 1]")
        require(self.warmup_slices >= 0, "warmup_slices", "must not be negative")
        require(self.precut_adc_sum >= 0, "precut_adc_sum", "must not be negative")
        require_apas(self.apas, self.apa_kinds)
        require(self.chunk_slices >= 0, "chunk_slices", "must not be negative")
        require(self.tail_slices >= 0, "tail_slices", "must not be negative")
        from triggerml.detector.catalogue import INDEPENDENT, SOURCE_BY_NAME

        for name, factor in self.boost.items():
            parent = SOURCE_BY_NAME[name].derived_from if name in SOURCE_BY_NAME else None
            require(
                name in INDEPENDENT,
                f"boost.{name}",
                f"follows {parent}'s activity: boost {parent}"
                if parent
                else f"no such source; sources: {', '.join(INDEPENDENT)}",
            )
            require(factor >= 1, f"boost.{name}", "must be ≥ 1 (a factor on the activity)")

    def boosted_scenario(self) -> DetectorScenario:
        """The detector with the boosted sources' activities multiplied."""
        if not self.boost:
            return self.detector
        backgrounds = dict(self.detector.backgrounds)
        for name, factor in self.boost.items():
            backgrounds[name] = self.detector.activity(name) * factor
        return dataclasses.replace(self.detector, backgrounds=backgrounds)

    def weights_of(self, kinds: npt.NDArray) -> npt.NDArray[np.float64]:
        """Importance weight per truth kind (source name): 1/factor for a boosted source
        and the sources derived from it, 1 otherwise."""
        from triggerml.detector.catalogue import SOURCE_BY_NAME

        weights = np.ones(len(kinds))
        for kind in np.unique(kinds):
            name = kind.decode() if isinstance(kind, bytes) else str(kind)
            source = SOURCE_BY_NAME.get(name)
            parent = (source.derived_from or source.name) if source else None
            if parent in self.boost:
                weights[kinds == kind] = 1.0 / self.boost[parent]
        return weights

    def fingerprint(self) -> str:
        """Hash of the config (task files, studies): an empty ``boost`` — added after
        datasets were built — leaves the fingerprint of the config without it."""
        mapping = to_mapping(self)
        if not mapping.get("boost"):
            mapping.pop("boost", None)
        return sha256_json(mapping)

    def kinds(self) -> dict[str, RoiConfig]:
        kinds = {"roi2d": self.roi2d, "waveform": self.waveform, "tp_features": self.tp_features}
        if self.induction_planes:
            kinds["tp_features_uvx"] = self.tp_features_uvx
        return kinds


def load_config(path: str | Path) -> DatasetConfig:
    return from_mapping(DatasetConfig, load_yaml(path))


@dataclass
class _Collected:
    inputs: dict[str, list[npt.NDArray[np.float64]]]
    meta: list[npt.NDArray]


META_DTYPE = np.dtype(
    [
        ("label", np.int8),
        ("apa", np.int32),  # APA kind index × APA_STRIDE + stream number
        ("kind", "S16"),
        ("event_id", np.int64),
        ("true_energy_mev", np.float64),
        ("deposited_energy_mev", np.float64),
        ("neutrino_energy_mev", np.float64),
        ("start", np.int64),
        ("channel_min", np.int32),
        ("channel_max", np.int32),
        ("adc_sum", np.int64),
        ("n_hits", np.int32),
        ("weight", np.float64),  # importance weight (1/boost of its source; 1 unboosted)
    ]
)


def current_meta(meta: npt.NDArray) -> npt.NDArray:
    """Meta records of an older format in today's (a missing weight is 1: unboosted)."""
    if meta.dtype == META_DTYPE:
        return meta
    out = np.zeros(meta.shape, dtype=META_DTYPE)
    out["weight"] = 1.0
    for name in meta.dtype.names or ():
        if name in (META_DTYPE.names or ()):
            out[name] = meta[name]
    return out


def _overlaps(boxes: npt.NDArray, clusters: npt.NDArray) -> npt.NDArray[np.bool_]:
    """Which truth boxes and clusters touch (one wire either side, the drift margins in
    time); one side is a single record, the other an array."""
    return (
        (boxes["channel_min"] - 1 <= clusters["channel_max"])
        & (boxes["channel_max"] + 1 >= clusters["channel_min"])
        & (boxes["tick_min"] + TICK_MARGIN[0] <= clusters["end"])
        & (boxes["tick_max"] + TICK_MARGIN[1] >= clusters["start"])
    )


def touches_signal(clusters: npt.NDArray, truth: npt.NDArray) -> npt.NDArray[np.bool_]:
    """Clusters overlapping any signal box (the test of `_overlaps`): the only ones
    `label_clusters` can call signal. Loops over the few signal boxes, not the clusters."""
    touched = np.zeros(clusters.size, dtype=bool)
    boxes = truth[(truth["channel_min"] >= 0) & np.isin(truth["kind"], SIGNAL_KINDS)]
    for box in boxes:
        touched |= _overlaps(box, clusters)
    return touched


@numba.njit(cache=True, nogil=True)
def _best_boxes(
    channel_min: np.ndarray,
    channel_max: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    chosen: np.ndarray,
    box_channel_min: np.ndarray,
    box_channel_max: np.ndarray,
    box_tick_min: np.ndarray,
    box_tick_max: np.ndarray,
    box_energy: np.ndarray,
) -> np.ndarray:
    """Per chosen cluster, the box (the test of `_overlaps`) with the largest deposited
    energy, the first of equals; −1 where none touches."""
    best = np.full(chosen.shape[0], -1, np.int64)
    for k in range(chosen.shape[0]):
        i = chosen[k]
        top = -np.inf
        for b in range(box_energy.shape[0]):
            if (
                box_channel_min[b] - 1 <= channel_max[i]
                and box_channel_max[b] + 1 >= channel_min[i]
                and box_tick_min[b] + TICK_MARGIN[0] <= end[i]
                and box_tick_max[b] + TICK_MARGIN[1] >= start[i]
                and (best[k] < 0 or box_energy[b] > top)
            ):
                best[k] = b
                top = box_energy[b]
    return best


def label_clusters(
    clusters: npt.NDArray, truth: npt.NDArray, only: npt.NDArray[np.bool_] | None = None
) -> npt.NDArray:
    """Per cluster: class and the matched event's truth (the largest matched deposit).

    `only` limits the (per-cluster) matching to the clusters a caller can use; the rest
    keep label 0 and event id −1."""
    meta = np.zeros(clusters.size, dtype=META_DTYPE)
    meta["event_id"] = -1
    meta["weight"] = 1.0
    for name in ("start", "channel_min", "channel_max", "adc_sum", "n_hits"):
        meta[name] = clusters[name]
    if truth.size == 0 or clusters.size == 0:
        return meta
    boxes = truth[truth["channel_min"] >= 0]
    chosen = np.arange(clusters.size) if only is None else np.flatnonzero(only)
    columns = [np.ascontiguousarray(clusters[name], dtype=np.int64) for name in _SPAN]
    box_columns = [np.ascontiguousarray(boxes[name], dtype=np.int64) for name in _BOX]
    energy = np.ascontiguousarray(boxes["deposited_energy_mev"], dtype=np.float64)
    best = _best_boxes(*columns, chosen, *box_columns, energy)  # type: ignore[call-arg]
    matched = best >= 0
    rows, picked = chosen[matched], boxes[best[matched]]
    meta["label"][rows] = np.where(np.isin(picked["kind"], SIGNAL_KINDS), SIGNAL, BACKGROUND)
    for name in (
        "kind",
        "event_id",
        "true_energy_mev",
        "deposited_energy_mev",
        "neutrino_energy_mev",
    ):
        meta[name][rows] = picked[name]
    return meta


_SPAN = ("channel_min", "channel_max", "start", "end")
_BOX = ("channel_min", "channel_max", "tick_min", "tick_max")


def _largest_per_signal_event(meta: npt.NDArray) -> npt.NDArray[np.bool_]:
    """Keep only the largest cluster (ADC sum) of each signal event; its γ blips and
    fragments would otherwise be signal examples that look like background."""
    keep = meta["label"] != SIGNAL
    signal = np.flatnonzero(meta["label"] == SIGNAL)
    if signal.size:
        order = signal[
            np.lexsort((-meta["adc_sum"][signal], meta["event_id"][signal], meta["apa"][signal]))
        ]
        key_apa, key_id = meta["apa"][order], meta["event_id"][order]
        first = np.append(True, (key_id[1:] != key_id[:-1]) | (key_apa[1:] != key_apa[:-1]))
        keep[order[first]] = True
    return keep


DatasetTask = StreamTask


def plan(config: DatasetConfig) -> list[DatasetTask]:
    n = config.detector.n_slices
    kinds = [kind.value for kind in config.apa_kinds]
    return stream_tasks(kinds, config.apas, n, config.chunk_slices or n)


def collect(
    config: DatasetConfig,
    task: DatasetTask | None = None,
    on_slice: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, npt.NDArray[np.float64]], npt.NDArray]:
    """Simulate one task's stream (default: the whole first stream), find hits, cluster,
    label and build every input kind for the clusters starting inside its range."""
    task = task or plan(dataclasses.replace(config, chunk_slices=0))[0]
    scenario = dataclasses.replace(
        config.boosted_scenario(), seed=config.seed, apa_kind=ApaKind(task.kind)
    )
    geometry = scenario.geometry
    ticks = scenario.slice_ticks
    first = geometry.first_channel["x"]
    n_x = geometry.plane_channels["x"]
    begin = max(task.first_slice - config.warmup_slices, 0)
    # hit times count from the stream's first sample, as the truth's do
    finder = HitFinder(
        n_x, dataclasses.replace(config.tpg, first_channel=first), start_sample=begin * ticks
    )
    clusterer = StreamingClusterer(config.clusters)
    induction = (
        InductionFinder(
            geometry, config.induction_tpg, config.induction_match, BUFFER_SLICES, begin * ticks
        )
        if config.induction_planes
        else None
    )
    buffers: list[npt.NDArray[np.int16]] = []
    truths: list[npt.NDArray] = []
    collected = _Collected({name: [] for name in config.kinds()}, [])
    counted_from = max(task.first_slice, config.warmup_slices) * ticks
    counted_to = task.last_slice * ticks
    end = task.last_slice + config.tail_slices
    stream = ApaStream(scenario, task.apa, first_slice=begin)
    prescale = np.random.default_rng([config.seed, 2, task.apa, task.first_slice])
    in_range: list[npt.NDArray[np.int64]] = []  # signal events interacting inside the range
    for index in range(begin, end):
        slice_ = stream.next_slice()
        block = slice_.adc[first:]
        hits = finder.process(block)
        if induction is not None:
            induction.process(slice_.adc)
        buffers = [*buffers[-(BUFFER_SLICES - 1) :], block]
        truths = [*truths[-(TRUTH_SLICES - 1) :], slice_.truth]
        if counted_from <= slice_.start_tick < counted_to:
            signal_truth = np.isin(slice_.truth["kind"], SIGNAL_KINDS)
            in_range.append(slice_.truth["event_id"][signal_truth])
        clusters, cluster_hits_, hit_cluster = clusterer.add(hits, finder.open_since)
        if clusters.size:
            buffer_start = slice_.start_tick - (len(buffers) - 1) * ticks
            counted = (clusters["start"] >= counted_from) & (clusters["start"] < counted_to)
            events = np.concatenate(in_range) if in_range else np.zeros(0, np.int64)
            meta, keep = _kept(config, clusters, np.concatenate(truths), counted, events, prescale)
            # drop clusters whose window starts before the buffer: they would be padded
            keep &= clusters["start"] - config.roi2d.pre_ticks >= buffer_start
            if keep.any():
                matched = induction.hits() if induction is not None else None
                for name, roi in config.kinds().items():
                    collected.inputs[name].append(
                        _inputs_of_kept(
                            roi,
                            buffers,
                            buffer_start,
                            finder.pedestals,
                            first,
                            clusters,
                            cluster_hits_,
                            hit_cluster,
                            keep,
                            matched,
                        )
                    )
                collected.meta.append(meta[keep])
        if on_slice is not None:
            on_slice(index + 1 - begin, end - begin)
    return _finish(config, task, collected)


def _inputs_of_kept(
    roi: RoiConfig,
    adc: AdcBuffer,
    buffer_start: int,
    pedestals: npt.NDArray,
    first_channel: int,
    clusters: npt.NDArray,
    hits: npt.NDArray,
    hit_cluster: npt.NDArray[np.int64],
    keep: npt.NDArray[np.bool_],
    matched: Any,
) -> npt.NDArray[np.float64]:
    """One input kind of the kept clusters (their hits renumbered to the kept ones)."""
    kept_ids = np.flatnonzero(keep)
    renumber = np.full(clusters.size, -1)
    renumber[kept_ids] = np.arange(kept_ids.size)
    hit_keep = keep[hit_cluster]
    return build_inputs(
        roi,
        adc,
        buffer_start,
        pedestals,
        first_channel,
        clusters[keep],
        hits[hit_keep],
        renumber[hit_cluster[hit_keep]],
        matched,
    )


def _kept(
    config: DatasetConfig,
    clusters: npt.NDArray,
    truth: npt.NDArray,
    counted: npt.NDArray[np.bool_],
    events: npt.NDArray[np.int64],
    prescale: np.random.Generator,
) -> tuple[npt.NDArray, npt.NDArray[np.bool_]]:
    """The clusters' labels and which to keep: all signal clusters of events inside the
    range (the largest per event is chosen at the end, once every fragment is in), a
    prescaled share of the plentiful backgrounds and noise above the pre-cut."""
    # only clusters that can be kept need labelling: signal ones touch a signal box,
    # the rest must pass the pre-cut (labelling all of them cost half a task's time)
    usable = counted & (
        (clusters["adc_sum"] >= config.precut_adc_sum) | touches_signal(clusters, truth)
    )
    meta = label_clusters(clusters, truth, only=usable)
    keep = counted & (
        ((meta["label"] == SIGNAL) & np.isin(meta["event_id"], events))
        | (
            (meta["label"] != SIGNAL)
            & (prescale.random(meta.size) < config.background_prescale)
            & (clusters["adc_sum"] >= config.precut_adc_sum)
        )
    )
    return meta, keep


def _finish(
    config: DatasetConfig, task: DatasetTask, collected: _Collected
) -> tuple[dict[str, npt.NDArray[np.float64]], npt.NDArray]:
    """A task's examples: importance weights, event ids unique within the APA, the largest
    cluster of each signal event."""
    meta = np.concatenate(collected.meta) if collected.meta else np.zeros(0, META_DTYPE)
    meta["apa"] = task.apa
    background = meta["label"] == BACKGROUND
    meta["weight"][background] = config.weights_of(meta["kind"][background])
    # each task's generator numbers its events from 0: make them unique within the APA
    meta["event_id"][meta["event_id"] >= 0] += np.int64(task.first_slice) << EVENT_ID_BITS
    # a task holds every fragment of its events (ids unique to it): choose the largest here
    keep = _largest_per_signal_event(meta)
    inputs = {
        name: (np.concatenate(parts) if parts else np.zeros((0, *config.kinds()[name].shape)))
        for name, parts in collected.inputs.items()
    }
    return {name: values[keep] for name, values in inputs.items()}, meta[keep]


def parts_dir(config: DatasetConfig, out: str | Path) -> Path:
    """Where a build keeps its finished tasks: beside the output, named by the config."""
    out = Path(out)
    digest = config.fingerprint()[:12]
    return out.parent / f".{out.name}.parts-{digest}"


def run_and_store(config: DatasetConfig, parts: str, task: DatasetTask) -> str:
    """One task (picklable for Dask); skipped if its part file exists."""
    target = Path(parts) / f"{task.key}.npz"
    if target.is_file():
        return task.key
    inputs, meta = collect(config, task)
    arrays: dict[str, npt.NDArray] = {f"x_{k}": v.astype(np.float32) for k, v in inputs.items()}
    arrays["meta"] = meta
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # (numpy stubs: allow_pickle)
    return task.key


def _merge(
    config: DatasetConfig, parts: Path, tasks: list[DatasetTask]
) -> tuple[dict[str, npt.NDArray[np.float32]], npt.NDArray]:
    inputs: dict[str, list[npt.NDArray[np.float32]]] = {name: [] for name in config.kinds()}
    metas = []
    for task in tasks:
        with np.load(parts / f"{task.key}.npz", allow_pickle=False) as data:
            metas.append(current_meta(data["meta"]))
            for name, values in inputs.items():
                values.append(data[f"x_{name}"])
    return {name: np.concatenate(v) for name, v in inputs.items()}, np.concatenate(metas)


def balance_and_split(
    meta: npt.NDArray, config: DatasetConfig
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """Indices kept (signal all, others capped) and a seeded train/val/test split."""
    rng = np.random.default_rng(config.seed + 1)
    n_signal = int((meta["label"] == SIGNAL).sum())
    keep = [np.flatnonzero(meta["label"] == SIGNAL)]
    for label, ratio in (
        (BACKGROUND, config.max_background_per_signal),
        (NOISE, config.max_noise_per_signal),
    ):
        candidates = np.flatnonzero(meta["label"] == label)
        cap = min(candidates.size, int(np.ceil(ratio * max(n_signal, 1))))
        keep.append(np.sort(rng.choice(candidates, size=cap, replace=False)))
    kept = np.sort(np.concatenate(keep))
    u = rng.random(kept.size)
    train, val, _ = config.split
    split = np.where(u < train, 0, np.where(u < train + val, 1, 2)).astype(np.int8)
    return kept, split


def build_dataset(
    config: DatasetConfig,
    out: str | Path,
    on_task: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> dict[str, int]:
    """Write the dataset HDF5 (atomically, after every task has finished; a rerun after a
    kill does only the missing tasks); returns counts per class.  ``on_task(done, total)``
    after each task."""
    config.validate()
    tasks = plan(config)
    parts = parts_dir(config, out)
    parts.mkdir(parents=True, exist_ok=True)
    todo = [task for task in tasks if not (parts / f"{task.key}.npz").is_file()]
    done = [len(tasks) - len(todo)]

    def finished(_key: str) -> None:
        done[0] += 1
        if on_task is not None:
            on_task(done[0], len(tasks))

    if on_task is not None:
        on_task(done[0], len(tasks))
    run_tasks(
        functools.partial(run_and_store, config, str(parts.resolve())),
        todo,
        lambda task: f"triggerml-dataset-{task.key}",
        workers,
        scheduler,
        finished,
    )
    inputs, meta = _merge(config, parts, tasks)
    kept, split = balance_and_split(meta, config)
    config_json = json.dumps(to_mapping(config))
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as handle:
        for name, values in inputs.items():
            handle.create_dataset(
                f"x/{name}", data=values[kept], compression="gzip", compression_opts=4
            )
            handle[f"x/{name}"].attrs["input_type"] = config.kinds()[name].input_type
        handle.create_dataset("meta", data=meta[kept])
        handle.create_dataset("split", data=split)
        handle.attrs["config"] = config_json
        handle.attrs["config_sha256"] = sha256_json(to_mapping(config))
        handle.attrs["versions"] = json.dumps(versions())
        handle.attrs["classes"] = json.dumps(CLASS_NAMES)
        handle.attrs["seed"] = config.seed
        handle.attrs["tasks"] = len(tasks)
        handle.attrs["apa_seconds"] = json.dumps(
            {kind.value: config.apas * config.detector.seconds for kind in config.apa_kinds}
        )
    shutil.rmtree(parts, ignore_errors=True)
    labels = meta["label"][kept]
    return {name: int((labels == i).sum()) for i, name in enumerate(CLASS_NAMES)}


@dataclass
class Dataset:
    """A dataset file in memory: inputs of one kind (and a side input's), binary targets,
    truth, split."""

    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.float32]  # 1 for signal
    meta: npt.NDArray
    split: npt.NDArray[np.int8]
    input_type: str
    config: dict
    side: npt.NDArray[np.float32] | None = None  # the side input's, same examples
    side_type: str = ""

    def part(self, which: str) -> tuple[Any, npt.NDArray[np.float32], npt.NDArray]:
        """Inputs (an array, or [x, side] for a model with a side input), targets, meta."""
        code = {"train": 0, "val": 1, "test": 2}[which]
        mask = self.split == code
        x = self.x[mask] if self.side is None else [self.x[mask], self.side[mask]]
        return x, self.y[mask], self.meta[mask]


def load_dataset(path: str | Path, kind: str, side: str | None = None) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset {path} not found: make it with `triggerml dataset`")
    with h5py.File(path, "r") as handle:
        for wanted in (kind, side) if side else (kind,):
            if f"x/{wanted}" not in handle:
                raise ValueError(
                    f"{path} has no inputs of kind {wanted!r}; it has {', '.join(handle['x'])}"
                )
        x = handle[f"x/{kind}"][()]
        meta = current_meta(handle["meta"][()])
        return Dataset(
            x,
            (meta["label"] == SIGNAL).astype(np.float32),
            meta,
            handle["split"][()],
            str(handle[f"x/{kind}"].attrs["input_type"]),
            json.loads(handle.attrs["config"]),
            handle[f"x/{side}"][()] if side else None,
            str(handle[f"x/{side}"].attrs["input_type"]) if side else "",
        )
