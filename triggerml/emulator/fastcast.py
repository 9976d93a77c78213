"""numba twin of :func:`triggerml.fixed.requantize` for the emulator's hot path.

Same semantics element by element (quantization, overflow, saturation bits); tests compare
the two on every mode pair.  Used when the shift is one number for the whole array.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numba
import numpy as np
import numpy.typing as npt

from triggerml.fixed import FixedType, OverflowMode, QuantMode

_Q = {m: i for i, m in enumerate(QuantMode)}
_O = {m: i for i, m in enumerate(OverflowMode)}
Q_TRN, Q_TRN_ZERO, Q_RND, Q_RND_ZERO, Q_RND_MIN_INF, Q_RND_INF, Q_RND_CONV = range(7)
O_WRAP, O_SAT, O_SAT_ZERO, O_SAT_SYM = range(4)


@numba.njit(cache=True, inline="always")
def _wrap(value: int, width: int, signed: bool) -> int:
    mask = (np.int64(1) << width) - 1
    low = value & mask
    if signed:
        sign = np.int64(1) << (width - 1)
        low = (low ^ sign) - sign
    return low


@numba.njit(cache=True, parallel=True)
def _requantize(
    m: np.ndarray,
    shift: int,
    width: int,
    signed: bool,
    q: int,
    o: int,
    sat_bits: int,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    for i in numba.prange(m.shape[0]):
        out[i] = _one(m[i], shift, width, signed, q, o, sat_bits, lo, hi)


@numba.njit(cache=True, inline="always")
def _one(
    x: int, shift: int, width: int, signed: bool, q: int, o: int, sat_bits: int, lo: int, hi: int
) -> int:
    over = False
    under = False
    if shift > 0:
        drop = min(shift, 63)
        floor = x >> drop
        rest = x - (floor << drop)
        half = np.int64(1) << (drop - 1)
        above = rest > half
        tie = rest == half
        if q == Q_TRN:
            bump = False
        elif q == Q_TRN_ZERO:
            bump = x < 0 and rest != 0
        elif q == Q_RND:
            bump = above or tie
        elif q == Q_RND_ZERO:
            bump = above or (tie and x < 0)
        elif q == Q_RND_MIN_INF:
            bump = above
        elif q == Q_RND_INF:
            bump = above or (tie and x > 0)
        else:
            bump = above or (tie and (floor & 1) == 1)
        value = floor + np.int64(bump)
        over = value > hi
        under = value < lo
    else:
        lift = min(-shift, 63)
        if -shift >= 64:  # noqa: SIM108
            value = np.int64(0)
        else:
            value = np.int64(np.uint64(x) << np.uint64(lift))
        over = x > (np.int64(hi) >> lift)
        under = x < -((np.int64(-lo)) >> lift)
    wrapped = _wrap(value, width, signed)
    if o == O_WRAP:
        if sat_bits == 0 or not (over or under):
            return wrapped
        bits = wrapped & ((np.int64(1) << width) - 1)
        if signed:
            sign = np.int64(1) << (width - 1)
            middle = ((np.int64(1) << (sat_bits - 1)) - 1) << (width - sat_bits)
            bits = (bits | sign) & ~middle if x < 0 else (bits & ~sign) | middle
        else:
            bits = bits | (((np.int64(1) << sat_bits) - 1) << (width - sat_bits))
        return _wrap(bits, width, signed)
    if o == O_SAT_ZERO:
        return 0 if (over or under) else wrapped
    low = lo
    if o == O_SAT_SYM and signed:
        low = lo | 1
        under = under or value == lo
    result = low if under else wrapped
    return hi if over else result


def requantize_fast(
    mantissa: npt.NDArray[np.int64], frac_bits: int, target: FixedType
) -> npt.NDArray[np.int64]:
    """``requantize`` with one source fraction width, in parallel numba."""
    flat = np.ascontiguousarray(mantissa, dtype=np.int64).reshape(-1)
    out = np.empty_like(flat)
    _requantize(
        flat,
        frac_bits - target.frac_bits,
        target.width,
        target.signed,
        _Q[target.quant],
        _O[target.overflow],
        target.sat_bits,
        target.min_mantissa,
        target.max_mantissa,
        out,
    )
    return out.reshape(np.shape(mantissa))


@numba.njit(cache=True, inline="always")
def _split_double(bits: np.uint64) -> tuple[int, int]:
    """One double's bits as (signed 53-bit mantissa, exponent): the value is
    mantissa · 2^exponent, as :func:`triggerml.fixed._decompose_doubles` reads it."""
    biased = np.int64((bits >> np.uint64(52)) & np.uint64(0x7FF))
    man = np.int64(bits & np.uint64((1 << 52) - 1)) | np.int64(1 << 52)
    if (bits >> np.uint64(63)) == 1:
        man = -man
    if (bits & np.uint64((1 << 63) - 1)) == 0:
        man = 0
    return man, biased - 1023 - 52


@numba.njit(cache=True, parallel=True)
def _from_doubles(
    values: np.ndarray,
    frac_bits: int,
    width: int,
    signed: bool,
    q: int,
    o: int,
    sat_bits: int,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """:func:`triggerml.fixed._decompose_doubles` then ``_one``, element by element (no
    temporaries; the same bits and quirks: subnormals keep the hidden bit).  The type stays
    a run-time argument: one cached compile serves every input type."""
    raw = values.view(np.uint64)
    for i in numba.prange(raw.shape[0]):
        man, exponent = _split_double(raw[i])
        out[i] = _one(man, -exponent - frac_bits, width, signed, q, o, sat_bits, lo, hi)


_FROM_DOUBLES_SOURCE = """\
import numba
import numpy as np

