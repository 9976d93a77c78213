"""Candidates, not fragments: the clusters of one interaction grouped into one candidate.

An electron's track, its bremsstrahlung γ blips and a track broken by a dead gap leave
several clusters; a trigger that counts clusters counts one event several times (the ADC sum
did: 1.83 clusters per supernova event).  Two clusters of one APA belong to the same
candidate when their channel ranges come within ``channels`` wires and their time ranges
within ``ticks`` samples of each other (transitively) — among clusters above the chain's
ADC-sum pre-cut only: at ≈10⁵ clusters per APA-second the small radiological blips would
chain distant clusters together (at 20 wires × 200 samples the windows percolate: 17 % of
the clusters above the pre-cut were merged with another one), while above the pre-cut
(≈1.3 kHz per APA) two unrelated clusters meet in ≈0.3 % of windows.  Clusters below it stay
candidates of their own; no trigger reported here can pass them.  Every trigger sees the same
candidates; a candidate passes a trigger when one of its clusters does (its metric is the
largest of its clusters'), so grouping never changes what a trigger accepts — only how often
one interaction is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from triggerml.config import require
from triggerml.grouping import group_boxes
from triggerml.nn.dataset import SIGNAL


@dataclass(frozen=True)
class Grouping:
    """Windows that join clusters into one candidate (gaps, not sizes)."""

    # 20 wires × 4.79 mm (DESIGN §4 collection pitch) ≈ 10 cm: a 1 MeV γ's mean free path in
    # argon is ≈14 cm (XCOM), so most de-excitation blips of one event join it
    channels: int = 20
    # 200 samples × 0.5 µs × 1.6 mm/µs (DESIGN §4 drift speed) ≈ 16 cm of drift
    ticks: int = 200

    def validate(self) -> None:
        require(self.channels >= 0, "channels", "must not be negative")
        require(self.ticks >= 0, "ticks", "must not be negative")


def group(clusters: npt.NDArray, grouping: Grouping, min_adc_sum: int = 0) -> npt.NDArray[np.int64]:
    """Candidate number of every cluster; only clusters with ADC sum ≥ ``min_adc_sum`` join
    others."""
    joins = clusters["adc_sum"] >= min_adc_sum
    ids = np.empty(clusters.size, dtype=np.int64)
    c = clusters[joins]
    ids[joins] = group_boxes(
        c["apa"],
        c["start"],
        c["end"],
        c["channel_min"],
        c["channel_max"],
        grouping.channels,
        grouping.ticks,
    )
    first_alone = int(ids[joins].max()) + 1 if joins.any() else 0
    ids[~joins] = first_alone + np.arange(int((~joins).sum()))
    return ids


def event_keys(apa: npt.NDArray, event_id: npt.NDArray) -> npt.NDArray[np.int64]:
    """One number per (APA, event): APA numbers stay below 2^12, event ids below 2^48."""
    return (apa.astype(np.int64) << 48) + event_id.astype(np.int64)


@dataclass
class Candidates:
    """Grouped clusters: per-candidate summaries and the means to re-reduce cluster values."""

    clusters: npt.NDArray  # the scored clusters, sorted by candidate
    offsets: npt.NDArray[np.int64]  # candidate c holds clusters[offsets[c]:offsets[c + 1]]
    adc_sum: npt.NDArray[np.float64]  # largest cluster ADC sum
    score: npt.NDArray[np.float64]  # largest cluster score (−inf: no cluster scored)
    window_sum: npt.NDArray[np.float64]  # largest ADC sum over a model window (shape control)
    signal: npt.NDArray[np.bool_]  # holds a cluster of a signal event
    group: npt.NDArray[np.int64]  # each cluster's candidate (clusters in candidate order)
    background: npt.NDArray[np.bool_]  # no signal cluster, first cluster in a counted range
    half: npt.NDArray[np.int8]  # 0: tuning half, 1: reporting half (by the first slice)
    kind: npt.NDArray[np.int64]  # APA kind index (APA number // APA stride)

    @property
    def size(self) -> int:
        return int(self.adc_sum.size)

    def select(self, keep: npt.NDArray[np.bool_]) -> Candidates:
        """The candidates where ``keep``, with their clusters, renumbered."""
        sizes = np.diff(self.offsets)
        cluster_keep = np.repeat(keep, sizes)
        kept_sizes = sizes[keep]
        offsets = np.concatenate([[0], np.cumsum(kept_sizes)]).astype(np.int64)
        group = np.repeat(np.arange(kept_sizes.size, dtype=np.int64), kept_sizes)
        return Candidates(
            self.clusters[cluster_keep],
            offsets,
            self.adc_sum[keep],
            self.score[keep],
            self.window_sum[keep],
            self.signal[keep],
            group,
            self.background[keep],
            self.half[keep],
            self.kind[keep],
        )

    def reduce_max(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Per candidate, the largest of its clusters' ``values`` (cluster order as
        ``clusters``); −inf for none."""
        if self.size == 0:
            return np.zeros(0)
        return np.maximum.reduceat(values, self.offsets[:-1])

    def score_above(self, adc_floor: float) -> npt.NDArray[np.float64]:
        """Largest score among each candidate's clusters with ADC sum ≥ ``adc_floor``."""
        keep = self.clusters["adc_sum"] >= adc_floor
        return self.reduce_max(np.where(keep, self.clusters["score"], -np.inf))


def build(
    clusters: npt.NDArray,
    grouping: Grouping,
    slice_ticks: int,
    apa_stride: int,
    min_adc_sum: int = 0,
) -> Candidates:
    """Group the pooled clusters of a study into candidates (``min_adc_sum``: the pre-cut,
    below which clusters stay alone)."""
    ids = group(clusters, grouping, min_adc_sum)
    order = np.lexsort((clusters["start"], ids))
    c = clusters[order]
    gid = ids[order]
    n = int(gid.max()) + 1 if gid.size else 0
    offsets = np.searchsorted(gid, np.arange(n + 1)).astype(np.int64)
    first = offsets[:-1]
    score = np.where(np.isnan(c["score"]), -np.inf, c["score"]).astype(np.float64)
    c = c.copy()
    c["score"] = score
    is_signal = c["label"] == SIGNAL
    reduce = (lambda v: np.maximum.reduceat(v, first)) if n else (lambda v: np.zeros(0))
    adc = reduce(c["adc_sum"].astype(np.float64))
    best_score = reduce(score)
    window_sum = reduce(c["window_adc_sum"].astype(np.float64))
    signal = reduce(is_signal.astype(np.int8)).astype(bool)
    background = ~signal & (c["in_range"][first] if n else np.zeros(0, bool))
    half = ((c["start"][first] // slice_ticks) % 2).astype(np.int8) if n else np.zeros(0, np.int8)
    kind = c["apa"][first].astype(np.int64) // apa_stride if n else np.zeros(0, np.int64)
    return Candidates(c, offsets, adc, best_score, window_sum, signal, gid, background, half, kind)
