"""The fast TPG kernel (numba): channels side by side, ticks in tiles, hits only where needed.

The same arithmetic as :func:`triggerml.tpg.kernel.process_block` (the scalar reference, the
specification the tests compare with exactly), reorganised so that LLVM vectorizes it across
channels:

- a group of GROUP channels is processed together, TILE ticks at a time; each tile of the
  (channels, ticks) block is transposed in 8 × 8 blocks of vector shuffles
  (:mod:`triggerml.tpg.shuffle`) so that a tick's samples of the whole group are contiguous;
- the three recursive stages (frugal pedestal, FIR, quartile threshold) are branch-free loops
  across the group's channels, which LLVM vectorizes; seven symmetric taps (the default FIR)
  take one pass of four products on pair sums, other FIRs four taps a pass;
- the thresholded values of a tile are kept, with an OR per channel, and the hit state machine
  (sequential and rare: ≈0.1 % of samples pass the threshold) runs only on the channels
  that have a sample over threshold in the tile or a hit open.

Narrow integers where they are exact — the lanes a vector holds are what the speed is: the
pedestal, the quartiles and the thresholds in int16, the FIR sums in int32, the hit sums and
absolute times in int64.
:func:`unsupported` names the configurations where that would not be exact (and the
coherent-noise subtraction, which only the scalar kernel has); they take the scalar kernel.
"""

from __future__ import annotations

import numba
import numpy as np

from triggerml.tpg.config import TpgConfig
from triggerml.tpg.kernel import (
    HISTORY,
    P_ABS,
    P_DELAY,
    P_FIR,
    P_INITPED,
    P_IQRL,
    P_K,
    P_LIMIT,
    P_MINTHR,
    P_SAT,
    P_SHIFT,
    P_SIGMA,
    P_THR,
    S_ACC,
    S_INIT,
    S_PEAK,
    S_PEAKT,
    S_PED,
    S_Q1,
    S_Q1A,
    S_Q3,
    S_Q3A,
    S_START,
    S_SUM,
    S_TOT,
    SATURATION,
)
from triggerml.tpg.shuffle import transpose8x8

GROUP = 128  # channels side by side: a tick's state rows stay in L1
TILE = 32  # ticks per transposed tile
BLOCK = 8  # the transpose's register block
INT16_MAX = (1 << 15) - 1
INT32_MAX = (1 << 31) - 1


def unsupported(config: TpgConfig) -> str | None:
    """Why this kernel would not equal the scalar one for ``config`` (None: it does)."""
    if config.coherent_group:
        return "coherent-noise subtraction is only in the scalar kernel"
    if config.accum_limit >= INT16_MAX:  # the int16 pedestal accumulator reaches limit + 1
        return f"accum_limit {config.accum_limit} does not fit the int16 pedestal stage"
    initial = config.initial_pedestal
    if not isinstance(initial, str) and not 0 <= initial < 1 << config.adc_bits:
        return f"initial_pedestal {initial} is outside the ADC range"
    gain = sum(abs(tap) for tap in config.fir_taps) if config.uses_fir else 1
    if gain << 15 > INT32_MAX:  # |s| < 2^15: the FIR sum must fit int32
        return f"FIR taps with gain {gain} overflow int32"
    # |s| ≤ 2^bits − 1 and f = floor(Σ taps·s / 2^shift): |f| ≤ ceil(gain·max|s| / 2^shift);
    # the threshold stage holds f, the quartiles and their accumulators in int16
    shift = config.fir_shift if config.uses_fir else 0
    reach = -((-gain * ((1 << config.adc_bits) - 1)) >> shift)
    if reach > INT16_MAX:
        return f"the filtered samples (up to ±{reach}) do not fit the int16 threshold stage"
    if config.initial_iqr // 2 + 1 > INT16_MAX or config.iqr_accum_limit + 3 > INT16_MAX:
        return "initial_iqr or iqr_accum_limit does not fit the int16 threshold stage"
    if (2 * INT16_MAX) * config.sigma_factor > INT32_MAX:
        return "the quartile threshold would overflow int32"
    return None


