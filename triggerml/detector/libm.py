"""The simulator's transcendental functions, from the C library on every machine.

numpy picks its ``exp``, ``log``, ``power`` and friends at run time by CPU: on a machine with
AVX-512 its float64 ``exp`` and ``log`` are numpy's own SIMD loops, elsewhere the C
library's, and the two differ in the last bit for a few percent of inputs.  A last bit is
enough to change a rounded ADC count or, through a comparison in a Monte Carlo history, every
draw after it, so the same scenario and seed simulated different slices on different
machines (a study spread over unlike nodes mixed them).  These ufuncs call the C library's
functions by name (a numba external call: never numpy's loops, never a vector library such
as SVML), as ``math`` does and as the numba kernels do, so a seed gives the same slices on
every x86-64 machine with the same C library.

Use them for every float64 transcendental in :mod:`triggerml.detector`, and ``c_exp``,
``c_sin``, ``c_cos`` in its numba kernels where a numpy twin must match them;
``tests/test_detector_libm.py`` checks that no ``np.exp``-like call is left there.  (numba's
own ``math.exp`` is the same call unless numba finds Intel's SVML — the ``icc_rt`` package,
not a dependency — and vectorizes a loop with it.)
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import types

_UNARY = types.float64(types.float64)
c_exp: Any = types.ExternalFunction("exp", _UNARY)  # for numba kernels, as math.exp without SVML
_c_log: Any = types.ExternalFunction("log", _UNARY)
_c_log10: Any = types.ExternalFunction("log10", _UNARY)
c_sin: Any = types.ExternalFunction("sin", _UNARY)
c_cos: Any = types.ExternalFunction("cos", _UNARY)
_c_pow: Any = types.ExternalFunction("pow", types.float64(types.float64, types.float64))


@numba.vectorize(["float64(float64)"], cache=True)
def _exp(x: float) -> float:
    """The C library's ``exp``."""
    return c_exp(x)


@numba.vectorize(["float64(float64)"], cache=True)
def _log(x: float) -> float:
    """The C library's ``log``."""
    return _c_log(x)


@numba.vectorize(["float64(float64)"], cache=True)
def _log10(x: float) -> float:
    """The C library's ``log10``."""
    return _c_log10(x)


@numba.vectorize(["float64(float64)"], cache=True)
def _sin(x: float) -> float:
    """The C library's ``sin``."""
    return c_sin(x)


@numba.vectorize(["float64(float64)"], cache=True)
def _cos(x: float) -> float:
    """The C library's ``cos``."""
    return c_cos(x)


@numba.vectorize(["float64(float64, float64)"], cache=True)
def _power(x: float, y: float) -> float:
    """The C library's ``pow``."""
    return _c_pow(x, y)


# the plain numpy ufuncs numba compiled (calling numba's DUFunc wrappers costs ≈ 1 µs more)
exp: np.ufunc = _exp.ufunc
log: np.ufunc = _log.ufunc
log10: np.ufunc = _log10.ufunc
sin: np.ufunc = _sin.ufunc
cos: np.ufunc = _cos.ufunc
power: np.ufunc = _power.ufunc
