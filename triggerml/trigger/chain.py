"""The online trigger chain of one APA: readout slices → TPG → hit clusters → model inputs →
firmware emulator → scored clusters.

Every cluster leaves the chain with both trigger metrics — the model's score (bit-exact
firmware output) and its ADC sum (the baseline) — so thresholds are applied afterwards, on
the same clusters, for both triggers.  The chain keeps only a few slices of raw ADC (the
ROI windows reach back at most that far) and the clusterer's open hits: its memory does not
grow with the length of the stream.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from triggerml.detector.config import Geometry
from triggerml.emulator import Emulator
from triggerml.tpg.clusters import ClusterConfig, StreamingClusterer
from triggerml.tpg.config import INDUCTION_TPG, TpgConfig
from triggerml.tpg.hitfinder import HitFinder
from triggerml.tpg.planes import InductionFinder, MatchConfig
from triggerml.tpg.roi import RoiConfig, inputs_and_window_sums

BUFFER_SLICES = 3  # raw ADC kept for ROI windows that reach back before the current slice

SCORED_DTYPE = np.dtype(
    [
        ("start", np.int64),
        ("end", np.int64),
        ("channel_min", np.int32),
        ("channel_max", np.int32),
        ("n_hits", np.int32),
        ("adc_sum", np.int64),
        ("peak_adc", np.int32),
        ("score", np.float64),  # −inf: below the pre-cut, not scored
        # ADC summed over the model's window, the shape control (−inf below the pre-cut)
        ("window_adc_sum", np.float64),
    ]
)


CLUSTER_FIELDS = ("start", "end", "channel_min", "channel_max", "n_hits", "adc_sum", "peak_adc")


@dataclass(frozen=True)
class ChainConfig:
    """What the chain needs from the model's training set: the same TPG, clustering and
    input builder, so the stream's inputs are built by the code that made the training set."""

    tpg: TpgConfig = field(default_factory=TpgConfig)
    clusters: ClusterConfig = field(default_factory=ClusterConfig)
    roi: RoiConfig = field(default_factory=RoiConfig)
    # the model scores only clusters with ADC sum ≥ this (the loose pre-cut the firmware
    # applies before inference); the others get score −inf
    precut_adc_sum: int = 0
    # the U and V planes' TPG and matching, for inputs that need them (tp_features_uvx)
    induction_tpg: TpgConfig = field(default_factory=lambda: INDUCTION_TPG)
    induction_match: MatchConfig = field(default_factory=MatchConfig)
    # a model's side input (its second port), built for the same clusters
    side: RoiConfig | None = None

    @property
    def inputs(self) -> list[RoiConfig]:
        """The model's inputs in port order."""
        return [self.roi] if self.side is None else [self.roi, self.side]


@dataclass
class ChainTimer:
    """Seconds spent per stage (the simulator is not part of the chain)."""

    tpg: float = 0.0
    cluster: float = 0.0
    inputs: float = 0.0
    model: float = 0.0

    @property
    def total(self) -> float:
        return self.tpg + self.cluster + self.inputs + self.model


