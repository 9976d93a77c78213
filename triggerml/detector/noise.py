"""Noise from pre-computed banks, so that streaming is memory-bound, not RNG-bound.

Each plane has a bank of periodic noise rows (made once by shaping Gaussian noise in the
frequency domain: white + a 1/f-like part), stored as int16 (int8 for the kernel when the
values fit).  A slice takes, per channel, a
random row, offset and sign, and copies with wrap-around (the rows are periodic, so the wrap
is seamless).  A coherent part, shared by the channels of a group (64 channels: one WIBEth
stream), comes from a second bank the same way.  Rows are scaled so that the *digitized*
noise (after rounding to integer ADC counts) has exactly the configured rms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from triggerml.detector import libm
from triggerml.detector.config import PLANES, Readout
from triggerml.detector.response import PRE_TICKS

BANK_LENGTH = 1 << 16  # 33.5 ms of samples per row
BANK_ROWS = 32
COHERENT_ROWS = 8
QUANTIZATION_VARIANCE = 1.0 / 12.0  # variance added by rounding to integer ADC counts
INT16_MAX = (1 << 15) - 1


def noise_shape(freqs_hz: npt.NDArray[np.float64], readout: Readout) -> npt.NDArray[np.float64]:
    """Relative one-sided PSD shape (integrates to 1 over 0..Nyquist): white + 1/f-like."""
    nyquist = readout.sampling_hz / 2
    corner = readout.pink_corner_khz * 1e3
    white = np.full_like(freqs_hz, 1.0 / nyquist)
    pink_raw = 1.0 / (corner + freqs_hz)
    pink_norm = libm.log((corner + nyquist) / corner)
    pink = pink_raw / pink_norm
    return (1.0 - readout.pink_fraction) * white + readout.pink_fraction * pink


def expected_psd(
    freqs_hz: npt.NDArray[np.float64], readout: Readout, plane: str
) -> npt.NDArray[np.float64]:
    """One-sided PSD (ADC²/Hz) of the digitized noise of one channel, rounding included."""
    rms = readout.noise_rms(plane)
    analog = rms**2 - _rounding_terms(readout) * QUANTIZATION_VARIANCE
    nyquist = readout.sampling_hz / 2
    return analog * noise_shape(freqs_hz, readout) + _rounding_terms(readout) * (
        QUANTIZATION_VARIANCE / nyquist
    )


def _rounding_terms(readout: Readout) -> int:
    return 2 if readout.coherent_fraction > 0 else 1


def make_bank(
    rms_analog: float,
    readout: Readout,
    rng: np.random.Generator,
    rows: int = BANK_ROWS,
    length: int = BANK_LENGTH,
) -> npt.NDArray[np.int16]:
    """Periodic noise rows with the configured spectrum and analog rms, rounded to int16."""
    return _rounded(unit_series(readout, rng, rows, length), rms_analog)


def unit_series(
    readout: Readout, rng: np.random.Generator, rows: int = BANK_ROWS, length: int = BANK_LENGTH
) -> npt.NDArray[np.float64]:
    """Periodic rows of the configured spectrum, each scaled to unit rms: Gaussian real and
    imaginary parts (all real draws, then all imaginary) shaped in frequency, inverse FFT.

    The spectrum is written part by part into one complex array (no ``a + 1j * b`` and
    complex-by-real temporaries: a third of a bank's time, the same products)."""
    freqs = np.fft.rfftfreq(length, d=1.0 / readout.sampling_hz)
    amplitude = np.sqrt(noise_shape(freqs, readout))
    amplitude[0] = 0.0  # no DC: the pedestal carries it
    draws = rng.standard_normal((2, rows, freqs.size))  # the stream of two (rows, f) calls
    spectrum = np.empty((rows, freqs.size), dtype=np.complex128)
    np.multiply(draws[0], amplitude, out=spectrum.real)
    np.multiply(draws[1], amplitude, out=spectrum.imag)
    series = np.fft.irfft(spectrum, n=length, axis=1)
    series /= series.std(axis=1, keepdims=True)
    return series


def _rounded(series: npt.NDArray[np.float64], rms: float) -> npt.NDArray[np.int16]:
    scaled = series * rms
    np.rint(scaled, out=scaled)
    return scaled.astype(np.int16)


@dataclass
class NoiseBanks:
    """Per-plane incoherent banks and one coherent bank per plane."""

    incoherent: dict[str, npt.NDArray[np.int16]]
    coherent: dict[str, npt.NDArray[np.int16]]

    @classmethod
    def build(cls, readout: Readout, rng: np.random.Generator) -> NoiseBanks:
        incoherent, coherent = {}, {}
        coherent_seed = int(rng.integers(2**63))
        # The same draws for every plane: a group spanning planes shares one waveform, so
        # its unit rows are made once and scaled per plane.
        shared = unit_series(readout, np.random.default_rng(coherent_seed), COHERENT_ROWS)
        for plane in PLANES:
            total = readout.noise_rms(plane) ** 2
            frac = readout.coherent_fraction
            inc_var = max((1 - frac) * total - QUANTIZATION_VARIANCE, 0.0)
            incoherent[plane] = make_bank(np.sqrt(inc_var), readout, rng)
            coh_var = max(frac * total - QUANTIZATION_VARIANCE, 0.0) if frac > 0 else 0.0
            coherent[plane] = _rounded(shared, np.sqrt(coh_var))
        return cls(incoherent, coherent)

    def stacked(self) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.integer]]:
        """All planes' banks stacked (plane-major), for the numba kernel; each in int8 when
        its values fit (half the bytes the noise pass reads: ≈15 % faster, the same
        numbers), else int16."""
        inc = np.concatenate([self.incoherent[p] for p in PLANES])
        coh = np.concatenate([self.coherent[p] for p in PLANES])
        return narrowest(inc), narrowest(coh)


