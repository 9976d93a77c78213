"""WIBEth frames as fddetdataformats defines them: 64 channels × 64 samples of 14 bits.

A frame is 7200 bytes: a 16-byte DAQEthHeader (version:6, det_id:6, crate_id:10, slot_id:4,
stream_id:8, reserved:6, seq_id:12, block_length:12 in one little-endian 64-bit word, then
a 64-bit timestamp in 62.5 MHz ticks), a 16-byte WIBEth header (cold-data timestamps, link
and sync flags, version, channel; then an extra 64-bit word), and 64 time samples of 14
64-bit words each, the 64 channels' 14-bit ADCs packed back to back from bit 0.

Our channel map is simple and stated: APA channel ``64 k + i`` is channel ``i`` of stream
``k``; stream ``k`` sits in crate = APA, slot = k // 8, stream_id = k % 8 (a WIB carries 8
half-FEMB streams).  Real DUNE files carry their own map (detchannelmaps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FRAME_BYTES = 7200
SAMPLES_PER_FRAME = 64
CHANNELS_PER_FRAME = 64
BITS_PER_ADC = 14
WORDS_PER_SAMPLE = CHANNELS_PER_FRAME * BITS_PER_ADC // 64  # 14
HEADER_WORDS = 4  # DAQEthHeader (2) + WIBEthHeader (2)
TICKS_PER_SAMPLE = 32  # 62.5 MHz timing clock ticks per 1.953 MHz sample
DET_ID_HD_TPC = 3
STREAMS_PER_SLOT = 8

_SHIFT = (BITS_PER_ADC * np.arange(CHANNELS_PER_FRAME)) % 64
_WORD = (BITS_PER_ADC * np.arange(CHANNELS_PER_FRAME)) // 64
_SPILL = _SHIFT + BITS_PER_ADC > 64
_MASK = np.uint64((1 << BITS_PER_ADC) - 1)


@dataclass(frozen=True)
class StreamAddress:
    crate: int
    slot: int
    stream: int

    @classmethod
    def of(cls, apa: int, k: int) -> StreamAddress:
        return cls(apa, k // STREAMS_PER_SLOT, k % STREAMS_PER_SLOT)


def pack_adc(adc: npt.NDArray[np.integer]) -> npt.NDArray[np.uint64]:
    """(..., 64 samples, 64 channels) 14-bit ADCs → (..., 64, 14) packed words."""
    values = adc.astype(np.uint64) & _MASK
    words = np.zeros((*adc.shape[:-1], WORDS_PER_SAMPLE), dtype=np.uint64)
    for i in range(CHANNELS_PER_FRAME):
        shift = np.uint64(_SHIFT[i])
        words[..., _WORD[i]] |= values[..., i] << shift
        if _SPILL[i]:
            words[..., _WORD[i] + 1] |= values[..., i] >> np.uint64(64 - _SHIFT[i])
    return words


def unpack_adc(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint16]:
    """(..., 64, 14) packed words → (..., 64 samples, 64 channels) ADCs."""
    out = np.empty((*words.shape[:-1], CHANNELS_PER_FRAME), dtype=np.uint16)
    for i in range(CHANNELS_PER_FRAME):
        shift = np.uint64(_SHIFT[i])
        value = words[..., _WORD[i]] >> shift
        if _SPILL[i]:
            value |= words[..., _WORD[i] + 1] << np.uint64(64 - _SHIFT[i])
        out[..., i] = value & _MASK
    return out


def daq_header_word(
    address: StreamAddress, seq_id: npt.NDArray[np.integer], version: int = 0
) -> npt.NDArray[np.uint64]:
    block_length = FRAME_BYTES // 8
    word = (
        np.uint64(version & 0x3F)
        | np.uint64(DET_ID_HD_TPC) << np.uint64(6)
        | np.uint64(address.crate & 0x3FF) << np.uint64(12)
        | np.uint64(address.slot & 0xF) << np.uint64(22)
        | np.uint64(address.stream & 0xFF) << np.uint64(26)
    )
    seq = np.asarray(seq_id, dtype=np.uint64) & np.uint64(0xFFF)
    return word | seq << np.uint64(40) | np.uint64(block_length & 0xFFF) << np.uint64(52)


def decode_daq_header(word: npt.NDArray[np.uint64]) -> dict[str, npt.NDArray[np.int64]]:
    def field(lo: int, bits: int) -> npt.NDArray[np.int64]:
        return ((word >> np.uint64(lo)) & np.uint64((1 << bits) - 1)).astype(np.int64)

    return {
        "version": field(0, 6),
        "det_id": field(6, 6),
        "crate": field(12, 10),
        "slot": field(22, 4),
        "stream": field(26, 8),
        "seq_id": field(40, 12),
        "block_length": field(52, 12),
    }


def encode_frames(
    adc: npt.NDArray[np.int16], address: StreamAddress, first_sample: int, first_frame: int
) -> npt.NDArray[np.uint8]:
    """One stream's 64 channels × T samples (T a multiple of 64) → T/64 frames of bytes."""
    n_frames = adc.shape[1] // SAMPLES_PER_FRAME
    frames = np.zeros((n_frames, FRAME_BYTES // 8), dtype=np.uint64)
    index = np.arange(n_frames)
    timestamps = (first_sample + index * SAMPLES_PER_FRAME) * TICKS_PER_SAMPLE
    frames[:, 0] = daq_header_word(address, first_frame + index)
    frames[:, 1] = timestamps.astype(np.uint64)
    cold = (timestamps & 0x7FFF).astype(np.uint64)
    frames[:, 2] = (
        cold
        | cold << np.uint64(16)
        | np.uint64(2) << np.uint64(48)
        | np.uint64(address.stream & 0xFF) << np.uint64(52)
    )
    samples = adc.T.reshape(n_frames, SAMPLES_PER_FRAME, CHANNELS_PER_FRAME)
    frames[:, HEADER_WORDS:] = pack_adc(samples).reshape(n_frames, -1)
    return frames.view(np.uint8).reshape(-1)


def decode_frames(
    payload: npt.NDArray[np.uint8],
) -> tuple[dict[str, npt.NDArray[np.int64]], npt.NDArray[np.int64], npt.NDArray[np.uint16]]:
    """Bytes of whole frames → (header fields, timestamps, ADC (64 channels, samples))."""
    words = np.ascontiguousarray(payload).view(np.uint64).reshape(-1, FRAME_BYTES // 8)
    header = decode_daq_header(words[:, 0])
    timestamps = words[:, 1].astype(np.int64)
    adc = unpack_adc(words[:, HEADER_WORDS:].reshape(-1, SAMPLES_PER_FRAME, WORDS_PER_SAMPLE))
    return header, timestamps, adc.reshape(-1, CHANNELS_PER_FRAME).T
