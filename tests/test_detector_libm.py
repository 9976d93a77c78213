"""triggerml.detector.libm: the simulator's transcendentals are the C library's, bit for bit,
on every machine — and the simulator calls no numpy transcendental that could pick a SIMD
loop by CPU instead."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numba
import numpy as np
import pytest

import triggerml.detector
from triggerml.detector import libm

# numpy ufuncs whose float64 loops numpy may choose by CPU (its own SIMD code or SVML on
# AVX-512 / AVX2 machines, the C library elsewhere)
DISPATCHED = {
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sin", "cos", "tan", "arcsin",
    "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
    "power", "float_power", "cbrt", "hypot", "logaddexp", "logaddexp2",
}  # fmt: skip


def _inputs() -> np.ndarray:
    rng = np.random.default_rng(20261206)
    special = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, 5e-324, -5e-324, 709.78, 709.79, -745.2,
               -745.1, 1e300, -1e300, np.inf, -np.inf, math.pi, 1e22, 2.0**-1022]  # fmt: skip
    return np.concatenate(
        [
            special,
            rng.uniform(-20, 20, 4000),
            rng.standard_normal(2000) * 700,
            10 ** rng.uniform(-300, 300, 2000),
        ]
    )


def _same_bits(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


@pytest.mark.parametrize(
    ("ufunc", "scalar"),
    [
        (libm.exp, math.exp),
        (libm.log, math.log),
        (libm.log10, math.log10),
        (libm.sin, math.sin),
        (libm.cos, math.cos),
    ],
)
def test_unary_functions_are_the_c_librarys(ufunc: np.ufunc, scalar: object) -> None:
    x = _inputs()
    want = np.zeros_like(x)
    defined = np.ones(x.size, dtype=bool)  # math raises where C returns inf or nan
    for i, v in enumerate(x):
        try:
            want[i] = scalar(v)  # type: ignore[operator]
        except (ValueError, OverflowError):
            defined[i] = False
    with np.errstate(all="ignore"):
        got = ufunc(x)
    assert got.dtype == np.float64
    assert defined.sum() > 0.5 * x.size
    _same_bits(got[defined], want[defined])
    assert ufunc(np.float32(2.0)) == scalar(2.0)  # type: ignore[operator]  # float32 in: float64 out


def test_power_is_the_c_librarys_pow() -> None:
    rng = np.random.default_rng(3)
    base = np.concatenate([10 ** rng.uniform(-5, 5, 3000), [0.0, 1.0, 2.0, 0.5]])
    exponent = np.concatenate([rng.uniform(-6, 6, 3000), [4.0, 4.0, 4.0, 4.0]])
    want = np.array([math.pow(b, e) for b, e in zip(base, exponent, strict=True)])
    _same_bits(libm.power(base, exponent), want)
    _same_bits(libm.power(base, 4.0), np.array([math.pow(b, 4.0) for b in base]))


@numba.njit
def _in_kernel(x: np.ndarray) -> np.ndarray:
    out = np.empty((3, x.size))
    for i in range(x.size):
        out[0, i] = libm.c_exp(x[i])
        out[1, i] = libm.c_sin(x[i])
        out[2, i] = libm.c_cos(x[i])
    return out


def test_the_kernels_exp_sin_cos_are_the_c_librarys() -> None:
    x = np.random.default_rng(4).uniform(-40, 40, 5000)
    got = _in_kernel(x)
    for row, scalar in enumerate((math.exp, math.sin, math.cos)):
        _same_bits(got[row], np.array([scalar(v) for v in x]))


def test_the_simulator_calls_no_numpy_transcendental() -> None:
    """Every ``np.exp``-like call in triggerml.detector goes through :mod:`libm`: numpy
    would pick its loop by CPU, and the same seed would simulate other slices on another
    machine."""
    package = Path(triggerml.detector.__file__).parent
    found = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("np", "numpy")
                and node.attr in DISPATCHED
            ):
                found.append(f"{path.name}:{node.lineno} np.{node.attr}")
    assert not found, found


def test_manifests_name_the_c_library_the_bits_depend_on() -> None:
    """Slices are bit-identical between machines sharing the C library: every manifest's
    versions say which one made them."""
    import platform

    from triggerml.io import versions

    libc, version = platform.libc_ver()
    assert versions()["libc"] == (f"{libc} {version}" if libc else None)
    if libc:
        assert version in versions()["libc"]  # type: ignore[operator]
