"""Hit clusters (trigger activities) and the ADC-sum baseline trigger.

Two hits belong together when their channels differ by at most ``channel_gap`` and their
time spans, each widened by ``time_window`` samples, overlap; a cluster is a connected set.
A cluster whose summed ADC (or hit count) reaches the threshold is a trigger candidate —
the baseline that machine learning must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

CLUSTER_DTYPE = np.dtype(
    [
        ("n_hits", np.int32),
        ("channel_min", np.int32),
        ("channel_max", np.int32),
        ("start", np.int64),
        ("end", np.int64),  # first start, last end (start + tot)
        ("adc_sum", np.int64),
        ("peak_adc", np.int32),
    ]
)


@dataclass(frozen=True)
class ClusterConfig:
    channel_gap: int = 2
    time_window: int = 30  # samples


@numba.njit(cache=True)
def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@numba.njit(cache=True)
def _label(
    channel: np.ndarray, start: np.ndarray, end: np.ndarray, channel_gap: int, time_window: int
) -> np.ndarray:
    """Cluster label per hit; hits must be sorted by start."""
    n = channel.shape[0]
    parent = np.arange(n)
    longest = 0
    for i in range(n):
        j = i - 1
        while j >= 0 and start[i] - start[j] <= time_window + longest:
            if abs(channel[i] - channel[j]) <= channel_gap and start[i] <= end[j] + time_window:
                a = _find(parent, i)
                b = _find(parent, j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            j -= 1
        longest = max(longest, end[i] - start[i])
    labels = np.empty(n, np.int64)
    for i in range(n):
        labels[i] = _find(parent, i)
    return labels


@numba.njit(cache=True)
def _aggregate(
    labels: np.ndarray,
    channel: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    adc_sum: np.ndarray,
    peak_adc: np.ndarray,
    clusters: np.ndarray,
) -> tuple[int, np.ndarray]:
    """Each root (a hit that is its own label) opens a cluster, in order; every hit adds
    to its root's.  Returns the number of clusters and each hit's cluster index."""
    n = labels.shape[0]
    index = np.empty(n, np.int64)
    count = 0
    for i in range(n):
        root = labels[i]
        if root == i:
            c = clusters[count]
            c.n_hits = 0
            c.channel_min = channel[i]
            c.channel_max = channel[i]
            c.start = start[i]
            c.end = end[i]
            c.adc_sum = 0
            c.peak_adc = peak_adc[i]
            index[i] = count
            count += 1
        else:
            index[i] = index[root]  # the root comes first: it is the smallest index
        c = clusters[index[i]]
        c.n_hits += 1
        c.channel_min = min(c.channel_min, channel[i])
        c.channel_max = max(c.channel_max, channel[i])
        c.start = min(c.start, start[i])
        c.end = max(c.end, end[i])
        c.adc_sum += adc_sum[i]
        c.peak_adc = max(c.peak_adc, peak_adc[i])
    return count, index


def cluster_hits(
    hits: npt.NDArray, config: ClusterConfig | None = None
) -> tuple[npt.NDArray, npt.NDArray[np.int64]]:
    """Clusters of a hit list (any order), ordered by their first hit's start, and each
    hit's cluster index (into the result)."""
    config = config or ClusterConfig()
    order = np.argsort(hits["start"], kind="stable")
    ordered = hits[order]
    channel = ordered["channel"].astype(np.int64)
    start = np.ascontiguousarray(ordered["start"])
    end = start + ordered["tot"]
    labels = _label(channel, start, end, config.channel_gap, config.time_window)
    clusters = np.zeros(hits.size, dtype=CLUSTER_DTYPE)
    count, index = _aggregate(
        labels,
        channel,
        start,
        end,
        np.ascontiguousarray(ordered["adc_sum"]),
        np.ascontiguousarray(ordered["peak_adc"]),
        clusters,
    )
    hit_cluster = np.empty(hits.size, dtype=np.int64)
    hit_cluster[order] = index
    return clusters[:count], hit_cluster


class StreamingClusterer:
    """Clusters hits as blocks arrive; a cluster is final once nothing later can join it.

    ``add(hits, horizon)``: ``horizon`` is the earliest start any future hit can have (the
    HitFinder's ``open_since``).  Returns the final clusters and their hits; hits of
    clusters that may still grow wait for the next call.
    """

    def __init__(self, config: ClusterConfig | None = None) -> None:
        self.config = config or ClusterConfig()
        self._pending = np.zeros(0, dtype=None)

    def add(
        self, hits: npt.NDArray, horizon: int
    ) -> tuple[npt.NDArray, npt.NDArray, npt.NDArray[np.int64]]:
        pool = hits if self._pending.size == 0 else np.concatenate([self._pending, hits])
        if pool.size == 0:
            self._pending = pool
            return np.zeros(0, CLUSTER_DTYPE), pool, np.zeros(0, np.int64)
        clusters, index = cluster_hits(pool, self.config)
        final = clusters["end"] + self.config.time_window < horizon
        keep_hit = final[index]
        self._pending = pool[~keep_hit]
        renumber = np.cumsum(final) - 1
        return clusters[final], pool[keep_hit], renumber[index[keep_hit]]

    def flush(self) -> tuple[npt.NDArray, npt.NDArray, npt.NDArray[np.int64]]:
        """Everything still pending, as final clusters (end of stream)."""
        return self.add(self._pending[:0], np.iinfo(np.int64).max // 2)


@dataclass(frozen=True)
class TunedThreshold:
    threshold: int
    rate_hz: float  # background candidates per second per APA at this threshold
    candidates: int


def tune_threshold(
    values: npt.NDArray[np.integer], live_seconds: float, target_rate_hz: float
) -> TunedThreshold:
    """Lowest threshold whose background candidate rate (value ≥ threshold) ≤ target."""
    if live_seconds <= 0:
        raise ValueError("live time must be positive")
    if target_rate_hz < 0:
        raise ValueError("target rate must not be negative")
    ordered = np.sort(np.asarray(values, dtype=np.int64))[::-1]
    allowed = int(np.floor(target_rate_hz * live_seconds))
    if allowed >= ordered.size:
        threshold = int(ordered[-1]) if ordered.size else 1
    else:
        threshold = int(ordered[allowed]) + 1
    passing = int((ordered >= threshold).sum())
    return TunedThreshold(threshold, passing / live_seconds, passing)


def candidates(clusters: npt.NDArray, threshold: int, metric: str = "adc_sum") -> npt.NDArray:
    """Clusters that pass the baseline trigger."""
    if metric not in ("adc_sum", "n_hits"):
        raise ValueError(f"metric must be adc_sum or n_hits, not {metric!r}")
    return clusters[clusters[metric] >= threshold]