class TriggerChain:
    """Feed whole-APA slices in order with :meth:`process`; :meth:`flush` at the end."""

    def __init__(
        self,
        config: ChainConfig,
        emulator: Emulator,
        geometry: Geometry,
        start_sample: int = 0,
        batch: int = 512,  # the emulator's chunk: queued inputs stay small
        record_inputs: bool = False,
    ) -> None:
        built = [tuple(roi.shape) for roi in config.inputs]
        if [tuple(shape) for shape in emulator.input_shapes] != built:
            raise ValueError(
                f"the model takes inputs of shape {', '.join(map(str, emulator.input_shapes))} "
                f"but the {' and '.join(r.kind.value for r in config.inputs)} builder makes "
                f"{', '.join(map(str, built))}: pair the firmware with its own training "
                "set's input kinds"
            )
        self.config = config
        self.emulator = emulator
        self.first_channel = geometry.first_channel["x"]
        self.n_channels = geometry.plane_channels["x"]
        tpg = dataclasses.replace(config.tpg, first_channel=self.first_channel)
        self.finder = HitFinder(self.n_channels, tpg, start_sample=start_sample)
        self.clusterer = StreamingClusterer(config.clusters)
        self.induction = (
            InductionFinder(
                geometry,
                config.induction_tpg,
                config.induction_match,
                BUFFER_SLICES,
                start_sample=start_sample,
            )
            if any(roi.kind.needs_induction for roi in config.inputs)
            else None
        )
        self.batch = batch
        self.timer = ChainTimer()
        self.samples = 0  # whole-APA samples consumed
        self._buffers: list[npt.NDArray[np.int16]] = []
        self._buffer_end = start_sample
        self._queued: list[list[npt.NDArray[np.float64]]] = []  # per batch: one per input
        self._masks: list[npt.NDArray[np.bool_]] = []  # which queued clusters are scored
        self._n_queued = 0  # clusters queued that pass the pre-cut
        self.scored_clusters = 0  # model inferences made
        # every scored cluster's model inputs, per batch and port (``record_inputs``): a
        # stream recorded once can be scored again by other firmware (the sweep)
        self.record_inputs = record_inputs
        self.recorded: list[list[npt.NDArray[np.float64]]] = []

    def process(self, adc: npt.NDArray[np.int16]) -> npt.NDArray:
        """One slice of the whole APA (channels × ticks): the clusters final after it, in
        order.  Their scores come later, in the same order, from :meth:`scores` (the model
        runs on batches of ``batch`` clusters)."""
        self.samples += adc.size
        block = adc[self.first_channel : self.first_channel + self.n_channels]
        t0 = time.perf_counter()
        hits = self.finder.process(block)
        if self.induction is not None:
            self.induction.process(adc)
        t1 = time.perf_counter()
        clusters, hits_, index = self.clusterer.add(hits, self.finder.open_since)
        t2 = time.perf_counter()
        self.timer.tpg += t1 - t0
        self.timer.cluster += t2 - t1
        self._buffers = [*self._buffers[-(BUFFER_SLICES - 1) :], block]
        self._buffer_end += block.shape[1]
        return self._queue(clusters, hits_, index)

    def flush(self) -> npt.NDArray:
        """Clusters still open at the end of the stream, closed as they are."""
        t0 = time.perf_counter()
        clusters, hits_, index = self.clusterer.flush()
        self.timer.cluster += time.perf_counter() - t0
        return self._queue(clusters, hits_, index)

    def scores(self, final: bool = False) -> npt.NDArray[np.float64]:
        """Scores of queued clusters, once a batch is full (all of them when ``final``)."""
        if not self._masks or (not final and self._n_queued < self.batch):
            return np.zeros(0)
        mask = np.concatenate(self._masks)
        out = np.full(mask.size, -np.inf)
        if self._queued:
            inputs = [np.concatenate(parts) for parts in zip(*self._queued, strict=True)]
            t0 = time.perf_counter()
            # the score is the last output's logit (binary models have one output; the
            # firmware compares the logit, before the sigmoid table, with the threshold)
            # the emulator's own chunk (512 events: in cache, and a batch's peak memory
            # does not grow with the batch)
            logits = self.emulator.predict(inputs[0] if len(inputs) == 1 else inputs, logits=True)
            self.timer.model += time.perf_counter() - t0
            out[mask] = logits[:, -1]
            self.scored_clusters += inputs[0].shape[0]
            if self.record_inputs:
                self.recorded.append(inputs)
        self._queued, self._masks, self._n_queued = [], [], 0
        return out

    def _queue(
        self, clusters: npt.NDArray, hits: npt.NDArray, index: npt.NDArray[np.int64]
    ) -> npt.NDArray:
        scored = np.zeros(clusters.size, dtype=SCORED_DTYPE)
        for name in CLUSTER_FIELDS:
            scored[name] = clusters[name]
        scored["score"] = np.nan
        scored["window_adc_sum"] = -np.inf  # below the pre-cut: no window built
        if clusters.size == 0:
            return scored
        passing = clusters["adc_sum"] >= self.config.precut_adc_sum
        self._masks.append(passing)
        if not passing.any():
            return scored
        if not passing.all():
            clusters, hits, index = _select(clusters, hits, index, passing)
        t0 = time.perf_counter()
        adc = self._buffers or [np.zeros((self.n_channels, 0), dtype=np.int16)]
        first_tick = self._buffer_end - sum(block.shape[1] for block in adc)
        induction = self.induction.hits() if self.induction is not None else None
        built = [
            inputs_and_window_sums(
                roi,
                adc,
                first_tick,
                self.finder.pedestals,
                self.first_channel,
                clusters,
                hits,
                index,
                induction,
            )
            for roi in self.config.inputs
        ]
        sums = built[0][1]  # the shape control: the main input's window
        self._queued.append([inputs for inputs, _ in built])
        scored["window_adc_sum"][passing] = sums
        self._n_queued += clusters.size
        self.timer.inputs += time.perf_counter() - t0
        return scored


def _select(
    clusters: npt.NDArray,
    hits: npt.NDArray,
    index: npt.NDArray[np.int64],
    keep: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray, npt.NDArray, npt.NDArray[np.int64]]:
    """The kept clusters with their hits, the hits' cluster index renumbered."""
    renumber = np.full(keep.size, -1, dtype=np.int64)
    renumber[keep] = np.arange(int(keep.sum()))
    hit_keep = keep[index]
    return clusters[keep], hits[hit_keep], renumber[index[hit_keep]]
