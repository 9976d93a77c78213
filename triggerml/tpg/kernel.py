"""The TPG hot loop (numba): integer arithmetic only, per channel, state carried in arrays.

The same steps, in the same order, are written in ``firmware/tpg/tpg.h``; the two must stay
bit-identical (``triggerml verify-tpg``).  State layout per channel: see the ``S_*`` indices.
"""

from __future__ import annotations

import numba
import numpy as np

S_PED, S_ACC, S_Q1, S_Q1A, S_Q3, S_Q3A = 0, 1, 2, 3, 4, 5
S_TOT, S_SUM, S_PEAK, S_PEAKT, S_START, S_INIT = 6, 7, 8, 9, 10, 11
N_STATE = 12
HISTORY = 16

P_LIMIT, P_SHIFT, P_FIR, P_SIGMA, P_THR, P_MINTHR, P_K, P_IQRL = 0, 1, 2, 3, 4, 5, 6, 7
P_SAT, P_ABS, P_DELAY, P_CNS, P_INITPED = 8, 9, 10, 11, 12
N_PARAMS = 13
SATURATION = 65535


@numba.njit(cache=True, nogil=True, inline="always")
def _pedestal(x: int, st: np.ndarray, ch: int, limit: int, init_ped: int) -> int:
    if st[ch, S_INIT] == 0:
        st[ch, S_PED] = x if init_ped < 0 else init_ped
        st[ch, S_INIT] = 1
    ped = st[ch, S_PED]
    acc = st[ch, S_ACC]
    if x > ped:
        acc += 1
    elif x < ped:
        acc -= 1
    if acc > limit:
        ped += 1
        acc = 0
    elif acc < -limit:
        ped -= 1
        acc = 0
    st[ch, S_PED] = ped
    st[ch, S_ACC] = acc
    return x - ped


@numba.njit(cache=True, nogil=True)
def process_block(
    adc: np.ndarray,
    block_start: int,
    st: np.ndarray,
    hist: np.ndarray,
    taps: np.ndarray,
    prm: np.ndarray,
    scratch: np.ndarray,
    out: np.ndarray,
    capacity: int,
) -> int:
    """Run one block (channels × ticks) through the TPG; returns the number of hits closed.

    Hits go to ``out[i] = (row, start, tot, peak_time, peak_adc, adc_sum)`` while
    ``i < capacity``; a larger return value means the caller must retry with more room
    (from a copy of the state taken before the call).
    """
    n_ch, n_t = adc.shape
    limit = prm[P_LIMIT]
    shift = prm[P_SHIFT]
    use_fir = prm[P_FIR] != 0
    use_sigma = prm[P_SIGMA] != 0
    thr_abs = prm[P_THR]
    min_thr = prm[P_MINTHR]
    k_sigma = prm[P_K]
    iqr_limit = prm[P_IQRL]
    saturate = prm[P_SAT] != 0
    absolute = prm[P_ABS] != 0
    delay = prm[P_DELAY]
    cns_shift = prm[P_CNS]
    init_ped = prm[P_INITPED]
    n_taps = taps.shape[0]
    count = 0

    if cns_shift >= 0:  # pass A: pedestals, then subtract the floor of each group's mean
        group = 1 << cns_shift
        for ch in range(n_ch):
            for t in range(n_t):
                scratch[ch, t] = _pedestal(np.int64(adc[ch, t]), st, ch, limit, init_ped)
        for g0 in range(0, n_ch, group):
            g1 = min(g0 + group, n_ch)
            for t in range(n_t):
                total = 0
                for ch in range(g0, g1):
                    total += scratch[ch, t]
                mean = total >> cns_shift  # floor, even for a partial last group
                for ch in range(g0, g1):
                    scratch[ch, t] -= mean

    for ch in range(n_ch):
        q1 = st[ch, S_Q1]
        q1a = st[ch, S_Q1A]
        q3 = st[ch, S_Q3]
        q3a = st[ch, S_Q3A]
        tot = st[ch, S_TOT]
        total = st[ch, S_SUM]
        peak = st[ch, S_PEAK]
        peak_t = st[ch, S_PEAKT]
        start = st[ch, S_START]
        for t in range(n_t):
            if cns_shift >= 0:
                s = scratch[ch, t]
            else:
                s = _pedestal(np.int64(adc[ch, t]), st, ch, limit, init_ped)
            if use_fir:
                f = taps[0] * s
                for k in range(1, n_taps):
                    f += taps[k] * hist[ch, k - 1]
                for k in range(n_taps - 2, 0, -1):
                    hist[ch, k] = hist[ch, k - 1]
                hist[ch, 0] = s
                f >>= shift
            else:
                f = s
            if absolute and f < 0:
                f = -f
            if use_sigma:
                thr = ((q3 - q1) * k_sigma) >> 8
                thr = max(thr, min_thr)
                if f > q1:
                    q1a += 1
                elif f < q1:
                    q1a -= 3
                if q1a > iqr_limit:
                    q1 += 1
                    q1a = 0
                elif q1a < -iqr_limit:
                    q1 -= 1
                    q1a = 0
                if f > q3:
                    q3a += 3
                elif f < q3:
                    q3a -= 1
                if q3a > iqr_limit:
                    q3 += 1
                    q3a = 0
                elif q3a < -iqr_limit:
                    q3 -= 1
                    q3a = 0
            else:
                thr = thr_abs
            p = f if f > thr else 0
            n = block_start + t - delay
            close = False
            if p > 0:
                if tot == 0:
                    start = n
                    peak = 0
                tot += 1
                if p > peak:
                    peak = p
                    peak_t = n
                total += p
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
        st[ch, S_Q1] = q1
        st[ch, S_Q1A] = q1a
        st[ch, S_Q3] = q3
        st[ch, S_Q3A] = q3a
        st[ch, S_TOT] = tot
        st[ch, S_SUM] = total
        st[ch, S_PEAK] = peak
        st[ch, S_PEAKT] = peak_t
        st[ch, S_START] = start
    return count


