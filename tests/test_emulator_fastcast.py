"""The numba casts (triggerml.emulator.fastcast) equal triggerml.fixed's reference casts."""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_array_equal


def test_fast_casts_equal_the_reference() -> None:
    import itertools

    from triggerml.emulator.fastcast import mantissa_from_double, requantize_fast
    from triggerml.fixed import FixedType, OverflowMode, QuantMode, requantize

    rng = np.random.default_rng(0)
    for q, o in itertools.product(QuantMode, OverflowMode):
        for signed, (w, i, sat) in itertools.product(
            (True, False), [(8, 3, 0), (1, 1, 0), (12, -2, 0), (40, 25, 0), (16, 6, 2)]
        ):
            target = FixedType(w, i, signed, q, o, sat)
            m = rng.integers(-(2**40), 2**40, 2000)
            for frac in (-3, 0, 7, 30):
                assert_array_equal(requantize_fast(m, frac, target), requantize(m, frac, target))
            lsb = 2.0 ** (i - w)
            values = np.concatenate(
                [
                    rng.normal(0, 2.0 ** (i + 1), 2000),
                    (rng.integers(-(2**w), 2**w, 500) + 0.5) * lsb,  # ties
                    [0.0, -0.0, 5e-324, -5e-324, 2.2e-308, -1e-310, 1e300, -1e300],
                    [np.inf, -np.inf, 2.0**62, -(2.0**63), 2.0**80 + 2.0**30],
                ]
            )
            expected = target.mantissa(values)
            assert_array_equal(mantissa_from_double(values, target), expected)
            if len(str(q)) + len(str(o)) + w in (17, 22):  # 1 type in ~25 (a compile
                # each): the emulator's kernel, specialized per type, and its serial form
                assert_array_equal(mantissa_from_double(values, target, True), expected)
                serial = mantissa_from_double(values, target, parallel=False)
                assert_array_equal(serial, expected)