def narrowest(bank: npt.NDArray[np.int16]) -> npt.NDArray[np.integer]:
    """``bank`` as int8 when every value fits it, else unchanged."""
    info = np.iinfo(np.int8)
    if bank.size and (int(bank.max()) > info.max or int(bank.min()) < info.min):
        return bank
    return bank.astype(np.int8)


@numba.njit(cache=True, nogil=True, inline="always")
def _noise_at(
    row: np.ndarray,
    off: int,
    crow: np.ndarray,
    coff: int,
    length: int,
    t: int,
    sign: int,
    gain: float,
) -> int:
    """Incoherent (scaled by gain) + coherent noise at tick t, wrapping around the rows."""
    i = off + t
    if i >= length:
        i -= length
    j = coff + t
    if j >= length:
        j -= length
    noise = sign * np.int32(row[np.uint64(i)])
    if gain != 1.0:
        noise = np.int32(np.rint(noise * gain))
    return noise + np.int32(crow[np.uint64(j)])


def noise_reach(inc_bank: npt.NDArray[np.integer], coh_bank: npt.NDArray[np.integer]) -> int:
    """The largest |noise| a sample can get from the banks (incoherent plus coherent)."""
    # the extremes as Python ints (no int64 copy of the banks: 0.1 s a stream, per task)
    return sum(max(-int(bank.min()), int(bank.max()), 0) for bank in (inc_bank, coh_bank))


def int16_holds(pedestals: npt.NDArray[np.integer], reach: int) -> bool:
    """Whether pedestal ± noise stays in int16 for every channel: ``fill_slice``'s
    ``narrow`` (its int16 noise pass then writes the samples the int32 one does)."""
    return int(pedestals.max()) + reach <= INT16_MAX and int(pedestals.min()) - reach >= -INT16_MAX


@numba.njit(cache=True, nogil=True, inline="always")
def _noise_segment(
    out: np.ndarray,
    row: np.ndarray,
    crow: np.ndarray,
    lo: int,
    hi: int,
    row_shift: int,
    crow_shift: int,
    ped: np.int32,
    sign: np.int32,
    top: np.int32,
    narrow: bool,
) -> None:
    """out[t] = clip(ped + sign·row[t + row_shift] + crow[t + crow_shift], 0, top) for t in
    [lo, hi), the indices in range (unsigned: no wrap-around checks)."""
    if narrow:  # every intermediate fits int16: numba's int64 arithmetic narrowed by hand
        ped16 = np.int16(ped)
        sign16 = np.int16(sign)
        zero16 = np.int16(0)
        top16 = np.int16(top)
        for t in range(lo, hi):
            noise = np.int16(sign16 * row[np.uint64(t + row_shift)])
            v = np.int16(ped16 + noise + crow[np.uint64(t + crow_shift)])
            out[np.uint64(t)] = min(max(v, zero16), top16)
        return
    zero = np.int32(0)
    for t in range(lo, hi):
        v = ped + sign * np.int32(row[np.uint64(t + row_shift)])
        v += np.int32(crow[np.uint64(t + crow_shift)])
        out[np.uint64(t)] = np.int16(min(max(np.int32(v), zero), top))