LANES = 64  # channels processed side by side (tpglibs' AVX2 pipelines take 16)
TILE = 256  # ticks transposed at a time (64 KB: stays in L2)


@numba.njit(cache=True, nogil=True)
def process_block_lanes(
    adc: np.ndarray,
    block_start: int,
    st: np.ndarray,
    hist: np.ndarray,
    taps: np.ndarray,
    prm: np.ndarray,
    out: np.ndarray,
    capacity: int,
) -> int:
    """The same TPG as :func:`process_block` (no coherent-noise subtraction), written
    time-outer / channel-inner over groups of LANES channels, each stage a branch-free loop
    over the lanes so that LLVM vectorizes across channels.  Reading ``adc`` (channels,
    ticks) down a column touches one cache line per lane, reused for 32 ticks."""
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
    count = 0
    zero = np.int32(0)
    one = np.int32(1)
    three = np.int32(3)
    ped = np.empty(LANES, np.int32)
    acc = np.empty(LANES, np.int32)
    q1 = np.empty(LANES, np.int32)
    q1a = np.empty(LANES, np.int32)
    q3 = np.empty(LANES, np.int32)
    q3a = np.empty(LANES, np.int32)
    tot = np.empty(LANES, np.int32)
    total = np.empty(LANES, np.int32)
    peak = np.empty(LANES, np.int32)
    start = np.empty(LANES, np.int64)
    peak_t = np.empty(LANES, np.int64)
    f = np.empty(LANES, np.int32)
    closing = np.empty(LANES, np.int32)
    sbuf = np.zeros((HISTORY, LANES), np.int32)  # ring of past pedestal-subtracted samples
    ring = HISTORY - 1
    lane_channel = np.empty(LANES, np.int64)
    tile = np.empty((TILE, LANES), np.int32)
    for c0 in range(0, n_ch, LANES):
        width = min(LANES, n_ch - c0)
        for c in range(LANES):
            lane_channel[c] = min(c0 + c, n_ch - 1)
        for c in range(LANES):
            ch = c0 + c if c < width else c0
            if st[ch, S_INIT] == 0:
                st[ch, S_PED] = adc[ch, 0] if init_ped < 0 else init_ped
                st[ch, S_INIT] = 1
            ped[c] = st[ch, S_PED]
            acc[c] = st[ch, S_ACC]
            q1[c] = st[ch, S_Q1]
            q1a[c] = st[ch, S_Q1A]
            q3[c] = st[ch, S_Q3]
            q3a[c] = st[ch, S_Q3A]
            tot[c] = st[ch, S_TOT]
            total[c] = st[ch, S_SUM]
            peak[c] = st[ch, S_PEAK]
            peak_t[c] = st[ch, S_PEAKT]
            start[c] = st[ch, S_START]
            for k in range(n_hist):  # ring row (n_hist-1-k) holds s[n-1-k]
                sbuf[(n_hist - 1 - k) & ring, c] = hist[ch, k]
        for t in range(n_t):
            if t % TILE == 0:  # transpose the next tile of ticks: lanes become contiguous
                t_end = min(t + TILE, n_t)
                for c in range(LANES):
                    source = adc[lane_channel[c]]
                    for j in range(t, t_end):
                        tile[j - t, c] = source[j]
            xrow = tile[t % TILE]
            n = block_start + t - delay
            srow = sbuf[(n_hist + t) & ring]
            for c in range(LANES):  # frugal pedestal
                x = xrow[c]
                p_ = ped[c]
                a = acc[c] + (one if x > p_ else zero) - (one if x < p_ else zero)
                up = a > limit
                down = a < -limit
                p_ = p_ + (one if up else zero) - (one if down else zero)
                acc[c] = zero if (up or down) else a
                ped[c] = p_
                srow[c] = x - p_
            if use_fir:
                for c in range(LANES):
                    f[c] = taps[0] * srow[c]
                for k in range(1, n_taps):
                    tap = np.int32(taps[k])
                    past = sbuf[(n_hist + t - k) & ring]
                    for c in range(LANES):
                        f[c] += tap * past[c]
                for c in range(LANES):
                    f[c] = f[c] >> shift
            else:
                for c in range(LANES):
                    f[c] = srow[c]
            if absolute:
                for c in range(LANES):
                    f[c] = abs(f[c])
            any_close = zero
            for c in range(LANES):  # threshold, quartiles, hit state
                fc = f[c]
                if use_sigma:
                    thr = max(((q3[c] - q1[c]) * k_sigma) >> 8, min_thr)
                    b1 = q1a[c] + (one if fc > q1[c] else zero) - (three if fc < q1[c] else zero)
                    u1 = b1 > iqr_limit
                    d1 = b1 < -iqr_limit
                    q1[c] += (one if u1 else zero) - (one if d1 else zero)
                    q1a[c] = zero if (u1 or d1) else b1
                    b3 = q3a[c] + (three if fc > q3[c] else zero) - (one if fc < q3[c] else zero)
                    u3 = b3 > iqr_limit
                    d3 = b3 < -iqr_limit
                    q3[c] += (one if u3 else zero) - (one if d3 else zero)
                    q3a[c] = zero if (u3 or d3) else b3
                else:
                    thr = thr_abs
                pv = fc if fc > thr else zero
                active = pv > 0
                was = tot[c]
                start[c] = n if (active and was == 0) else start[c]
                better = pv > peak[c]
                peak_t[c] = n if better else peak_t[c]
                peak[c] = pv if better else peak[c]
                tot[c] = was + (one if active else zero)
                tsum = total[c] + pv
                sat = saturate and tsum >= SATURATION
                total[c] = np.int32(SATURATION) if sat else tsum
                cl = one if (sat or ((not active) and was > 0)) else zero
                closing[c] = cl
                any_close += cl
            if any_close:
                for c in range(LANES):
                    if closing[c]:
                        if c < width:
                            if count < capacity:
                                out[count, 0] = c0 + c
                                out[count, 1] = start[c]
                                out[count, 2] = tot[c]
                                out[count, 3] = peak_t[c]
                                out[count, 4] = peak[c]
                                out[count, 5] = total[c]
                            count += 1
                        tot[c] = 0
                        total[c] = 0
                        peak[c] = 0
        for c in range(width):
            ch = c0 + c
            st[ch, S_PED] = ped[c]
            st[ch, S_ACC] = acc[c]
            st[ch, S_Q1] = q1[c]
            st[ch, S_Q1A] = q1a[c]
            st[ch, S_Q3] = q3[c]
            st[ch, S_Q3A] = q3a[c]
            st[ch, S_TOT] = tot[c]
            st[ch, S_SUM] = total[c]
            st[ch, S_PEAK] = peak[c]
            st[ch, S_PEAKT] = peak_t[c]
            st[ch, S_START] = start[c]
            for k in range(n_hist):
                hist[ch, k] = sbuf[(n_t + n_hist - 1 - k) & ring, c]
    return count
