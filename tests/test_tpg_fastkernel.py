"""The fast TPG kernel equals the scalar reference hit for hit, state for state.

Random full-range samples, strip widths and block lengths off the kernel's tile and strip
grid, FIRs of every length (one to eight tap pairs), saturating sums, hits crossing tile,
strip and block edges, the plain-IR FIR sums beside pmaddwd, and the configurations it must
refuse.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from triggerml.tpg import HitFinder, TpgConfig
from triggerml.tpg.fastkernel import TILE, unsupported
from triggerml.tpg.lanes import LANES


def both(n_channels: int, config: dict) -> tuple[HitFinder, HitFinder]:
    return (
        HitFinder(n_channels, config, implementation="fast"),
        HitFinder(n_channels, config, implementation="scalar"),
    )


def assert_same_stream(adc: np.ndarray, config: dict, cuts: list[int]) -> int:
    """Stream ``adc`` cut at ``cuts`` through both kernels; every block's hits and the final
    state must be equal.  Returns the number of hits (so a test can check it saw some)."""
    fast, scalar = both(adc.shape[0], config)
    edges = [0, *cuts, adc.shape[1]]
    hits = 0
    for a, b in itertools.pairwise(edges):
        expected = scalar.process(adc[:, a:b])
        assert_array_equal(fast.process(adc[:, a:b]), expected)
        hits += expected.size
    assert_array_equal(fast._state, scalar._state)
    assert_array_equal(fast._hist, scalar._hist)
    return hits


CONFIGS = [
    {},
    {"absolute_value": True, "threshold_sigma": 8.0},
    {"threshold_mode": "absolute", "threshold": 30},
    {"threshold_sigma": 2.0, "iqr_accum_limit": 2, "accum_limit": 1, "min_threshold": 0},
    {"fir_taps": [3, -1, 7, 2, 7, -1, 3], "fir_shift": 5},  # negative taps, gain 24 / 32
    {"fir_taps": [1, 2, 3, 5, 3, 2, 2], "fir_shift": 5},  # seven taps, not symmetric
    {"fir_taps": [2, 5, 9, 5, 2], "fir_shift": 5},  # five taps: three pairs, one half empty
    # the int32 limit: gain 2^16 − 2, tap pairs summing to ±2^30
    {"fir_taps": [8191, 8192, 8192, 16384, 8192, 8192, 8191], "fir_shift": 16},
    {"fir_taps": [32767], "fir_shift": 15},  # one tap at the int16 limit: one pair
    {"fir_taps": [1, -2, 3, -4, 5, 6, 7, 8, 7, 6, 5, -4, 3, -2, 1], "fir_shift": 6},  # eight
    {"fir_taps": [1, 1, 2, 2, 3, 2, 2, 1, 1], "fir_shift": 4},  # nine taps: five pairs
    {"mode": "dunedaq", "threshold": 60},
    {"mode": "dunedaq", "threshold": 0, "initial_pedestal": 0},
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("adc_bits", [14, 15])
def test_random_full_range_samples(config: dict, adc_bits: int) -> None:
    """Uniform samples over the whole ADC range: pedestals at both rails, FIR sums at their
    extremes, most samples over threshold, dunedaq sums saturating."""
    rng = np.random.default_rng(adc_bits)
    top = (1 << adc_bits) - 1
    adc = rng.integers(0, top + 1, (8 * LANES + 13, 3 * TILE + 5), dtype=np.int16)
    adc[:3] = top  # rails
    adc[3:6] = 0
    hits = assert_same_stream(adc, {**config, "adc_bits": adc_bits}, [1, 2 * TILE - 3, TILE * 3])
    assert hits > 20


@pytest.mark.parametrize("config", CONFIGS)
def test_pulses_across_tile_group_and_block_edges(config: dict) -> None:
    """Noise with wide pulses that start before and end after every kind of edge."""
    rng = np.random.default_rng(5)
    n_channels, n_ticks = 2 * LANES + 3, 6 * TILE + 7
    adc = (900 + rng.normal(0, 3, (n_channels, n_ticks))).round().astype(np.int16)
    for channel in (0, 7, LANES - 1, LANES, 2 * LANES + 2):
        for centre in (TILE, 2 * TILE + 1, 4 * TILE - 1, n_ticks - 2):
            adc[channel, max(centre - 9, 0) : centre + 9] += 400 + 13 * channel % 50
    hits = assert_same_stream(adc, config, [TILE + 1, 4 * TILE - 2, 4 * TILE - 1])
    assert hits >= 10


def test_saturation_on_the_last_sample_of_a_tile() -> None:
    """A dunedaq hit whose sum saturates exactly at a tile's last sample closes there."""
    config = {"mode": "dunedaq", "threshold": 10, "initial_pedestal": 100}
    adc = np.full((9, 2 * TILE), 100, dtype=np.int16)
    adc[4, TILE - 5 : TILE + 10] = 100 + 65535 // 5 + 1  # the 5th sample passes 65535
    fast, scalar = both(9, config)
    hits = fast.process(adc)
    assert_array_equal(hits, scalar.process(adc))
    assert hits["adc_sum"][0] == 65535
    assert hits["start"][0] + hits["tot"][0] == TILE  # closed on the tile's last sample


