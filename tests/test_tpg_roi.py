"""ROI windows (triggerml.tpg.roi): gathered from a stream's buffered blocks exactly as from
one array, zero-padded wherever the window leaves the buffer; pooled, summed and cast as
defined."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from triggerml.fixed import parse_type
from triggerml.tpg.roi import (
    InputKind,
    RoiConfig,
    _windows,
    inputs_and_window_sums,
    pool_and_sum,
)

CLUSTER = [("start", np.int64), ("end", np.int64), ("channel_min", np.int32)]
CLUSTER += [("channel_max", np.int32), ("n_hits", np.int32), ("adc_sum", np.int64)]


def reference(buffer: np.ndarray, first_tick: int, pedestals: np.ndarray, first_channel: int,
              clusters: np.ndarray, config: RoiConfig) -> np.ndarray:  # fmt: skip
    """One sample at a time, as the window is defined."""
    n_rows, n_ticks = buffer.shape
    out = np.zeros((clusters.size, config.channels, config.ticks))
    for i, cluster in enumerate(clusters):
        centre = (int(cluster["channel_min"]) + int(cluster["channel_max"])) // 2
        for r in range(config.channels):
            row = centre - first_channel - config.channels // 2 + r
            for t in range(config.ticks):
                col = int(cluster["start"]) - config.pre_ticks - first_tick + t
                if 0 <= row < n_rows and 0 <= col < n_ticks:
                    out[i, r, t] = float(buffer[row, col]) - float(pedestals[row])
    return out


@pytest.mark.parametrize("seed", range(3))
def test_windows_from_blocks_equal_one_array_and_the_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    config = RoiConfig(kind=InputKind.ROI2D, channels=8, ticks=24, pre_ticks=5, time_pool=4)
    lengths = [37, 1, 50]  # block edges inside windows, a one-tick block
    blocks = [rng.integers(0, 16384, (20, n), dtype=np.int16) for n in lengths]
    buffer = np.concatenate(blocks, axis=1)
    pedestals = rng.integers(0, 16384, 20)
    first_tick, first_channel = 1000, 300
    clusters = np.zeros(40, dtype=CLUSTER)
    # windows before, across and after the buffer in time; rows off both plane edges
    clusters["start"] = first_tick + rng.integers(-30, 100, clusters.size)
    clusters["channel_min"] = first_channel + rng.integers(-6, 26, clusters.size)
    clusters["channel_max"] = clusters["channel_min"] + rng.integers(0, 3, clusters.size)
    expected = reference(buffer, first_tick, pedestals, first_channel, clusters, config)
    for source in (blocks, buffer):
        got = _windows(config, source, first_tick, pedestals, first_channel, clusters, None, None)
        assert_array_equal(got, expected)
    assert np.count_nonzero(expected) > 0.3 * expected.size  # the test saw real samples


@pytest.mark.parametrize("pool", [1, 2, 4, 8])
def test_pooling_and_sums_equal_numpy_on_whole_counts(pool: int) -> None:
    """The fused kernel's max-pool and window sums against numpy's, sample values of both
    signs up to the ADC's full range (whole counts, as pedestal-subtracted windows are)."""
    rng = np.random.default_rng(pool)
    window = rng.integers(-16383, 16384, (57, 5, 8 * pool)).astype(np.float64)
    window[3] = 0.0  # a window wholly outside the buffer
    window[4, :, :pool] = -16383.0  # a group at its minimum
    pooled, sums = pool_and_sum(window, pool)
    expected = window.reshape(57, 5, 8, pool).max(axis=3)
    assert_array_equal(pooled, expected)
    assert_array_equal(sums, window.sum(axis=(1, 2)))


def test_inputs_are_the_scaled_pooled_windows_cast_to_the_input_type() -> None:
    """inputs = input_type.cast(max-pool(window / adc_scale)), the definition, on windows
    whose pixels overflow the input type both ways (saturating casts) and land off its grid."""
    rng = np.random.default_rng(7)
    config = RoiConfig(
        kind=InputKind.ROI2D, channels=6, ticks=16, pre_ticks=2, time_pool=4,
        input_type="ap_fixed<8,3,AP_RND_CONV,AP_SAT>", adc_scale=3.0,
    )  # fmt: skip
    buffer = rng.integers(0, 4096, (20, 80), dtype=np.int16)
    pedestals = rng.integers(1500, 2600, 20)
    clusters = np.zeros(30, dtype=CLUSTER)
    clusters["start"] = rng.integers(-10, 80, clusters.size)
    clusters["channel_min"] = rng.integers(-3, 20, clusters.size)
    clusters["channel_max"] = clusters["channel_min"] + 1
    inputs, sums = inputs_and_window_sums(config, buffer, 0, pedestals, 0, clusters, None, None)
    window = reference(buffer, 0, pedestals, 0, clusters, config)
    pooled = (window / config.adc_scale).reshape(30, 6, 4, 4).max(axis=3)
    ftype = parse_type(config.input_type)
    assert_array_equal(inputs, ftype.cast(pooled)[..., None])
    assert_array_equal(sums, window.sum(axis=(1, 2)))
    assert (inputs == ftype.max_value).any()
    assert (inputs == ftype.min_value).any()
