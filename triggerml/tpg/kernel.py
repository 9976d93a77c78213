"""The TPG's scalar reference kernel (numba): integer arithmetic only, one channel at a time.

The specification the fast kernel (:mod:`triggerml.tpg.fastkernel`) is tested against.

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
    ped, acc = _frugal_step(x, st[ch, S_PED], st[ch, S_ACC], 1, 1, limit)
    st[ch, S_PED] = ped
    st[ch, S_ACC] = acc
    return x - ped


@numba.njit(cache=True, nogil=True, inline="always")
def _frugal_step(
    x: int, estimate: int, acc: int, up: int, down: int, limit: int
) -> tuple[int, int]:
    """One frugal-streaming update: the accumulator steps ``up`` when x is above the
    estimate and ``down`` when below; past ±limit the estimate moves by one and the
    accumulator restarts.  Steps 1/1 track the median (pedestal), 1/3 the first quartile,
    3/1 the third."""
    if x > estimate:
        acc += up
    elif x < estimate:
        acc -= down
    if acc > limit:
        return estimate + 1, 0
    if acc < -limit:
        return estimate - 1, 0
    return estimate, acc


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
                q1, q1a = _frugal_step(f, q1, q1a, 1, 3, iqr_limit)
                q3, q3a = _frugal_step(f, q3, q3a, 3, 1, iqr_limit)
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
