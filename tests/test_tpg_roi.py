"""ROI windows (triggerml.tpg.roi): gathered from a stream's buffered blocks exactly as from
one array, zero-padded wherever the window leaves the buffer."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from triggerml.tpg.roi import InputKind, RoiConfig, _windows

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
