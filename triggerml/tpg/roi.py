"""Regions of interest around hit clusters: the one implementation of every model input.

Both the training datasets (triggerml.nn) and the streaming trigger (triggerml.trigger)
build model inputs here, from the same raw ADC, the same TPG pedestals and the same fixed
point cast, so a model sees online exactly what it was trained on.

Input kinds (DESIGN.md §6):
- ``roi2d``: wires × time image around a cluster — ``channels`` collection wires centred on
  the cluster, ``ticks`` samples from ``pre_ticks`` before its start, max-pooled in time by
  ``time_pool``; pixel = (ADC − pedestal) / adc_scale.
- ``waveform``: the cluster's peak channel, ``ticks`` samples from ``pre_ticks`` before its
  start, pixel as above.
- ``tp_features``: a fixed summary of the cluster's hits (see :data:`FEATURES`).
- ``tp_features_uvx``: those and the cluster's time-matched U and V induction hits, with
  the height along the wires they give (:mod:`triggerml.tpg.planes`).
All are cast to the model's input type (``ap_fixed<12,7,AP_RND_CONV,AP_SAT>`` by default,
the grid of QKeras ``quantized_bits(12, 6, alpha=1)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from triggerml.config import require
from triggerml.emulator.fastcast import mantissa_from_double
from triggerml.fixed import parse_type
from triggerml.tpg.planes import INDUCTION_FEATURES, INDUCTION_SCALES, Induction, induction_features

FEATURES = (
    "n_hits",
    "channel_span",
    "time_span",
    "adc_sum",
    "peak_adc",
    "mean_tot",
    "max_tot",
    "hits_per_channel",
)
FEATURE_SCALES = np.array([1 / 4, 1 / 4, 1 / 64, 1 / 1024, 1 / 256, 1 / 16, 1 / 16, 1.0])


class InputKind(StrEnum):
    ROI2D = "roi2d"
    WAVEFORM = "waveform"
    TP_FEATURES = "tp_features"
    TP_FEATURES_UVX = "tp_features_uvx"

    @property
    def needs_induction(self) -> bool:
        return self is InputKind.TP_FEATURES_UVX


@dataclass(frozen=True)
class RoiConfig:
    kind: InputKind = InputKind.ROI2D
    channels: int = 16  # roi2d: wires in the window
    ticks: int = 128  # samples in the window (before pooling)
    pre_ticks: int = 32  # samples before the cluster's first hit
    time_pool: int = 4  # roi2d: max-pool in time
    adc_scale: float = 32.0  # ADC counts per unit of model input (a power of two: exact)
    input_type: str = "ap_fixed<12,7,AP_RND_CONV,AP_SAT>"

    def validate(self) -> None:
        require(self.channels > 0, "channels", "must be positive")
        require(
            self.ticks > 0 and self.ticks % self.time_pool == 0,
            "ticks",
            "must be a positive multiple of time_pool",
        )
        require(self.time_pool > 0, "time_pool", "must be positive")
        require(self.adc_scale > 0, "adc_scale", "must be positive")
        parse_type(self.input_type)

    @property
    def shape(self) -> tuple[int, ...]:
        """Model input shape, without the batch dimension (channels last)."""
        if self.kind is InputKind.ROI2D:
            return (self.channels, self.ticks // self.time_pool, 1)
        if self.kind is InputKind.WAVEFORM:
            return (self.ticks, 1)
        if self.kind is InputKind.TP_FEATURES_UVX:
            return (len(FEATURES) + len(INDUCTION_FEATURES),)
        return (len(FEATURES),)


def cluster_features(
    clusters: npt.NDArray, hits: npt.NDArray, hit_cluster: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """(n_clusters, len(FEATURES)) in physical units (before scaling)."""
    n = clusters.size
    tot = hits["tot"].astype(np.float64)
    sum_tot = np.bincount(hit_cluster, weights=tot, minlength=n)
    max_tot = np.zeros(n)
    np.maximum.at(max_tot, hit_cluster, tot)
    n_hits = clusters["n_hits"].astype(np.float64)
    span = (clusters["channel_max"] - clusters["channel_min"] + 1).astype(np.float64)
    return np.stack(
        [
            n_hits,
            span,
            (clusters["end"] - clusters["start"]).astype(np.float64),
            clusters["adc_sum"].astype(np.float64),
            clusters["peak_adc"].astype(np.float64),
            sum_tot / np.maximum(n_hits, 1),
            max_tot,
            n_hits / span,
        ],
        axis=1,
    )


# one plane's raw ADC (rows × ticks): one array, or a stream's consecutive blocks
AdcBuffer = npt.NDArray[np.int16] | Sequence[npt.NDArray[np.int16]]


def build_inputs(*args: Any, **kwargs: Any) -> npt.NDArray[np.float64]:
    """Model inputs only: :func:`inputs_and_window_sums` (same arguments) without the window
    sums."""
    return inputs_and_window_sums(*args, **kwargs)[0]


def inputs_and_window_sums(
    config: RoiConfig,
    adc: AdcBuffer,
    first_tick: int,
    pedestals: npt.NDArray[np.integer],
    first_channel: int,
    clusters: npt.NDArray,
    hits: npt.NDArray,
    hit_cluster: npt.NDArray[np.int64],
    induction: Induction | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Model inputs for ``clusters`` from a buffer of raw ADC and, per cluster, the
    pedestal-subtracted ADC summed over its model window — the shape control: the charge
    the model could see, without its shape (tp_features: the cluster's own ADC sum).

    ``adc`` holds rows ``first_channel …`` of one plane over ticks ``first_tick …``: one
    array, or a list of consecutive blocks (a stream's buffer, gathered from without
    concatenating); windows reaching outside it are zero-padded (as an online buffer edge
    would be).
    ``induction``: the U and V hits of the same time range (for ``tp_features_uvx``).
    """
    ftype = parse_type(config.input_type)
    if config.kind is InputKind.TP_FEATURES:
        raw = cluster_features(clusters, hits, hit_cluster) * FEATURE_SCALES
        return ftype.cast(raw), clusters["adc_sum"].astype(np.float64)
    if config.kind is InputKind.TP_FEATURES_UVX:
        if induction is None:
            raise ValueError("tp_features_uvx inputs need the U and V induction hits")
        raw = np.concatenate(
            [
                cluster_features(clusters, hits, hit_cluster) * FEATURE_SCALES,
                induction_features(clusters, hits, hit_cluster, induction) * INDUCTION_SCALES,
            ],
            axis=1,
        )
        return ftype.cast(raw), clusters["adc_sum"].astype(np.float64)
    window = _windows(
        config, adc, first_tick, pedestals, first_channel, clusters, hits, hit_cluster
    )
    pool = config.time_pool if config.kind is InputKind.ROI2D else 1
    pooled, sums = pool_and_sum(window, pool)
    pooled /= config.adc_scale  # = pooling the scaled window: division is monotone
    # ftype.cast through the numba cast (equal to it: tests/test_emulator_fastcast.py)
    on_grid = ftype.to_float(mantissa_from_double(pooled, ftype, parallel=False))
    if config.kind is InputKind.ROI2D:
        return on_grid[..., None], sums
    return on_grid[:, 0, :, None], sums


