"""The fast TPG kernel (numba): channels side by side, ticks in tiles, hits only where needed.

The same arithmetic as :func:`triggerml.tpg.kernel.process_block` (the scalar reference, the
specification the tests compare with exactly), reorganised to run across channels in vector
registers:

- a strip of LANES channels is processed together, TILE ticks at a time; each tile of the
  (channels, ticks) block is transposed in 8 × 8 blocks of vector shuffles
  (:mod:`triggerml.tpg.shuffle`) so that a tick's samples of the strip are contiguous;
- a tile's ticks run through the stages (frugal pedestal, FIR, quartile threshold) in one
  loop written as LLVM vector code (:mod:`triggerml.tpg.lanes`), the strip's state in
  registers for the whole tile; the FIR sums tap pairs with pmaddwd, and seven symmetric
  taps on ≤ 14-bit samples add their sample pairs first (:func:`folds`); each FIR form is
  its own compiled loop;
- the thresholded values of a tile are kept, with a bit mask per tick of the lanes over
  threshold, and the hit state machine (sequential and rare: ≈0.1 % of samples pass the
  threshold in fir mode) runs only on the channels that have a sample over threshold in the
  tile or a hit open, and only at their samples over threshold and the one after each run.

Narrow integers where they are exact — the lanes a vector holds are what the speed is: the
pedestal, the quartiles and the thresholds in int16, the FIR sums in int32, the hit sums and
absolute times in int64.
:func:`unsupported` names the configurations where that would not be exact (and the
coherent-noise subtraction, which only the scalar kernel has); they take the scalar kernel.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import types
from numba.core import cgutils

from triggerml.tpg.config import TpgConfig
from triggerml.tpg.kernel import (
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
from triggerml.tpg.lanes import (
    LANES,
    N_S,
    R_ACC,
    R_BITS,
    R_PED,
    R_Q1,
    R_Q1A,
    R_Q3,
    R_Q3A,
    R_S0,
    R_THR,
    ROWS,
    TILE,
    numba_intrinsic,
    threshold_init,
    tile_ticks,
    trailing_zeros,
)
from triggerml.tpg.shuffle import transpose8x8

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
    if config.uses_fir and any(abs(tap) > INT16_MAX for tap in config.fir_taps):
        return "FIR taps past ±32767 do not fit the int16 tap pairs"
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


def folds(config: TpgConfig) -> bool:
    """Seven symmetric taps on samples of at most 14 bits: s[n−k] + s[n−6+k] fits int16
    (|s| < 2^14), so the FIR can add those pairs before multiplying (half the products)."""
    taps = config.fir_taps
    return config.uses_fir and len(taps) == 7 and taps == taps[::-1] and config.adc_bits <= 14


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


@numba_intrinsic
def _stack_int16(typingctx: Any, rows: Any, columns: Any) -> Any:
    """A pointer to rows × columns (literals) int16 on the calling kernel's stack."""
    if not (isinstance(rows, types.IntegerLiteral) and isinstance(columns, types.IntegerLiteral)):
        return None
    size = rows.literal_value * columns.literal_value

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return cgutils.alloca_once(builder, context.get_value_type(types.int16), size=size)

    return types.CPointer(types.int16)(rows, columns), codegen


@numba.njit(cache=True, nogil=True)
def _tile_form(
    rows: np.ndarray,
    tile: np.ndarray,
    passed: np.ndarray,
    masks: np.ndarray,
    ticks: int,
    limits: tuple,
    scales: tuple,
    flags: tuple,
    weights: np.ndarray,
    pairs: int,
    symmetric: bool,
) -> None:
    """One compiled function per FIR form (numba.literally): each tick loop is optimized on
    its own, not inside one function holding all ten (which ran 20–30 % slower)."""
    numba.literally(pairs)
    numba.literally(symmetric)
    tile_ticks(rows, tile, passed, masks, ticks, limits, scales, flags, weights, pairs, symmetric)


