"""Arbitrary-precision fixed point with the exact semantics of Xilinx ``ap_fixed`` / ``ap_int``.

The one implementation of fixed-point arithmetic in triggerml: the TPG, the emulator and the
studies all quantize through here, so a single g++ comparison against the ``ap_types`` headers
(shipped with hls4ml) proves them all.  Values are carried as int64 *mantissas* (the raw bits
of the C++ object, sign-extended); a value is ``mantissa * 2**-frac_bits``.  Every operation is
vectorized numpy: no per-element Python.

Conversion from ``double`` follows the C++ constructors bit for bit, including their corners:
subnormal doubles are read with the hidden bit set (as the headers do), ``±inf`` is read as
``±2**1024`` and ``ap_int`` from a negative double of magnitude below 0.5 gives 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

import numpy as np
import numpy.typing as npt

MAX_WIDTH = 62
"""Widest supported type: mantissas and their rounding carries must fit an int64."""


class QuantMode(StrEnum):
    """What happens to bits below the LSB (ap_q_mode)."""

    AP_TRN = "AP_TRN"  # floor
    AP_TRN_ZERO = "AP_TRN_ZERO"  # toward zero
    AP_RND = "AP_RND"  # nearest, ties toward +inf
    AP_RND_ZERO = "AP_RND_ZERO"  # nearest, ties toward zero
    AP_RND_MIN_INF = "AP_RND_MIN_INF"  # nearest, ties toward -inf
    AP_RND_INF = "AP_RND_INF"  # nearest, ties away from zero
    AP_RND_CONV = "AP_RND_CONV"  # nearest, ties to even


class OverflowMode(StrEnum):
    """What happens to values outside the representable range (ap_o_mode)."""

    AP_WRAP = "AP_WRAP"  # two's complement wrap (with optional saturation bits)
    AP_SAT = "AP_SAT"  # clamp to [min, max]
    AP_SAT_ZERO = "AP_SAT_ZERO"  # overflow gives 0
    AP_SAT_SYM = "AP_SAT_SYM"  # clamp to [-max, max] (signed)


@dataclass(frozen=True)
class FixedType:
    """An ``ap_fixed``/``ap_ufixed``/``ap_int``/``ap_uint`` type.

    ``integer`` counts the sign bit for signed types, as in C++; it may be negative or larger
    than ``width``.  ``is_int`` marks ``ap_int``/``ap_uint``, whose conversion from double
    truncates toward zero and always wraps.
    """

    width: int
    integer: int
    signed: bool = True
    quant: QuantMode = QuantMode.AP_TRN
    overflow: OverflowMode = OverflowMode.AP_WRAP
    sat_bits: int = 0
    is_int: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.width <= MAX_WIDTH:
            raise ValueError(
                f"fixed-point width {self.width} is outside 1..{MAX_WIDTH}: triggerml keeps "
                "mantissas in int64; use a narrower type"
            )
        if self.is_int and self.integer != self.width:
            raise ValueError("ap_int/ap_uint types have as many integer bits as width")
        if not 0 <= self.sat_bits <= self.width:
            raise ValueError(
                f"saturation bits {self.sat_bits} must lie in 0..{self.width} (the width)"
            )
        object.__setattr__(self, "quant", QuantMode(self.quant))
        object.__setattr__(self, "overflow", OverflowMode(self.overflow))

    # --- range -----------------------------------------------------------------------------
    @property
    def frac_bits(self) -> int:
        return self.width - self.integer

    @property
    def lsb(self) -> float:
        return float(np.ldexp(1.0, -self.frac_bits))

    @property
    def min_mantissa(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_mantissa(self) -> int:
        return (1 << (self.width - (1 if self.signed else 0))) - 1

    @property
    def min_value(self) -> float:
        return float(np.ldexp(float(self.min_mantissa), -self.frac_bits))

    @property
    def max_value(self) -> float:
        return float(np.ldexp(float(self.max_mantissa), -self.frac_bits))

    # --- conversions -----------------------------------------------------------------------
    def mantissa(self, x: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The raw bits (sign-extended int64) that C++ ``T(double(x))`` holds."""
        values = np.asarray(x, dtype=np.float64)
        if np.isnan(values).any():
            raise ValueError(f"NaN cannot be converted to {self}: clean the input first")
        man, exp2 = _decompose_doubles(values)
        if self.is_int:
            return self._int_from_double(man, exp2)
        return requantize(man, -exp2, self)

    def cast(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``double(T(double(x)))`` elementwise: the value the C++ type would hold."""
        return self.to_float(self.mantissa(x))

    def to_float(self, mantissa: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Value of raw mantissas; exact whenever the mantissa fits 53 bits."""
        return np.ldexp(np.asarray(mantissa, dtype=np.int64).astype(np.float64), -self.frac_bits)

    def _int_from_double(
        self, man: npt.NDArray[np.int64], exp2: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        # ap_int_base(double): truncate |x| toward zero, keep `width` bits, negate if x < 0.
        # A shift of 54 or more leaves -1 (not 0) for a negative x, so ap_int(-0.3) == 1.
        magnitude = np.abs(man)
        negative = man < 0
        right = np.clip(-exp2, 0, 63)
        left = np.clip(exp2, 0, 63)
        mag_bits = np.where(exp2 < 0, magnitude >> right, _shift_left_wrapping(magnitude, left))
        mag_bits = np.where((exp2 >= 0) & (exp2 >= self.width), 0, mag_bits)
        quirk = negative & (-exp2 >= 54)
        bits = np.where(negative, -mag_bits, mag_bits)
        bits = np.where(quirk, 1, bits)
        return wrap(bits, self.width, self.signed)

    # --- spelling --------------------------------------------------------------------------
    def __str__(self) -> str:
        """The C++ spelling, e.g. ``ap_fixed<16,6,AP_TRN,AP_WRAP>`` (manifests use this)."""
        if self.is_int:
            return f"ap_{'' if self.signed else 'u'}int<{self.width}>"
        kind = "ap_fixed" if self.signed else "ap_ufixed"
        args = f"{self.width},{self.integer},{self.quant.value},{self.overflow.value}"
        if self.sat_bits:
            args += f",{self.sat_bits}"
        return f"{kind}<{args}>"

    def hls4ml_str(self) -> str:
        """hls4ml's short spelling, e.g. ``fixed<16,6,TRN,WRAP,0>``."""
        if self.is_int:
            return f"{'' if self.signed else 'u'}int<{self.width}>"
        quant = self.quant.value.removeprefix("AP_")
        overflow = self.overflow.value.removeprefix("AP_")
        kind = "fixed" if self.signed else "ufixed"
        return f"{kind}<{self.width},{self.integer},{quant},{overflow},{self.sat_bits}>"


_Mode = TypeVar("_Mode", QuantMode, OverflowMode)


# --- parsing -------------------------------------------------------------------------------
_TYPE_RE = re.compile(r"^\s*(ap_)?(u?fixed|u?int)\s*<([^<>]*)>\s*$")


def type_bits(text: str) -> int:
    """The width W of any type :func:`parse_type` reads — including widths beyond int64,
    which only costs (not arithmetic) need."""
    match = _TYPE_RE.match(text)
    if match is None or not match.group(3).split(",")[0].strip().isdigit():
        raise ValueError(f"not a fixed-point or integer type: {text!r}")
    return int(match.group(3).split(",")[0])


def type_fields(text: str) -> tuple[bool, int, int]:
    """(signed, width, integer bits) of any type :func:`parse_type` reads — including widths
    beyond int64, which the emulator handles where they hold their values exactly."""
    match = _TYPE_RE.match(text)
    if match is None:
        raise ValueError(f"not a fixed-point or integer type: {text!r}")
    signed = not match.group(2).startswith("u")
    args = [a.strip() for a in match.group(3).split(",")]
    width = _parse_int(args[0], "width", text)
    integer = width if match.group(2).endswith("int") else _parse_int(args[1], "integer", text)
    return signed, width, integer


def parse_type(text: str) -> FixedType:
    """Parse ``ap_fixed<W,I[,Q[,O[,N]]]>``, ``ap_ufixed``, ``ap_int<W>``, ``ap_uint<W>`` or
    hls4ml's short forms (``fixed<16,6>``, ``ufixed<8,0,RND_CONV,SAT>``, ``int<8>``)."""
    match = _TYPE_RE.match(text)
    if match is None:
        raise ValueError(
            f"cannot parse fixed-point type {text!r}: expected e.g. 'ap_fixed<16,6>', "
            "'ap_ufixed<8,0,AP_RND,AP_SAT>', 'ap_int<8>' or hls4ml's 'fixed<16,6,TRN,WRAP>'"
        )
    kind = match.group(2)
    args = [a.strip() for a in match.group(3).split(",")]
    signed = not kind.startswith("u")
    if kind.endswith("int"):
        if len(args) != 1:
            raise ValueError(f"{text!r}: integer types take one parameter, the width: int<W>")
        width = _parse_int(args[0], "width", text)
        return FixedType(width, width, signed, is_int=True)
    if len(args) < 2:
        raise ValueError(
            f"{text!r}: fixed-point types need at least width and integer bits, e.g. ap_fixed<16,6>"
        )
    if len(args) > 5:
        raise ValueError(f"{text!r}: too many parameters (at most <W,I,Q,O,N>)")
    width = _parse_int(args[0], "width", text)
    integer = _parse_int(args[1], "integer bits", text)
    if width < 1:
        raise ValueError(f"{text!r}: width must be at least 1, got {width}")
    quant = _parse_mode(args[2], QuantMode, text) if len(args) > 2 else QuantMode.AP_TRN
    overflow = _parse_mode(args[3], OverflowMode, text) if len(args) > 3 else OverflowMode.AP_WRAP
    sat_bits = _parse_int(args[4], "saturation bits", text) if len(args) > 4 else 0
    return FixedType(width, integer, signed, quant, overflow, sat_bits)


def _parse_int(token: str, what: str, text: str) -> int:
    try:
        return int(token)
    except ValueError:
        raise ValueError(f"{text!r}: {what} must be an integer, got {token!r}") from None


def _parse_mode(token: str, enum: type[_Mode], text: str) -> _Mode:
    name = token.strip().upper()
    if not name.startswith("AP_"):
        name = "AP_" + name
    try:
        return enum(name)
    except ValueError:
        valid = ", ".join(m.value for m in enum)
        raise ValueError(f"{text!r}: unknown {enum.__name__} {token!r}; valid: {valid}") from None


# --- width rules (ap_fixed_base::RType) ----------------------------------------------------
def product_type(a: FixedType, b: FixedType) -> FixedType:
    """Full-precision type of ``a * b`` in C++ (``RType::mult``)."""
    return FixedType(a.width + b.width, a.integer + b.integer, a.signed or b.signed)


def sum_type(a: FixedType, b: FixedType) -> FixedType:
    """Full-precision type of ``a + b`` in C++ (``RType::plus``)."""
    integer = max(a.integer + (b.signed and not a.signed), b.integer + (a.signed and not b.signed))
    integer += 1
    return FixedType(integer + max(a.frac_bits, b.frac_bits), integer, a.signed or b.signed)


# --- the quantize/overflow core ------------------------------------------------------------
def requantize(
    mantissa: npt.ArrayLike, frac_bits: npt.ArrayLike, target: FixedType
) -> npt.NDArray[np.int64]:
    """Mantissas of ``target`` holding the exact values ``mantissa * 2**-frac_bits``.

    ``mantissa`` must fit in 62 bits plus sign; ``frac_bits`` may differ per element.  This is
    the assignment of a wider exact value to ``target`` with its quantization and overflow
    modes; the emulator uses it for every cast between fixed-point types.
    """
    man = np.asarray(mantissa, dtype=np.int64)
    shift = np.asarray(frac_bits, dtype=np.int64) - target.frac_bits  # bits to drop
    man, shift = np.broadcast_arrays(man, shift)
    rounded, over, under = _round(man, shift, target)
    return _overflow(rounded, over, under, man < 0, target)


def _round(
    man: npt.NDArray[np.int64], shift: npt.NDArray[np.int64], target: FixedType
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Quantize to the target's LSB; returns low-W-bit value and overflow/underflow flags."""
    drop = np.clip(shift, 1, 63)
    floor = man >> drop
    rest = man - (floor << drop)
    half = np.int64(1) << (drop - 1)
    above = rest > half
    tie = rest == half
    quant = target.quant
    if quant is QuantMode.AP_TRN:
        bump = np.zeros(man.shape, dtype=bool)
    elif quant is QuantMode.AP_TRN_ZERO:
        bump = (man < 0) & (rest != 0)
    elif quant is QuantMode.AP_RND:
        bump = above | tie
    elif quant is QuantMode.AP_RND_ZERO:
        bump = above | (tie & (man < 0))
    elif quant is QuantMode.AP_RND_MIN_INF:
        bump = above
    elif quant is QuantMode.AP_RND_INF:
        bump = above | (tie & (man > 0))
    else:  # AP_RND_CONV
        bump = above | (tie & ((floor & 1) == 1))
    dropped = floor + bump

    # Left shift (no bits dropped): value may not fit int64; compare before shifting.
    lift = np.clip(-shift, 0, 63)
    lifted = _shift_left_wrapping(man, lift)
    lifted = np.where(-shift >= 64, 0, lifted)
    lo, hi = target.min_mantissa, target.max_mantissa
    over_l = man > (np.int64(hi) >> lift)
    under_l = man < -((np.int64(-lo)) >> lift)

    dropping = shift > 0
    value = np.where(dropping, dropped, lifted)
    over = np.where(dropping, dropped > hi, over_l)
    under = np.where(dropping, dropped < lo, under_l)
    return value, over, under


def _overflow(
    value: npt.NDArray[np.int64],
    over: npt.NDArray[np.bool_],
    under: npt.NDArray[np.bool_],
    negative: npt.NDArray[np.bool_],
    target: FixedType,
) -> npt.NDArray[np.int64]:
    width, signed = target.width, target.signed
    wrapped = wrap(value, width, signed)
    mode = target.overflow
    if mode is OverflowMode.AP_WRAP:
        if target.sat_bits == 0:
            return wrapped
        return np.where(over | under, _force_sat_bits(wrapped, negative, target), wrapped)
    if mode is OverflowMode.AP_SAT_ZERO:
        return np.where(over | under, 0, wrapped)
    low = target.min_mantissa
    if mode is OverflowMode.AP_SAT_SYM and signed:
        low |= 1  # the headers set bit 0 of min: min + 1, except 1-bit types stay at min
        under = under | (value == target.min_mantissa)
    out = np.where(under, low, wrapped)
    return np.where(over, target.max_mantissa, out)


def _force_sat_bits(
    wrapped: npt.NDArray[np.int64], negative: npt.NDArray[np.bool_], target: FixedType
) -> npt.NDArray[np.int64]:
    """AP_WRAP with N saturation bits: the top N bits take the source's sign pattern."""
    width, n = target.width, target.sat_bits
    bits = wrapped & np.int64((1 << width) - 1)
    if target.signed:
        sign = np.int64(1) << (width - 1)
        middle = np.int64(((1 << (n - 1)) - 1) << (width - n))  # bits W-N .. W-2
        bits = np.where(negative, (bits | sign) & ~middle, (bits & ~sign) | middle)
    else:
        top = np.int64(((1 << n) - 1) << (width - n))
        bits = bits | top
    return wrap(bits, width, target.signed)


def wrap(bits: npt.NDArray[np.int64], width: int, signed: bool) -> npt.NDArray[np.int64]:
    """Keep the low ``width`` bits, sign-extended for signed types."""
    mask = np.int64((1 << width) - 1)
    low = np.asarray(bits, dtype=np.int64) & mask
    if signed:
        sign = np.int64(1) << (width - 1)
        low = (low ^ sign) - sign
    return low


def _shift_left_wrapping(
    values: npt.NDArray[np.int64], shift: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """``values << shift`` modulo 2**64, as two's-complement hardware would."""
    out = values.astype(np.uint64) << shift.astype(np.uint64)
    return out.astype(np.int64)


def _decompose_doubles(
    values: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Split doubles into signed 53-bit mantissas and exponents the way the C++ headers do.

    The hidden bit is always set (subnormals included) and the all-ones exponent is read as
    a number (so ±inf behaves like ±2**1024); zero maps to mantissa 0.
    """
    raw = values.view(np.uint64)
    biased = ((raw >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    fraction = (raw & np.uint64((1 << 52) - 1)).astype(np.int64)
    man = fraction | np.int64(1 << 52)
    man = np.where((raw >> np.uint64(63)) == 1, -man, man)
    man = np.where((raw & np.uint64((1 << 63) - 1)) == 0, 0, man)
    exp2 = biased - 1023 - 52
    return man, exp2


_SHORT_FIXED = re.compile(r"(u?)fixed<(\d+),(-?\d+)(?:,(\w+))?(?:,(\w+))?(?:,(\d+))?>")


def cpp_spelling(precision: object) -> str:
    """The C++ spelling of a precision (``ap_fixed<16,6,AP_TRN,AP_WRAP>``), also for hls4ml
    types wider than :data:`MAX_WIDTH`, which :func:`parse_type` refuses."""
    text = str(precision)
    try:
        return str(parse_type(text))
    except ValueError:
        match = _SHORT_FIXED.fullmatch(text)
        if match is None:
            return text
        sign, width, integer, quant, overflow, sat = match.groups()
        args = [width, integer, f"AP_{quant or 'TRN'}", f"AP_{overflow or 'WRAP'}"]
        if sat and sat != "0":
            args.append(sat)
        return f"ap_{sign}fixed<{','.join(args)}>"


def decimal_to_mantissa(token: str, ftype: FixedType) -> int:
    """ap_fixed's string constructor: the exact decimal value, quantized and overflowed by
    the type's modes (what ``std::istringstream(token) >> w`` does in the C simulation)."""
    value = Fraction(token.strip())
    scaled = value * (Fraction(2) ** ftype.frac_bits)
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    half = Fraction(1, 2)
    quant = ftype.quant
    if quant is QuantMode.AP_TRN:
        bump = False
    elif quant is QuantMode.AP_TRN_ZERO:
        bump = value < 0 and rest != 0
    elif quant is QuantMode.AP_RND:
        bump = rest >= half
    elif quant is QuantMode.AP_RND_ZERO:
        bump = rest > half or (rest == half and value < 0)
    elif quant is QuantMode.AP_RND_MIN_INF:
        bump = rest > half
    elif quant is QuantMode.AP_RND_INF:
        bump = rest > half or (rest == half and value > 0)
    else:
        bump = rest > half or (rest == half and floor % 2 == 1)
    mantissa = floor + int(bump)
    lo, hi = ftype.min_mantissa, ftype.max_mantissa
    if lo <= mantissa <= hi:
        return mantissa
    if ftype.overflow is OverflowMode.AP_WRAP and ftype.sat_bits == 0:
        mask = (1 << ftype.width) - 1
        bits = mantissa & mask
        return bits - (1 << ftype.width) if ftype.signed and bits >> (ftype.width - 1) else bits
    if ftype.overflow is OverflowMode.AP_SAT_ZERO:
        return 0
    return hi if mantissa > hi else lo
