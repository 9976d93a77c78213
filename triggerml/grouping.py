"""Transitive grouping of time-sorted boxes (channel range × time range) that come within
given gaps: the clusters of one interaction into a candidate, the coincident background
events of a pile-up estimate.  One numba kernel, shared."""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt


@numba.njit(cache=True)
def _find(parent: npt.NDArray[np.int64], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@numba.njit(cache=True)
def _group_sorted(
    lane: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    ch_min: npt.NDArray[np.int64],
    ch_max: npt.NDArray[np.int64],
    channels: int,
    ticks: int,
    longest: int,
) -> npt.NDArray[np.int64]:
    """Union-find over boxes sorted by (lane, start); returns each box's root."""
    n = lane.size
    parent = np.arange(n)
    for j in range(n):
        i = j - 1
        # an earlier box can reach j only if it starts within longest + ticks before it
        while i >= 0 and lane[i] == lane[j] and start[i] >= start[j] - longest - ticks:
            if (
                end[i] + ticks >= start[j]
                and ch_min[i] - channels <= ch_max[j]
                and ch_max[i] + channels >= ch_min[j]
            ):
                a = _find(parent, i)
                b = _find(parent, j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            i -= 1
    for k in range(n):
        parent[k] = _find(parent, k)
    return parent


def group_boxes(
    lane: npt.ArrayLike,
    start: npt.ArrayLike,
    end: npt.ArrayLike,
    ch_min: npt.ArrayLike,
    ch_max: npt.ArrayLike,
    channels: int,
    ticks: int,
) -> npt.NDArray[np.int64]:
    """Group number of every box (0 … n−1 in order of each group's first box by lane and
    start): boxes of one lane join when their channel ranges come within ``channels`` and
    their time ranges within ``ticks`` of each other, transitively."""
    lane, start, end, ch_min, ch_max = (
        np.asarray(a, dtype=np.int64) for a in (lane, start, end, ch_min, ch_max)
    )
    if lane.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((start, lane))
    roots = _group_sorted(
        lane[order],
        start[order],
        end[order],
        ch_min[order],
        ch_max[order],
        int(channels),
        int(ticks),
        int((end - start).max()),
    )
    _, dense = np.unique(roots, return_inverse=True)  # roots are first members: sorted order
    ids = np.empty(lane.size, dtype=np.int64)
    ids[order] = dense
    return ids
