"""triggerml.detector.bitgen: a Generator rebuilt in numba from its addresses draws numpy's
numbers from the caller's generator and leaves it where numpy would."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from triggerml.detector.bitgen import addresses, generator_at


def _numpy_draws(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draws of every kind the simulator's kernels make, in a fixed order."""
    out = np.empty((n, 7))
    for i in range(n):
        out[i, 0] = rng.random()
        out[i, 1] = rng.uniform(-3.0, 7.5)
        out[i, 2] = rng.integers(0, 1000)
        out[i, 3] = rng.integers(0, 2**62)
        out[i, 4] = rng.poisson(0.3 + i % 50)  # both of numpy's Poisson algorithms
        out[i, 5] = rng.standard_normal()
        out[i, 6] = rng.integers(0, 2)
    return out


_jitted_draws = numba.njit(_numpy_draws)  # the same calls, numba's Generator methods


@numba.njit
def _mixed_draws(where: np.ndarray, n: int) -> np.ndarray:
    return _jitted_draws(generator_at(where), n)


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.SFC64, np.random.Philox])
def test_draws_from_addresses_are_numpys_and_advance_the_callers_generator(
    bit_generator: type,
) -> None:
    kernel_side = np.random.Generator(bit_generator(2026))
    numpy_side = np.random.Generator(bit_generator(2026))
    kernel_side.random(3)  # a generator part-way through its stream
    numpy_side.random(3)
    where = addresses(kernel_side)
    for n in (1, 700, 0, 300):  # the same addresses across calls
        np.testing.assert_array_equal(_mixed_draws(where, n), _numpy_draws(numpy_side, n))
    np.testing.assert_equal(kernel_side.bit_generator.state, numpy_side.bit_generator.state)
    # and numpy carries on from where the kernel left it
    assert kernel_side.integers(0, 2**32, 5).tolist() == numpy_side.integers(0, 2**32, 5).tolist()


def test_addresses_follow_the_generator_not_a_copy_of_its_state() -> None:
    rng = np.random.default_rng(5)
    where = addresses(rng)
    first = _mixed_draws(where, 10)
    second = _mixed_draws(where, 10)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(where, addresses(rng))