def test_one_tick_blocks() -> None:
    rng = np.random.default_rng(9)
    adc = (900 + rng.normal(0, 40, (20, 70))).round().astype(np.int16)
    assert assert_same_stream(adc, {"mode": "dunedaq", "threshold": 60}, list(range(1, 70))) > 0


@pytest.mark.parametrize("config", [{}, {"mode": "dunedaq", "threshold": 60}])
def test_empty_blocks_change_nothing(config: dict) -> None:
    """A block of no ticks — first, or between others — leaves every state as it was: the
    pedestal still starts from the first real sample."""
    rng = np.random.default_rng(10)
    adc = (900 + rng.normal(0, 40, (20, 90))).round().astype(np.int16)
    assert assert_same_stream(adc, config, [0, 0, 30, 30, 31, 90]) > 0


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        (TpgConfig(coherent_group=64), "coherent-noise"),
        (TpgConfig(accum_limit=40_000), "int16"),
        (TpgConfig(initial_pedestal=20_000), "outside the ADC range"),
        (TpgConfig(fir_taps=(1 << 16, 1, 1)), "overflow int32"),
        (TpgConfig(fir_taps=(1, 40_000, 1)), "±32767"),
        (TpgConfig(fir_shift=0), "int16 threshold stage"),
        (TpgConfig(threshold_sigma=500.0), "quartile"),
    ],
)
def test_configs_it_cannot_run_take_the_scalar_kernel(config: TpgConfig, reason: str) -> None:
    assert reason in (unsupported(config) or "")
    assert HitFinder(4, config).implementation == "scalar"
    with pytest.raises(ValueError, match="use scalar"):
        HitFinder(4, config, implementation="fast")


def test_default_configs_run_fast() -> None:
    from triggerml.tpg.config import INDUCTION_TPG

    for config in (TpgConfig(), INDUCTION_TPG, TpgConfig(mode="dunedaq")):
        assert HitFinder(4, config).implementation == "fast"


def test_plain_ir_fir_sums_equal_the_scalar_kernel(tmp_path) -> None:
    """Without AVX2 the FIR's tap pairs are summed in plain vector IR: forced here in a fresh
    process (its own numba cache, as the compiled kernel is cached), it must equal the scalar
    kernel too."""
    script = """
import numpy as np
from triggerml.tpg import HitFinder, lanes
assert not lanes.USE_PMADDWD
rng = np.random.default_rng(5)
adc = rng.integers(0, 1 << 14, (37, 101), dtype=np.int16)
for config in ({}, {"fir_taps": [1, -2, 3, -4, 5, 6, 7, 8, 7, 6, 5, -4, 3, -2, 1],
                    "fir_shift": 6}, {"mode": "dunedaq"}):
    fast = HitFinder(37, config, implementation="fast")
    scalar = HitFinder(37, config, implementation="scalar")
    for a, b in ((0, 40), (40, 101)):
        assert np.array_equal(fast.process(adc[:, a:b]), scalar.process(adc[:, a:b]))
    assert np.array_equal(fast._state, scalar._state)
    assert np.array_equal(fast._hist, scalar._hist)
print("equal")
"""
    env = {**os.environ, "TRIGGERML_TPG_GENERIC": "1", "NUMBA_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "equal"
