"""Structured-array gathers and joins on byte views give numpy's records exactly."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from triggerml import records

PACKED = np.dtype(
    [("id", np.int64), ("kind", "S16"), ("flag", np.int8), ("t0", np.float64), ("q", np.float32)]
)


def _random_records(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros(n, PACKED)
    out["id"] = rng.integers(-(2**62), 2**62, n)
    out["kind"] = [f"k{v}".encode() for v in rng.integers(0, 10**9, n)]
    out["flag"] = rng.integers(-128, 128, n)
    out["t0"] = rng.normal(0, 1e6, n)
    out["q"] = rng.normal(0, 1e3, n).astype(np.float32)
    return out


@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_take_equals_numpy_for_integer_and_boolean_indices(n: int) -> None:
    values = _random_records(n, seed=n)
    rng = np.random.default_rng(1)
    order = rng.permutation(n)
    mask = rng.random(n) < 0.4
    for index in (order, mask, order[: n // 2], np.zeros(0, np.int64)):
        result = records.take(values, index)
        assert result.dtype == values.dtype
        assert_array_equal(result, values[index])
        assert result.tobytes() == values[index].tobytes()


def test_take_from_a_strided_view_and_an_aligned_dtype() -> None:
    values = _random_records(100, seed=3)
    strided = values[::3]
    assert_array_equal(records.take(strided, np.arange(strided.size)[::-1]), strided[::-1])
    aligned = values.astype(np.dtype(PACKED.descr, align=True))
    assert_array_equal(records.take(aligned, aligned["flag"] > 0), aligned[aligned["flag"] > 0])


def test_concatenate_equals_numpy_and_leaves_mixed_dtypes_to_numpy() -> None:
    parts = [_random_records(n, seed=n) for n in (0, 5, 300, 1)]
    joined = records.concatenate(parts)
    assert joined.dtype == PACKED
    assert joined.tobytes() == np.concatenate(parts).tobytes()
    plain = [np.arange(3), np.arange(4.0)]
    assert_array_equal(records.concatenate(plain), np.concatenate(plain))
    # same field names, other layout: numpy's own (field-wise) promotion decides
    other = np.zeros(2, np.dtype(PACKED.descr, align=True))
    assert_array_equal(records.concatenate([parts[1], other]), np.concatenate([parts[1], other]))


def test_byte_views_run_no_python_helper_that_swallows_signals() -> None:
    """Making a ``void`` dtype calls numpy's Python helper ``npy_ctypes_check`` and discards
    its exceptions, so a signal handler raising there (Ctrl-C, SIGTERM) was lost: the
    simulator's every-window gathers and joins must not call it after their first use.
    (numpy's ``_view_is_safe`` still runs; its exceptions propagate.)"""
    import sys

    dtype = np.dtype([("a", np.int64), ("b", np.float32), ("c", "S3")])
    parts = [np.zeros(5, dtype), np.ones(3, dtype)]
    records.concatenate(parts)  # the first use may make the dtype
    numpy_calls: list[str] = []

    def profile(frame: object, event: str, arg: object) -> None:
        code = frame.f_code  # type: ignore[attr-defined]
        if event == "call" and f"{np.__name__}/" in code.co_filename.replace("\\", "/"):
            numpy_calls.append(code.co_name)

    sys.setprofile(profile)
    try:
        joined = records.concatenate(parts)
        taken = records.take(joined, np.array([6, 0]))
    finally:
        sys.setprofile(None)
    assert "npy_ctypes_check" not in numpy_calls, numpy_calls
    assert taken.tobytes() == np.concatenate(parts)[[6, 0]].tobytes()