@numba.njit(cache=True, nogil=True, inline="always")
def _transpose_tile(
    adc: np.ndarray, c0: int, width: int, t0: int, ticks: int, tile: np.ndarray
) -> None:
    """tile[j, c] = adc[c0 + c, t0 + j]: 8 × 8 blocks where they fit, single samples else."""
    full_c = width - width % BLOCK
    full_t = ticks - ticks % BLOCK
    for cb in range(0, full_c, BLOCK):
        for tb in range(0, full_t, BLOCK):
            transpose8x8(adc, c0 + cb, t0 + tb, tile, tb, cb)  # type: ignore[call-arg]
    for c in range(width):
        first_t = full_t if c < full_c else 0
        for j in range(first_t, ticks):
            tile[j, c] = adc[c0 + c, t0 + j]


@numba.njit(cache=True, nogil=True)
def process_block_rows(
    adc: np.ndarray,
    block_start: int,
    st: np.ndarray,
    hist: np.ndarray,
    taps: np.ndarray,
    prm: np.ndarray,
    out: np.ndarray,
    capacity: int,
) -> int:
    """Same contract as :func:`triggerml.tpg.kernel.process_block` (no coherent-noise
    subtraction); hits come out grouped by channel group, unsorted."""
    if adc.strides[1] != 2:
        raise ValueError("the fast TPG kernel needs int16 rows with contiguous samples")
    n_ch, n_t = adc.shape
    limit = np.int32(prm[P_LIMIT])
    shift = np.int32(prm[P_SHIFT])
    use_fir = prm[P_FIR] != 0
    use_sigma = prm[P_SIGMA] != 0
    thr_abs = np.int32(prm[P_THR])
    min_thr = np.int32(prm[P_MINTHR])
    k_sigma = np.int32(prm[P_K])
    iqr_limit = np.int32(prm[P_IQRL])
    saturate = prm[P_SAT] != 0
    absolute = prm[P_ABS] != 0
    delay = prm[P_DELAY]
    init_ped = prm[P_INITPED]
    n_taps = taps.shape[0]
    n_hist = n_taps - 1
    taps32 = np.zeros(HISTORY, np.int32)  # zero-padded: the FIR takes four taps a pass
    taps32[:n_taps] = taps
    ring = HISTORY - 1
    # seven symmetric taps (the default FIR): one pass of four products on pair sums, the
    # same int32 sum (two's complement: exact whenever the sum fits, as unsupported() checks)
    symmetric7 = (
        use_fir and n_taps == 7 and taps[0] == taps[6] and taps[1] == taps[5] and taps[2] == taps[4]
    )
    w0s, w1s, w2s, w3s = taps32[0], taps32[1], taps32[2], taps32[3]
    ped = np.empty(GROUP, np.int16)
    acc = np.empty(GROUP, np.int16)
    # every lane operation stays int16 (negated limits precomputed, no scalar reductions
    # in the loops): numba widens int16 arithmetic to int64, which LLVM narrows back only
    # when nothing else in the loop is wide — else it vectorizes 8 lanes instead of 16–32
    limit16 = np.int16(limit)
    neg_limit16 = np.int16(-limit)
    one16 = np.int16(1)
    zero16 = np.int16(0)
    q1 = np.empty(GROUP, np.int16)  # the quartiles of f and their accumulators
    q1a = np.empty(GROUP, np.int16)
    q3 = np.empty(GROUP, np.int16)
    q3a = np.empty(GROUP, np.int16)
    # each lane's threshold, recomputed only when a quartile moves (rarely: ≈ once per
    # iqr_accum_limit² / 3 samples); clamped to int16, exact since f ≤ INT16_MAX
    thr = np.empty(GROUP, np.int16)
    f = np.empty(GROUP, np.int32)
    f16 = np.empty(GROUP, np.int16)
    seen = np.zeros(GROUP, np.int16)  # OR of the tile's thresholded values, per channel
    sbuf = np.zeros((HISTORY, GROUP), np.int16)  # ring of pedestal-subtracted samples
    tile = np.empty((TILE, GROUP), np.int16)
    passed = np.empty((TILE, GROUP), np.int16)  # thresholded values (0: below)
    three16 = np.int16(3)
    iqr16 = np.int16(iqr_limit)
    neg_iqr16 = np.int16(-iqr_limit)
    moved = np.zeros(GROUP, np.int16)  # lanes whose quartiles moved this tick
    thr_abs16 = np.int16(min(int(thr_abs), INT16_MAX))
    count = 0
    for c0 in range(0, n_ch, GROUP):
        width = min(GROUP, n_ch - c0)
        for c in range(width):
            ch = c0 + c
            if st[ch, S_INIT] == 0:
                st[ch, S_PED] = adc[ch, 0] if init_ped < 0 else init_ped
                st[ch, S_INIT] = 1
            ped[c] = st[ch, S_PED]
            acc[c] = st[ch, S_ACC]
            q1[c] = st[ch, S_Q1]
            q1a[c] = st[ch, S_Q1A]
            q3[c] = st[ch, S_Q3]
            q3a[c] = st[ch, S_Q3A]
            for k in range(n_hist):  # ring row (n_hist-1-k) holds s[n-1-k]
                sbuf[(n_hist - 1 - k) & ring, c] = hist[ch, k]
        _thresholds(q1, q3, thr, width, k_sigma, min_thr)
        for t0 in range(0, n_t, TILE):
            ticks = min(TILE, n_t - t0)
            _transpose_tile(adc, c0, width, t0, ticks, tile)
            for j in range(ticks):
                t = t0 + j
                xrow = tile[j]
                srow = sbuf[(n_hist + t) & ring]
                for c in range(width):  # frugal pedestal
                    x = xrow[c]
                    p_ = ped[c]
                    a = np.int16(
                        acc[c] + (one16 if x > p_ else zero16) - (one16 if x < p_ else zero16)
                    )
                    up = a > limit16
                    down = a < neg_limit16
                    p_ = np.int16(p_ + (one16 if up else zero16) - (one16 if down else zero16))
                    acc[c] = zero16 if (up or down) else a
                    ped[c] = p_
                    srow[c] = np.int16(x - p_)
                if symmetric7:  # w0·(s0+s6) + w1·(s1+s5) + w2·(s2+s4) + w3·s3 in one pass
                    r0 = sbuf[(n_hist + t) & ring]
                    r1 = sbuf[(n_hist + t - 1) & ring]
                    r2 = sbuf[(n_hist + t - 2) & ring]
                    r3 = sbuf[(n_hist + t - 3) & ring]
                    r4 = sbuf[(n_hist + t - 4) & ring]
                    r5 = sbuf[(n_hist + t - 5) & ring]
                    r6 = sbuf[(n_hist + t - 6) & ring]
                    for c in range(width):
                        f[c] = (
                            w0s * (np.int32(r0[c]) + np.int32(r6[c]))
                            + w1s * (np.int32(r1[c]) + np.int32(r5[c]))
                            + w2s * (np.int32(r2[c]) + np.int32(r4[c]))
                            + w3s * np.int32(r3[c])
                        )
                elif use_fir:  # four taps per pass over the lanes (zero-padded to 16)
                    for k0 in range(0, n_taps, 4):
                        r0 = sbuf[(n_hist + t - k0) & ring]
                        r1 = sbuf[(n_hist + t - k0 - 1) & ring]
                        r2 = sbuf[(n_hist + t - k0 - 2) & ring]
                        r3 = sbuf[(n_hist + t - k0 - 3) & ring]
                        w0 = taps32[k0]
                        w1 = taps32[k0 + 1]
                        w2 = taps32[k0 + 2]
                        w3 = taps32[k0 + 3]
                        if k0 == 0:
                            for c in range(width):
                                f[c] = (
                                    w0 * np.int32(r0[c])
                                    + w1 * np.int32(r1[c])
                                    + w2 * np.int32(r2[c])
                                    + w3 * np.int32(r3[c])
                                )
                        else:
                            for c in range(width):
                                f[c] += (
                                    w0 * np.int32(r0[c])
                                    + w1 * np.int32(r1[c])
                                    + w2 * np.int32(r2[c])
                                    + w3 * np.int32(r3[c])
                                )
                if use_fir:  # f >> shift, then int16 (it fits: unsupported() checks)
                    np.right_shift(f, shift, f)
                    for c in range(width):
                        f16[c] = np.int16(f[c])
                else:
                    for c in range(width):
                        f16[c] = srow[c]
                if absolute:
                    for c in range(width):
                        f16[c] = np.int16(abs(f16[c]))
                prow = passed[j]
                if use_sigma:
                    for c in range(width):
                        fc = f16[c]
                        lo = q1[c]
                        hi = q3[c]
                        pv = fc if fc > thr[c] else zero16
                        prow[c] = pv
                        seen[c] |= pv
                        b1 = np.int16(
                            q1a[c]
                            + (one16 if fc > lo else zero16)
                            - (three16 if fc < lo else zero16)
                        )
                        u1 = b1 > iqr16
                        d1 = b1 < neg_iqr16
                        q1[c] = np.int16(lo + (one16 if u1 else zero16) - (one16 if d1 else zero16))
                        q1a[c] = zero16 if (u1 or d1) else b1
                        b3 = np.int16(
                            q3a[c]
                            + (three16 if fc > hi else zero16)
                            - (one16 if fc < hi else zero16)
                        )
                        u3 = b3 > iqr16
                        d3 = b3 < neg_iqr16
                        q3[c] = np.int16(hi + (one16 if u3 else zero16) - (one16 if d3 else zero16))
                        q3a[c] = zero16 if (u3 or d3) else b3
                        moved[c] = one16 if (u1 or d1 or u3 or d3) else zero16
                    any_moved = zero16
                    for c in range(width):
                        any_moved = max(any_moved, moved[c])
                    if any_moved:
                        _thresholds(q1, q3, thr, width, k_sigma, min_thr)
                else:
                    for c in range(width):
                        fc = f16[c]
                        pv = fc if fc > thr_abs16 else zero16
                        prow[c] = pv
                        seen[c] |= pv
            count = _hits_of_tile(
                passed, seen, ticks, c0, width, block_start + t0 - delay, saturate, st, out,
                capacity, count,
            )  # fmt: skip
        for c in range(width):
            ch = c0 + c
            st[ch, S_PED] = ped[c]
            st[ch, S_ACC] = acc[c]
            st[ch, S_Q1] = q1[c]
            st[ch, S_Q1A] = q1a[c]
            st[ch, S_Q3] = q3[c]
            st[ch, S_Q3A] = q3a[c]
            for k in range(n_hist if use_fir else 0):  # the scalar kernel keeps none without
                hist[ch, k] = sbuf[(n_t + n_hist - 1 - k) & ring, c]
    return count