@numba.njit(cache=True, nogil=True, inline="always")
def _tile(
    rows: np.ndarray,
    tile: np.ndarray,
    passed: np.ndarray,
    masks: np.ndarray,
    ticks: int,
    prm: np.ndarray,
    weights: np.ndarray,
    pairs: int,
    folded: bool,
) -> None:
    """lanes.tile_ticks with the FIR's pair count (0..8, N_S // 2) and form as literals."""
    limits = (np.int16(prm[P_LIMIT]), np.int16(prm[P_IQRL]))
    scales = (np.int32(prm[P_SHIFT]), np.int32(prm[P_K]), np.int32(prm[P_MINTHR]))
    flags = (prm[P_ABS] != 0, prm[P_SIGMA] != 0)
    if pairs == 4 and folded:  # the default FIR: seven symmetric taps
        _tile_form(rows, tile, passed, masks, ticks, limits, scales, flags, weights, 4, True)
    elif pairs == 4:
        _tile_form(rows, tile, passed, masks, ticks, limits, scales, flags, weights, 4, False)
    elif pairs == 0:
        _tile_form(rows, tile, passed, masks, ticks, limits, scales, flags, weights, 0, False)
    elif pairs == 1:
        _tile_form(rows, tile, passed, masks, ticks, limits, scales, flags, weights, 1, False)
    elif pairs == 2:
        _tile_form(rows, tile, passed, masks, ticks, limits, scales, flags, weights, 2, False)
    elif pairs == 3:
        _tile_form(rows, tile, passed, masks, ticks, limits, scales, flags, weights, 3, False)
    elif pairs == 5:
        _tile_form(rows, tile, passed, masks, ticks, limits, scales, flags, weights, 5, False)
    elif pairs == 6:
        _tile_form(rows, tile, passed, masks, ticks, limits, scales, flags, weights, 6, False)
    elif pairs == 7:
        _tile_form(rows, tile, passed, masks, ticks, limits, scales, flags, weights, 7, False)
    else:
        _tile_form(rows, tile, passed, masks, ticks, limits, scales, flags, weights, 8, False)


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
    folded: bool,
) -> tuple[int, int]:
    """As :func:`triggerml.tpg.kernel.process_block` (no coherent-noise subtraction): the
    number of hits, and the OR of every sample (as uint16: a bit outside the ADC's range
    means a sample outside it — the caller's range check, made in the same pass).  Hits come
    out grouped by strip of LANES channels, unsorted.  ``folded``: the FIR may sum symmetric
    taps' samples first (:func:`folds`)."""
    if adc.strides[1] != 2:
        raise ValueError("the fast TPG kernel needs int16 rows with contiguous samples")
    n_ch, n_t = adc.shape
    if n_t == 0:  # nothing to read: not even the first sample a new pedestal starts from
        return 0, 0
    use_fir = prm[P_FIR] != 0
    use_sigma = prm[P_SIGMA] != 0
    k_sigma = np.int32(prm[P_K])
    min_thr = np.int32(prm[P_MINTHR])
    saturate = prm[P_SAT] != 0
    delay = prm[P_DELAY]
    init_ped = prm[P_INITPED]
    n_hist = max(taps.shape[0] - 1, 1) if use_fir else 0  # the scalar kernel keeps s[n−1]
    pairs = (taps.shape[0] + 1) // 2 if use_fir else 0
    weights = np.zeros(N_S // 2, np.int32)  # taps 2p, 2p+1 as int16 halves of one int32
    for p in range(pairs):
        low = taps[2 * p]
        high = taps[2 * p + 1] if 2 * p + 1 < taps.shape[0] else 0
        weights[p] = np.int32(((high & 0xFFFF) << 16) | (low & 0xFFFF))
    rows = numba.carray(_stack_int16(ROWS, LANES), (ROWS, LANES))
    tile = numba.carray(_stack_int16(TILE, LANES), (TILE, LANES))
    passed = numba.carray(_stack_int16(TILE, LANES), (TILE, LANES))
    masks = numba.carray(_stack_int16(TILE, 1), TILE)  # per tick: the lanes over threshold
    count = 0
    bits = 0
    for c0 in range(0, n_ch, LANES):
        width = min(LANES, n_ch - c0)
        rows[:] = 0
        tile[:] = 0  # lanes past a partial strip's width: zeros, not stack garbage
        for c in range(width):
            ch = c0 + c
            if st[ch, S_INIT] == 0:
                st[ch, S_PED] = adc[ch, 0] if init_ped < 0 else init_ped
                st[ch, S_INIT] = 1
            rows[R_PED, c] = st[ch, S_PED]
            rows[R_ACC, c] = st[ch, S_ACC]
            rows[R_Q1, c] = st[ch, S_Q1]
            rows[R_Q1A, c] = st[ch, S_Q1A]
            rows[R_Q3, c] = st[ch, S_Q3]
            rows[R_Q3A, c] = st[ch, S_Q3A]
            for k in range(n_hist):  # row R_S0 + k holds s[n − 1 − k] before tick n
                rows[R_S0 + k, c] = hist[ch, k]
        if use_sigma:
            threshold_init(rows, k_sigma, min_thr)
        else:  # f ≤ INT16_MAX: the clamped threshold makes the same test
            rows[R_THR, :] = np.int16(min(prm[P_THR], INT16_MAX))
        for t0 in range(0, n_t, TILE):
            ticks = min(TILE, n_t - t0)
            _transpose_tile(adc, c0, width, t0, ticks, tile)
            _tile(rows, tile, passed, masks, ticks, prm, weights, pairs, folded)
            count = _hits_of_tile(
                passed, masks, ticks, c0, width, block_start + t0 - delay, saturate, st, out,
                capacity, count,
            )  # fmt: skip
        for c in range(LANES):  # lanes past the width hold zeros
            bits |= int(rows[R_BITS, c]) & 0xFFFF
        for c in range(width):
            ch = c0 + c
            st[ch, S_PED] = rows[R_PED, c]
            st[ch, S_ACC] = rows[R_ACC, c]
            if use_sigma:
                st[ch, S_Q1] = rows[R_Q1, c]
                st[ch, S_Q1A] = rows[R_Q1A, c]
                st[ch, S_Q3] = rows[R_Q3, c]
                st[ch, S_Q3A] = rows[R_Q3A, c]
            for k in range(n_hist):  # the scalar kernel keeps none without the FIR
                hist[ch, k] = rows[R_S0 + k, c]
    return count, bits


@numba.njit(cache=True, nogil=True, inline="always")
def _hits_of_tile(
    passed: np.ndarray,
    masks: np.ndarray,
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
    """The hit state machine over one tile, only on channels with something to do and only
    at their ticks over threshold and the tick after each run (from the lanes' bit masks:
    a run of ticks under threshold is skipped at once); the state lives in ``st`` (int64)
    between tiles.  Returns the running hit count."""
    union = 0
    for j in range(ticks):
        union |= int(masks[j]) & 0xFFFF
    for c in range(width):
        ch = c0 + c
        tot = st[ch, S_TOT]
        if (union >> c) & 1 == 0 and tot == 0:
            continue
        over = np.uint64(0)  # bit j: this channel's sample j is over threshold
        for j in range(ticks):
            over |= np.uint64((np.int64(masks[j]) >> c) & 1) << np.uint64(j)
        total = st[ch, S_SUM]
        peak = st[ch, S_PEAK]
        peak_t = st[ch, S_PEAKT]
        start = st[ch, S_START]
        j = 0
        while j < ticks:
            if tot == 0:  # no hit open: on to the next sample over threshold
                rest = over >> np.uint64(j)
                if rest == 0:
                    break
                j += trailing_zeros(rest)
                start = first_time + j
                peak = 0
            close = False
            if (over >> np.uint64(j)) & np.uint64(1):
                pv = np.int64(passed[j, c])
                tot += 1
                if pv > peak:
                    peak = pv
                    peak_t = first_time + j
                total += pv
                if saturate and total >= SATURATION:
                    total = SATURATION
                    close = True
            else:  # the first sample under threshold closes the open hit
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
            j += 1
        st[ch, S_TOT] = tot
        st[ch, S_SUM] = total
        st[ch, S_PEAK] = peak
        st[ch, S_PEAKT] = peak_t
        st[ch, S_START] = start
    return count
