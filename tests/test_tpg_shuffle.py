"""The 8 × 8 int16 vector-shuffle transpose equals NumPy's, at any offset, over the full range."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from triggerml.tpg.shuffle import transpose8x8


@numba.njit
def _blocks(src: np.ndarray, dst: np.ndarray, at: np.ndarray) -> None:
    for k in range(at.shape[0]):
        transpose8x8(src, at[k, 0], at[k, 1], dst, at[k, 2], at[k, 3])


@pytest.mark.parametrize("seed", range(4))
def test_blocks_at_random_offsets_equal_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    src = rng.integers(-32768, 32768, (37, 53), dtype=np.int16)
    src[0, :] = np.iinfo(np.int16).min
    src[:, 0] = np.iinfo(np.int16).max
    for _ in range(20):
        dst = rng.integers(-5, 5, (41, 29), dtype=np.int16)
        before = dst.copy()
        r, c = rng.integers(0, 37 - 7), rng.integers(0, 53 - 7)
        dr, dc = rng.integers(0, 41 - 7), rng.integers(0, 29 - 7)
        _blocks(src, dst, np.array([[r, c, dr, dc]]))
        expected = before.copy()
        expected[dr : dr + 8, dc : dc + 8] = src[r : r + 8, c : c + 8].T
        assert_array_equal(dst, expected)  # the block, and nothing outside it


def test_a_row_slice_of_a_wider_array() -> None:
    """The TPG passes a plane's rows of the whole APA: rows strided by the full width."""
    whole = np.arange(20 * 16, dtype=np.int16).reshape(20, 16)
    plane = whole[4:]
    dst = np.zeros((8, 8), np.int16)
    _blocks(plane, dst, np.array([[3, 8, 0, 0]]))
    assert_array_equal(dst, whole[7:15, 8:16].T)