@numba.njit(cache=True, nogil=True)
def pool_and_sum(
    window: npt.NDArray[np.float64], pool: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Max over each ``pool`` consecutive ticks of each window row, and each window's sum.
    The samples are whole ADC counts, so the sum is exact in any order (numpy's too)."""
    n, rows, ticks = window.shape
    groups = ticks // pool
    pooled = np.empty((n, rows, groups))
    sums = np.zeros(n)
    for i in range(n):
        total = 0.0
        for r in range(rows):
            row = window[i, r]
            for g in range(groups):
                best = row[g * pool]
                for k in range(g * pool, (g + 1) * pool):
                    best = max(best, row[k])
                    total += row[k]
                pooled[i, r, g] = best
        sums[i] = total
    return pooled, sums


def _windows(
    config: RoiConfig,
    adc: AdcBuffer,
    first_tick: int,
    pedestals: npt.NDArray[np.integer],
    first_channel: int,
    clusters: npt.NDArray,
    hits: npt.NDArray,
    hit_cluster: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """(n, rows, ticks) raw windows minus pedestals, zero outside the buffer."""
    blocks = [adc] if isinstance(adc, np.ndarray) else list(adc)
    starts = clusters["start"] - config.pre_ticks - first_tick
    if config.kind is InputKind.ROI2D:
        centre = (clusters["channel_min"] + clusters["channel_max"]) // 2 - first_channel
        rows = centre[:, None] - config.channels // 2 + np.arange(config.channels)[None, :]
    else:
        peak_row = _peak_channels(clusters.size, hits, hit_cluster) - first_channel
        rows = peak_row[:, None]
    window = np.zeros((clusters.size, rows.shape[1], config.ticks))
    ped = np.asarray(pedestals, dtype=np.float64)
    rows, starts = rows.astype(np.int64), starts.astype(np.int64)
    first_col = 0
    for block in blocks:  # each block fills the part of every window that lies in it
        _gather(block, first_col, rows, starts, ped, window)
        first_col += block.shape[1]
    return window


@numba.njit(cache=True, nogil=True)
def _gather(
    block: np.ndarray,
    first_col: int,
    rows: np.ndarray,
    starts: np.ndarray,
    pedestals: np.ndarray,
    window: np.ndarray,
) -> None:
    """window[i, r, t] = block[rows[i, r], starts[i] + t − first_col] − pedestal for the
    samples that lie in this block (the buffer's columns first_col …); the rest untouched."""
    n_rows, n_cols = block.shape
    n, n_window_rows, ticks = window.shape
    for i in range(n):
        lo = max(starts[i] - first_col, 0)
        hi = min(starts[i] + ticks - first_col, n_cols)
        if hi <= lo:  # this window has no sample in this block
            continue
        offset = first_col - starts[i]
        for r in range(n_window_rows):
            row = rows[i, r]
            if row < 0 or row >= n_rows:
                continue
            source = block[row]
            target = window[i, r]
            ped = pedestals[row]
            for col in range(lo, hi):
                target[col + offset] = np.float64(source[col]) - ped


def _peak_channels(
    n: int, hits: npt.NDArray, hit_cluster: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The channel of each cluster's largest hit (the first of equals)."""
    order = np.lexsort((-np.arange(hits.size), hits["peak_adc"], hit_cluster))
    clusters = hit_cluster[order]
    last = np.flatnonzero(np.append(clusters[1:] != clusters[:-1], True))
    channel = np.zeros(n, dtype=np.int64)
    channel[clusters[last]] = hits["channel"][order][last]
    return channel
