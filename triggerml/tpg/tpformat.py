"""Trigger primitives in DUNE-DAQ's trgdataformats TriggerPrimitive layout (version 2).

24 bytes, three little-endian 64-bit words: {version:8, flag:8, detid:8, channel:24,
samples_over_threshold:16}, {time_start:64 in 62.5 MHz ticks}, {samples_to_peak:16,
adc_integral:32, adc_peak:16}.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from triggerml.detector.wibeth import TICKS_PER_SAMPLE
from triggerml.io import atomic_path
from triggerml.tpg.hitfinder import HIT_DTYPE

TP_VERSION = 2
DETID_HD_TPC = 3


def _field(values: npt.NDArray[np.integer], bits: int, name: str) -> npt.NDArray[np.uint64]:
    values = np.asarray(values, dtype=np.int64)
    if values.size and (values.min() < 0 or values.max() >= (1 << bits)):
        raise ValueError(
            f"TP field {name} does not fit {bits} bits: {values.min()}..{values.max()}"
        )
    return values.astype(np.uint64)


def to_trigger_primitives(
    hits: npt.NDArray, timestamp_offset: int = 0, detid: int = DETID_HD_TPC
) -> npt.NDArray[np.uint64]:
    """Hits → (n, 3) uint64 words; samples_over_threshold and adc_integral saturate."""
    tot = np.minimum(hits["tot"], 0xFFFF)
    integral = np.minimum(hits["adc_sum"], 0xFFFFFFFF)
    word0 = (
        np.uint64(TP_VERSION)
        | np.uint64(detid) << np.uint64(16)
        | _field(hits["channel"], 24, "channel") << np.uint64(24)
        | _field(tot, 16, "samples_over_threshold") << np.uint64(48)
    )
    word1 = _field(hits["start"] * TICKS_PER_SAMPLE + timestamp_offset, 64, "time_start")
    word2 = (
        _field(hits["peak_time"] - hits["start"], 16, "samples_to_peak")
        | _field(integral, 32, "adc_integral") << np.uint64(16)
        | _field(hits["peak_adc"], 16, "adc_peak") << np.uint64(48)
    )
    return np.stack([word0, word1, word2], axis=1)


def from_trigger_primitives(
    words: npt.NDArray[np.uint64], timestamp_offset: int = 0
) -> npt.NDArray:
    words = np.asarray(words, dtype=np.uint64).reshape(-1, 3)
    hits = np.zeros(words.shape[0], dtype=HIT_DTYPE)

    def bits(word: npt.NDArray[np.uint64], lo: int, n: int) -> npt.NDArray[np.int64]:
        return ((word >> np.uint64(lo)) & np.uint64((1 << n) - 1)).astype(np.int64)

    hits["channel"] = bits(words[:, 0], 24, 24)
    hits["tot"] = bits(words[:, 0], 48, 16)
    hits["start"] = (words[:, 1].astype(np.int64) - timestamp_offset) // TICKS_PER_SAMPLE
    hits["peak_time"] = hits["start"] + bits(words[:, 2], 0, 16)
    hits["adc_sum"] = bits(words[:, 2], 16, 32)
    hits["peak_adc"] = bits(words[:, 2], 48, 16)
    return hits


def write_tps(path: str | Path, hits: npt.NDArray, timestamp_offset: int = 0) -> Path:
    """A flat binary file of TriggerPrimitive structs (as DUNE-DAQ's TP streams hold)."""
    with atomic_path(path) as tmp:
        to_trigger_primitives(hits, timestamp_offset).astype("<u8").tofile(tmp)
    return Path(path)


def read_tps(path: str | Path, timestamp_offset: int = 0) -> npt.NDArray:
    data = np.fromfile(path, dtype="<u8")
    if data.size % 3:
        raise ValueError(f"{path}: {data.size * 8} bytes is not a whole number of 24-byte TPs")
    return from_trigger_primitives(data, timestamp_offset)
