"""One APA's readout as a stream of fixed-length slices with truth alongside.

Per slice: draw the events of its time window, turn their deposits into drifting charge
clusters, render the clusters that arrive in this slice (charge drifts up to ≈2.2 ms, so
clusters wait in a pending list, and pulse tails carry into the next slice), then digitize
pedestal + banked noise + signal in one memory-bound numba pass.  Every random stream is
derived from (scenario seed, APA number), so a slice sequence is reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from triggerml import records
from triggerml.detector import conditions
from triggerml.detector.config import PLANES, DetectorScenario
from triggerml.detector.drift import CLUSTER_DTYPE, deposits_to_clusters, inside
from triggerml.detector.noise import (
    BANK_LENGTH,
    BANK_ROWS,
    COHERENT_ROWS,
    NoiseBanks,
    fill_slice,
    int16_holds,
    noise_reach,
)
from triggerml.detector.response import PRE_TICKS, TEMPLATE_TICKS, sigma_index, templates_for
from triggerml.detector.sources import EventGenerator


@dataclass(frozen=True)
class Slice:
    """``adc``: int16 (channels, ticks); ``truth``: events whose interaction lies in it."""

    index: int
    start_tick: int
    adc: npt.NDArray[np.int16]
    truth: npt.NDArray


class ApaStream:
    """Iterate ``scenario.n_slices`` slices of one APA (or call :meth:`next_slice`)."""

    def __init__(self, scenario: DetectorScenario, apa: int = 0, first_slice: int = 0) -> None:
        """``first_slice`` > 0 starts an independent stretch of the stream there (its own
        random streams, nothing in flight): how studies split one APA into tasks."""
        self.scenario = scenario
        self.apa = apa
        key = [scenario.seed, apa] + ([first_slice] if first_slice else [])
        seeds = np.random.SeedSequence(key).spawn(4)
        self._noise_rng = np.random.default_rng(seeds[0])
        self._physics_rng = np.random.default_rng(seeds[1])
        self._conditions_rng = np.random.default_rng(seeds[2])
        geometry, readout = scenario.geometry, scenario.readout
        n_ch = geometry.n_channels
        self.plane_of_channel = np.empty(n_ch, dtype=np.int64)
        for index, plane in enumerate(PLANES):
            first = geometry.first_channel[plane]
            self.plane_of_channel[first : first + geometry.plane_channels[plane]] = index
        banks = NoiseBanks.build(readout, np.random.default_rng(seeds[3]))
        self._inc_bank, self._coh_bank = banks.stacked()
        self._noise_reach = noise_reach(self._inc_bank, self._coh_bank)
        pedestal = np.array([readout.pedestal(plane) for plane in PLANES])[self.plane_of_channel]
        spread = readout.pedestal_spread_adc_12bit * readout.adc_scale
        pedestal += np.random.default_rng(seeds[3].spawn(1)[0]).normal(0, spread, n_ch)
        self.pedestals = np.clip(np.rint(pedestal), 0, readout.adc_max).astype(np.int32)
        self._gains = conditions.channel_gains(scenario)
        self._group = np.arange(n_ch) // readout.coherent_group
        self._templates = templates_for(readout)
        self._events = EventGenerator(scenario, self._physics_rng)
        self._pending = np.empty(0, dtype=CLUSTER_DTYPE)
        self._injected: list[tuple[int, npt.NDArray[np.float64], str, float]] = []
        self._next_index = first_slice

    @property
    def n_channels(self) -> int:
        return self.scenario.geometry.n_channels

    def __iter__(self) -> Iterator[Slice]:
        while self._next_index < self.scenario.n_slices:
            yield self.next_slice()

    def next_slice(self) -> Slice:
        ticks = self.scenario.slice_ticks
        start = self._next_index * ticks
        end = start + ticks
        truth = self._simulate_events(start, end)
        adc = self._digitize(start, *self._due_clusters(end))
        self._next_index += 1
        return Slice(self._next_index - 1, start, adc, truth)

    def inject(
        self,
        deposits: npt.NDArray[np.float64],
        time_tick: int,
        kind: str = "injected",
        true_energy_mev: float | None = None,
    ) -> None:
        """Add an event with explicit deposits — rows of (x, y, z) in cm and energy in MeV —
        interacting at ``time_tick`` (in a slice not yet produced).  For validation studies:
        a MIP track, a charge at a slice boundary."""
        if time_tick < self._next_index * self.scenario.slice_ticks:
            raise ValueError(f"tick {time_tick} lies in a slice already produced")
        deposits = np.asarray(deposits, dtype=np.float64).reshape(-1, 4)
        energy = float(deposits[:, 3].sum()) if true_energy_mev is None else true_energy_mev
        self._injected.append((int(time_tick), deposits, kind, energy))

    # --- stages ------------------------------------------------------------------------
    def _simulate_events(self, start: int, end: int) -> npt.NDArray:
        first_id = self._events.next_id
        truth, deposits = self._events.window(start, end)
        truth, deposits = self._add_injected(start, end, truth, deposits)
        if truth.size == 0:
            return truth
        deposits = deposits[inside(deposits, self.scenario)]
        local = deposits[:, 4].astype(np.int64) - first_id
        truth["deposited_energy_mev"] = np.bincount(
            local, weights=deposits[:, 3], minlength=truth.size
        )
        clusters = deposits_to_clusters(deposits, truth["time_tick"][local], self.scenario)
        _set_extents(truth, clusters, first_id)
        self._pending = records.concatenate([self._pending, clusters])
        return truth

    def _add_injected(
        self, start: int, end: int, truth: npt.NDArray, deposits: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray, npt.NDArray[np.float64]]:
        now = [item for item in self._injected if start <= item[0] < end]
        if not now:
            return truth, deposits
        self._injected = [item for item in self._injected if not start <= item[0] < end]
        rows = np.zeros(len(now), dtype=truth.dtype)
        blocks = [deposits]
        for row, (tick, points, kind, energy) in zip(rows, now, strict=True):
            event = self._events.next_id
            self._events.next_id += 1
            row["event_id"], row["kind"], row["time_tick"] = event, kind, tick
            row["true_energy_mev"] = energy
            row["x_cm"], row["y_cm"], row["z_cm"] = points[0, :3]
            block = np.zeros((points.shape[0], 6))
            block[:, :4] = points
            block[:, 4] = event
            blocks.append(block)
        return np.concatenate([truth, rows]), np.concatenate(blocks)

    def _due_clusters(self, end: int) -> tuple[npt.NDArray, npt.NDArray[np.int64]]:
        """Clusters whose pulse overlaps this slice, sorted by (channel, t0) (ties in the
        order they were made), and each channel's first in them (``pointer[ch]:pointer[ch+1]``);
        those whose pulse continues past ``end`` stay pending and are rendered again in the
        next slice."""
        first_tick = np.floor(self._pending["t0"]) - PRE_TICKS
        due = records.take(self._pending, first_tick < end)
        self._pending = records.take(self._pending, first_tick + TEMPLATE_TICKS > end)
        order, pointer = _channel_major(
            np.ascontiguousarray(due["channel"]), np.ascontiguousarray(due["t0"]), self.n_channels
        )
        return records.take(due, order), pointer

    def _digitize(
        self, start: int, clusters: npt.NDArray, pointer: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int16]:
        ticks = self.scenario.slice_ticks
        n_ch = self.n_channels
        rng = self._noise_rng
        n_groups = int(self._group[-1]) + 1
        adc = np.empty((n_ch, ticks), dtype=np.int16)
        pedestals = self.pedestals + conditions.pedestal_offset(self.scenario, start)
        fill_slice(
            adc,
            start,
            pedestals,
            self._gains,
            self._inc_bank,
            self.plane_of_channel * BANK_ROWS + rng.integers(0, BANK_ROWS, n_ch),
            rng.integers(0, BANK_LENGTH, n_ch),
            rng.choice(np.array([-1, 1], dtype=np.int32), n_ch),
            self._group,
            self._coh_bank,
            self.plane_of_channel * COHERENT_ROWS,
            rng.integers(0, COHERENT_ROWS, n_groups),
            rng.integers(0, BANK_LENGTH, n_groups),
            pointer,
            clusters["t0"],
            clusters["electrons"],
            sigma_index(clusters["sigma"]),
            clusters["collection"].astype(np.int64),
            self._templates,
            self.scenario.readout.adc_max,
            int16_holds(pedestals, self._noise_reach),
        )
        conditions.apply_after_digitization(
            adc, self.scenario, pedestals, start, self._conditions_rng
        )
        return adc


@numba.njit(cache=True, nogil=True)
def _channel_major(
    channel: npt.NDArray[np.int32], t0: npt.NDArray[np.float64], n_channels: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The order of ``np.lexsort((t0, channel))`` — by channel, then arrival, ties in index
    order — and each channel's first position in it (``pointer[n_channels]`` = the count).

    A counting sort by channel (stable), then a stable sort by t0 inside each channel's
    clusters: an insertion sort for the usual few (a cluster moves only past strictly later
    ones), a merge sort past 32."""
    pointer = np.zeros(n_channels + 1, dtype=np.int64)
    for i in range(channel.size):
        pointer[channel[i] + 1] += 1
    for ch in range(n_channels):
        pointer[ch + 1] += pointer[ch]
    fill = pointer[:-1].copy()
    order = np.empty(channel.size, dtype=np.int64)
    for i in range(channel.size):
        order[fill[channel[i]]] = i
        fill[channel[i]] += 1
    for ch in range(n_channels):
        if pointer[ch + 1] - pointer[ch] > 32:  # a track along a wire: no quadratic sort
            run = order[pointer[ch] : pointer[ch + 1]].copy()
            order[pointer[ch] : pointer[ch + 1]] = run[np.argsort(t0[run], kind="mergesort")]
            continue
        for j in range(pointer[ch] + 1, pointer[ch + 1]):
            item = order[j]
            k = j - 1
            while k >= pointer[ch] and t0[order[k]] > t0[item]:
                order[k + 1] = order[k]
                k -= 1
            order[k + 1] = item
    return order, pointer