@numba.njit(cache=True, nogil=True)
def fill_slice(
    out: np.ndarray,
    start: int,
    pedestal: np.ndarray,
    gain: np.ndarray,
    inc_bank: np.ndarray,
    inc_row: np.ndarray,
    inc_offset: np.ndarray,
    inc_sign: np.ndarray,
    group: np.ndarray,
    coh_bank: np.ndarray,
    coh_base: np.ndarray,
    coh_row: np.ndarray,
    coh_offset: np.ndarray,
    cluster_ptr: np.ndarray,
    cluster_t0: np.ndarray,
    cluster_q: np.ndarray,
    cluster_sigma: np.ndarray,
    cluster_kind: np.ndarray,
    templates: np.ndarray,
    adc_max: int,
    narrow: bool = False,
) -> None:
    """out[ch, t] = clip(pedestal + noise + coherent + rint(signal), 0, adc_max), int16.

    ``narrow``: pedestal + |incoherent| + |coherent| never leaves int16 (the caller checks
    it), so the noise pass may add in int16 — twice the lanes of int32, the same numbers.

    A first pass writes pedestal + noise for every sample in straight, vectorizable segments
    (unsigned indices: no wrap-around checks).  A second pass, only over the ticks a
    channel's clusters reach, renders them through the response templates in float32, rounds
    once per sample, and rewrites those samples from the unclipped sum: added to the sample
    already written when no sample of the run was clipped (it holds pedestal + noise
    exactly), else from the noise recomputed.  The slice must not be longer than a noise row
    (``DetectorScenario.validate`` checks it): a row wraps once at most.
    """
    n_ch, n_t = out.shape
    length = inc_bank.shape[1]
    n_tpl = templates.shape[3]
    n_phase = templates.shape[2]
    sig = np.zeros(n_t, dtype=np.float32)
    # clip bounds as int32: compared with int64 ones, the loops widen to int64 and vectorize
    # at half the lanes (measured: the noise pass 18 % slower)
    zero = np.int32(0)
    top = np.int32(adc_max)
    for ch in range(n_ch):
        row = inc_bank[inc_row[ch]]
        off = inc_offset[ch]
        sign = np.int32(inc_sign[ch])
        ped = np.int32(pedestal[ch])
        g = group[ch]
        crow = coh_bank[coh_base[ch] + coh_row[g]]
        coff = coh_offset[g]
        o = out[ch]
        if gain[ch] == 1.0:
            b1 = min(n_t, length - off)
            b2 = min(n_t, length - coff)
            lo_b = min(b1, b2)
            hi_b = max(b1, b2)
            wrapped_i = off - length  # row index t + wrapped_i once the row has wrapped
            wrapped_j = coff - length
            _noise_segment(o, row, crow, 0, lo_b, off, coff, ped, sign, top, narrow)
            # between the two wrap points exactly one of the rows has wrapped
            if b1 <= b2:
                _noise_segment(o, row, crow, lo_b, hi_b, wrapped_i, coff, ped, sign, top, narrow)
            else:
                _noise_segment(o, row, crow, lo_b, hi_b, off, wrapped_j, ped, sign, top, narrow)
            _noise_segment(o, row, crow, hi_b, n_t, wrapped_i, wrapped_j, ped, sign, top, narrow)
        else:
            for t in range(n_t):
                v = ped + _noise_at(row, off, crow, coff, length, t, sign, gain[ch])
                o[t] = np.int16(min(max(np.int32(v), zero), top))
        # clusters are sorted by (channel, t0): render each run of overlapping pulses
        c = cluster_ptr[ch]
        hi_c = cluster_ptr[ch + 1]
        while c < hi_c:
            run_start = c
            run_lo = max(np.int64(np.floor(cluster_t0[c])) - PRE_TICKS - start, 0)
            run_hi = min(np.int64(np.floor(cluster_t0[c])) - PRE_TICKS - start + n_tpl, n_t)
            c += 1
            while c < hi_c:
                base = np.int64(np.floor(cluster_t0[c])) - PRE_TICKS - start
                if base >= run_hi:
                    break
                run_hi = max(run_hi, min(base + n_tpl, n_t))
                c += 1
            if run_hi <= run_lo:
                continue
            for t in range(run_lo, run_hi):
                sig[np.uint64(t)] = 0.0
            for k_c in range(run_start, c):
                base_tick = np.int64(np.floor(cluster_t0[k_c]))
                phase = min(np.int64((cluster_t0[k_c] - base_tick) * n_phase), n_phase - 1)
                tpl = templates[cluster_kind[k_c], cluster_sigma[k_c], phase]
                base = base_tick - PRE_TICKS - start
                q = cluster_q[k_c]
                for k in range(max(0, -base), min(n_tpl, n_t - base)):
                    sig[np.uint64(base + k)] += q * tpl[np.uint64(k)]
            # a sample the noise pass left unclipped holds pedestal + noise exactly: add the
            # signal to it (one vector pass) unless some sample of the run was clipped
            clipped = False
            for t in range(run_lo, run_hi):
                clipped |= (o[np.uint64(t)] <= 0) | (o[np.uint64(t)] >= top)
            if not clipped:
                for t in range(run_lo, run_hi):
                    v = np.int32(o[np.uint64(t)]) + np.int32(np.rint(sig[np.uint64(t)]))
                    o[np.uint64(t)] = np.int16(min(max(v, zero), top))
                continue
            for t in range(run_lo, run_hi):
                v = ped + _noise_at(row, off, crow, coff, length, t, sign, gain[ch])
                v += np.int32(np.rint(sig[t]))
                o[t] = np.int16(min(max(np.int32(v), zero), top))
