"""The fixed-point tensor and the casts every kernel ends with (hls4ml's cast rules on int64
mantissas), and the checks for types wider than int64."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from triggerml.emulator.fastcast import requantize_fast
from triggerml.fixed import FixedType, wrap

EXACT_FLOAT = 2**53
EXACT_FLOAT32 = 2**24
CHUNK_ELEMENTS = 1 << 24  # bounds the temporary product arrays of the general path


@dataclass(frozen=True)
class Tensor:
    mantissa: npt.NDArray[np.int64]
    ftype: FixedType


def cast(x: Tensor, target: FixedType | None) -> Tensor:
    """``(target) x`` — or x unchanged when target is None (a wider type that holds x)."""
    if target is None:
        return x
    if target == x.ftype:
        return x
    return Tensor(requantize_fast(x.mantissa, x.ftype.frac_bits, target), target)


def _max_abs(ftype: FixedType) -> int:
    return max(abs(ftype.min_mantissa), abs(ftype.max_mantissa))


def _wrap(values: npt.NDArray[np.int64], ftype: FixedType) -> npt.NDArray[np.int64]:
    return wrap(values, ftype.width, ftype.signed)


def is_exact_identity(source: FixedType, wide: tuple[bool, int, int]) -> bool:
    """Does a type too wide for int64 (signed, width, integer) hold every ``source`` value?"""
    signed, width, integer = wide
    frac = width - integer
    if frac < source.frac_bits:
        return False
    if not signed and source.signed:
        return False
    return integer - int(signed) >= source.integer - int(source.signed)


def holds_values(
    source: FixedType, mantissas: npt.NDArray[np.int64], wide: tuple[bool, int, int]
) -> bool:
    """Does a wide type hold these particular values of ``source`` exactly?"""
    signed, width, integer = wide
    if width - integer < source.frac_bits:
        return False
    if mantissas.size == 0:
        return True
    low, high = int(mantissas.min()), int(mantissas.max())
    if not signed and low < 0:
        return False
    limit = 2 ** (integer - int(signed))  # |value| < limit
    scale = 2**source.frac_bits
    return bool(max(abs(low), abs(high)) < limit * scale)