def _set_extents(truth: npt.NDArray, clusters: npt.NDArray, first_id: int) -> None:
    """Collection-plane channel and arrival-tick extent of each event (-1: no charge)."""
    extents = _extents(
        np.ascontiguousarray(clusters["event"]),
        np.ascontiguousarray(clusters["collection"]),
        np.ascontiguousarray(clusters["channel"]),
        np.ascontiguousarray(clusters["t0"]),
        first_id,
        truth.size,
    )
    for column, name in enumerate(("channel_min", "channel_max", "tick_min", "tick_max")):
        truth[name] = extents[column]


@numba.njit(cache=True, nogil=True)
def _extents(
    event: npt.NDArray[np.int64],
    collection: npt.NDArray[np.int8],
    channel: npt.NDArray[np.int32],
    t0: npt.NDArray[np.float64],
    first_id: int,
    n_events: int,
) -> npt.NDArray[np.int64]:
    """(channel_min, channel_max, tick_min, tick_max) × event in one pass over the
    collection clusters (floor of the arrival tick); -1 where an event has none."""
    out = np.full((4, n_events), -1, dtype=np.int64)
    for i in range(event.size):
        if collection[i] != 1:
            continue
        e = event[i] - first_id
        tick = np.int64(np.floor(t0[i]))
        if out[1, e] < 0:
            out[0, e] = channel[i]
            out[1, e] = channel[i]
            out[2, e] = tick
            out[3, e] = tick
            continue
        out[0, e] = min(out[0, e], channel[i])
        out[1, e] = max(out[1, e], channel[i])
        out[2, e] = min(out[2, e], tick)
        out[3, e] = max(out[3, e], tick)
    return out
