"""Trigger primitives from ADC blocks: the stateful streaming HitFinder and find_hits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.tpg import fastkernel, kernel
from triggerml.tpg.config import TpgConfig, as_config

HIT_DTYPE = np.dtype(
    [
        ("channel", np.int32),
        ("start", np.int64),  # first sample over threshold (absolute)
        ("tot", np.int32),  # samples over threshold
        ("peak_time", np.int64),  # absolute sample of the first maximum
        ("peak_adc", np.int32),
        ("adc_sum", np.int64),
    ]
)


def _parameters(config: TpgConfig) -> npt.NDArray[np.int64]:
    prm = np.zeros(kernel.N_PARAMS, dtype=np.int64)
    prm[kernel.P_LIMIT] = config.accum_limit
    prm[kernel.P_SHIFT] = config.fir_shift
    prm[kernel.P_FIR] = int(config.uses_fir)
    prm[kernel.P_SIGMA] = int(config.uses_sigma)
    prm[kernel.P_THR] = config.threshold
    prm[kernel.P_MINTHR] = config.min_threshold
    prm[kernel.P_K] = config.sigma_factor
    prm[kernel.P_IQRL] = config.iqr_accum_limit
    prm[kernel.P_SAT] = int(config.saturating_sum)
    prm[kernel.P_ABS] = int(config.absolute_value)
    prm[kernel.P_DELAY] = config.delay
    prm[kernel.P_CNS] = config.coherent_group.bit_length() - 1 if config.coherent_group else -1
    prm[kernel.P_INITPED] = (
        -1 if config.initial_pedestal == "first" else int(config.initial_pedestal)
    )
    return prm


class HitFinder:
    """Streams blocks of one set of channels; hits open at a block's end carry over."""

    def __init__(
        self,
        n_channels: int,
        config: TpgConfig | Mapping[str, Any] | None = None,
        start_sample: int = 0,
        implementation: str = "auto",
    ) -> None:
        """``implementation``: "fast" (vectorized across channels, :mod:`fastkernel`),
        "scalar" (one channel at a time: the reference) or "auto" (fast where it is exact
        for the config, else scalar)."""
        self.config = as_config(config)
        if implementation not in ("auto", "fast", "scalar"):
            raise ValueError(f"implementation must be auto, fast or scalar, not {implementation!r}")
        reason = fastkernel.unsupported(self.config)
        if implementation == "fast" and reason:
            raise ValueError(f"the fast TPG kernel cannot run this config: {reason}; use scalar")
        if implementation == "auto":
            implementation = "scalar" if reason else "fast"
        self.implementation = implementation
        self.n_channels = n_channels
        self.next_sample = start_sample
        self._params = _parameters(self.config)
        self._folded = fastkernel.folds(self.config)
        self._taps = np.array(self.config.fir_taps, dtype=np.int64)
        self._state = np.zeros((n_channels, kernel.N_STATE), dtype=np.int64)
        self._state[:, kernel.S_Q1] = -(self.config.initial_iqr // 2)
        self._state[:, kernel.S_Q3] = self.config.initial_iqr // 2
        self._hist = np.zeros((n_channels, kernel.HISTORY), dtype=np.int64)
        self._capacity = 1024

    @property
    def open_since(self) -> int:
        """First sample of the earliest hit still open (or the next sample): no hit closed
        later can start before it."""
        open_hits = self._state[:, kernel.S_TOT] > 0
        if not open_hits.any():
            return self.next_sample
        return int(self._state[open_hits, kernel.S_START].min())

    @property
    def pedestals(self) -> npt.NDArray[np.int64]:
        return self._state[:, kernel.S_PED].copy()

    def process(self, adc: npt.NDArray[np.integer]) -> npt.NDArray:
        """Hits closed in this block (sorted by channel, start)."""
        adc = self._shape_checked(adc)
        fast = self.implementation == "fast"
        # the fast kernel ORs the samples as it reads them: int16 and uint16 blocks (whose
        # int16 view keeps every out-of-range sample's stray bits) need no pass of their own
        in_kernel = fast and adc.dtype in (np.int16, np.uint16)
        if not in_kernel and adc.size and self._stray_bits(int(np.bitwise_or.reduce(adc, None))):
            raise self._range_error(adc)
        block = np.ascontiguousarray(adc, dtype=np.int16)
        scratch = np.empty(block.shape if self.config.coherent_group else (0, 0), np.int64)
        while True:
            state, hist = self._state.copy(), self._hist.copy()
            out = np.empty((self._capacity, 6), dtype=np.int64)
            arguments = (block, self.next_sample, state, hist, self._taps, self._params)
            if fast:
                count, bits = fastkernel.process_block_rows(
                    *arguments, out, self._capacity, self._folded
                )
                if in_kernel and self._stray_bits(bits):
                    raise self._range_error(adc)  # the state copies are dropped
            else:
                count = kernel.process_block(*arguments, scratch, out, self._capacity)
            if count <= self._capacity:
                break
            self._capacity = 2 * count
        self._state, self._hist = state, hist
        self.next_sample += block.shape[1]
        hits = np.empty(count, dtype=HIT_DTYPE)
        for index, name in enumerate(HIT_DTYPE.names or ()):
            hits[name] = out[:count, index]
        hits["channel"] += self.config.first_channel
        return hits[np.lexsort((hits["start"], hits["channel"]))]

    def _shape_checked(self, adc: npt.NDArray[np.integer]) -> npt.NDArray[np.integer]:
        adc = np.asarray(adc)
        if adc.ndim != 2 or adc.shape[0] != self.n_channels:
            raise ValueError(
                f"ADC block must be ({self.n_channels} channels, ticks), got shape {adc.shape}"
            )
        if not np.issubdtype(adc.dtype, np.integer):
            raise ValueError(f"ADC samples must be integers, got {adc.dtype}")
        return adc

    def _stray_bits(self, ored: int) -> bool:
        """A sample outside 0..top has a bit outside top (negatives the sign bit); the OR
        taken as a Python int, so that ~top (negative) also masks unsigned samples."""
        return bool(ored & ~((1 << self.config.adc_bits) - 1))

    def _range_error(self, adc: npt.NDArray[np.integer]) -> ValueError:
        top = (1 << self.config.adc_bits) - 1
        return ValueError(
            f"ADC samples outside 0..{top} ({self.config.adc_bits}-bit): "
            f"found {adc.min()}..{adc.max()}"
        )


def find_hits(
    adc: npt.NDArray[np.integer], config: TpgConfig | Mapping[str, Any] | None = None
) -> npt.NDArray:
    """Hits of one block (int16 channels × ticks), every row as the config's plane.

    A hit still open at the block's end is not returned (the streaming HitFinder keeps it).
    """
    adc = np.asarray(adc)
    if adc.ndim != 2:
        raise ValueError(f"ADC block must be 2-D (channels, ticks), got shape {adc.shape}")
    return HitFinder(adc.shape[0], config).process(adc)