@numba.njit(cache=True, nogil=True, inline="always")
def _thresholds(
    q1: np.ndarray,
    q3: np.ndarray,
    thr: np.ndarray,
    width: int,
    k_sigma: np.int32,
    min_thr: np.int32,
) -> None:
    """thr = max(((Q3 − Q1)·K) >> 8, min_threshold), clamped to INT16_MAX."""
    for c in range(width):
        wide = max(((np.int32(q3[c]) - np.int32(q1[c])) * k_sigma) >> 8, min_thr)
        thr[c] = np.int16(min(int(wide), INT16_MAX))


@numba.njit(cache=True, nogil=True, inline="always")
def _hits_of_tile(
    passed: np.ndarray,
    seen: np.ndarray,
    ticks: int,
    c0: int,
    width: int,
    first_time: int,
    saturate: bool,
    st: np.ndarray,
    out: np.ndarray,
    capacity: int,
    count: int,
) -> int:
    """The hit state machine over one tile, only on channels with something to do; the
    state lives in ``st`` (int64) between tiles.  Returns the running hit count."""
    for c in range(width):
        ch = c0 + c
        if seen[c] == 0 and st[ch, S_TOT] == 0:
            continue
        seen[c] = 0
        tot = st[ch, S_TOT]
        total = st[ch, S_SUM]
        peak = st[ch, S_PEAK]
        peak_t = st[ch, S_PEAKT]
        start = st[ch, S_START]
        for j in range(ticks):
            pv = np.int64(passed[j, c])
            n = first_time + j
            close = False
            if pv > 0:
                if tot == 0:
                    start = n
                    peak = 0
                tot += 1
                if pv > peak:
                    peak = pv
                    peak_t = n
                total += pv
                if saturate and total >= SATURATION:
                    total = SATURATION
                    close = True
            elif tot > 0:
                close = True
            if close:
                if count < capacity:
                    out[count, 0] = ch
                    out[count, 1] = start
                    out[count, 2] = tot
                    out[count, 3] = peak_t
                    out[count, 4] = peak
                    out[count, 5] = total
                count += 1
                tot = 0
                total = 0
                peak = 0
        st[ch, S_TOT] = tot
        st[ch, S_SUM] = total
        st[ch, S_PEAK] = peak
        st[ch, S_PEAKT] = peak_t
        st[ch, S_START] = start
    return count