from triggerml.emulator.fastcast import _one, _split_double


@numba.njit(cache=True, parallel={parallel})
def kernel(values, out):
    raw = values.view(np.uint64)
    for i in numba.prange(raw.shape[0]):
        man, exponent = _split_double(raw[i])
        out[i] = _one(
            man, -exponent - {frac_bits}, {width}, {signed}, {q}, {o}, {sat_bits}, {lo}, {hi}
        )
"""


@functools.lru_cache(maxsize=32)
def _from_doubles_for(
    frac_bits: int,
    width: int,
    signed: bool,
    q: int,
    o: int,
    sat_bits: int,
    lo: int,
    hi: int,
    parallel: bool = True,
) -> Callable[[np.ndarray, np.ndarray], None]:
    """:func:`_from_doubles` with the target type as compile-time constants: ≈1.7× faster,
    for one compile (≈0.5 s) per type and machine (kernel cache) — the emulator's input
    cast.  ``parallel=False``: on the calling thread only (numba's prange is then range)."""
    from triggerml.emulator import kernel_cache

    source = _FROM_DOUBLES_SOURCE.format(
        frac_bits=frac_bits,
        width=width,
        signed=bool(signed),
        q=q,
        o=o,
        sat_bits=sat_bits,
        lo=lo,
        hi=hi,
        parallel=bool(parallel),
    )
    return kernel_cache.load(source, "kernel")


def mantissa_from_double(
    values: npt.NDArray[np.float64],
    target: FixedType,
    specialized: bool = False,
    parallel: bool = True,
) -> npt.NDArray[np.int64]:
    """``FixedType.mantissa`` (the C++ double constructor) in parallel numba;
    ``specialized``: compile a kernel for this type (worth it for repeated casts);
    ``parallel=False``: a specialized kernel on the calling thread — for small casts made
    often (a thread pool woken for each would spin on, and take, the other cores)."""
    if target.is_int:
        return target.mantissa(values)
    flat = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    if np.isnan(flat).any():
        raise ValueError(f"NaN cannot be converted to {target}: clean the input first")
    out = np.empty(flat.shape, dtype=np.int64)
    params = (
        target.frac_bits,
        target.width,
        target.signed,
        _Q[target.quant],
        _O[target.overflow],
        target.sat_bits,
        target.min_mantissa,
        target.max_mantissa,
    )
    if specialized or not parallel:
        _from_doubles_for(*params, parallel=parallel)(flat, out)
    else:
        _from_doubles(flat, *params, out)
    return out.reshape(np.shape(values))
