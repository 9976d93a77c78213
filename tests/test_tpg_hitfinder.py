"""TPG: hand-made waveforms, streaming across blocks, noise rate, implementations agree."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from triggerml.config import ConfigError
from triggerml.tpg import HitFinder, TpgConfig, find_hits
from triggerml.tpg.config import DEFAULT_TAPS
from triggerml.tpg.verify import stress_samples

DUNEDAQ = {"mode": "dunedaq", "threshold": 50, "accum_limit": 10, "initial_pedestal": 900}


def flat(n_channels: int, n_ticks: int, level: int = 900) -> np.ndarray:
    return np.full((n_channels, n_ticks), level, dtype=np.int16)


def test_square_pulse_dunedaq_fields_exact() -> None:
    adc = flat(2, 60)
    adc[1, 10:15] = 1000
    hits = find_hits(adc, DUNEDAQ)
    assert hits.tolist() == [(1, 10, 5, 10, 100, 500)]


def test_first_maximum_is_the_peak() -> None:
    adc = flat(1, 40)
    adc[0, 5:12] = [960, 990, 1010, 980, 1010, 970, 955]
    (hit,) = find_hits(adc, DUNEDAQ)
    assert (hit["start"], hit["tot"], hit["peak_time"], hit["peak_adc"]) == (5, 7, 7, 110)
    assert hit["adc_sum"] == sum(v - 900 for v in [960, 990, 1010, 980, 1010, 970, 955])


def test_threshold_is_strict() -> None:
    adc = flat(1, 30)
    adc[0, 5:8] = 950  # s == T: not over threshold
    adc[0, 15:18] = 951
    hits = find_hits(adc, DUNEDAQ)
    assert hits["start"].tolist() == [15]


def test_square_pulse_fir_matches_the_formula() -> None:
    adc = flat(1, 80)
    adc[0, 20:30] = 1500
    config = {
        "mode": "fir",
        "threshold_mode": "absolute",
        "threshold": 100,
        "initial_pedestal": 900,
    }
    (hit,) = find_hits(adc, config)
    s = np.zeros(80, dtype=np.int64)
    s[20:30] = 600  # the pedestal moves by at most 1 in 10 samples: check below
    taps = np.array(DEFAULT_TAPS)
    f = np.array([sum(taps[k] * s[n - k] for k in range(7) if n - k >= 0) >> 6 for n in range(80)])
    over = np.flatnonzero(f > 100)
    assert hit["start"] == over[0] - 3  # FIR delay
    assert hit["tot"] == over.size
    assert hit["peak_adc"] == f.max()
    assert hit["peak_time"] == np.argmax(f) - 3
    assert hit["adc_sum"] == f[over].sum()


def test_saturating_sum_closes_the_hit_on_that_sample() -> None:
    adc = flat(1, 40)
    adc[0, 10:25] = 16383  # s = 15483 per sample: 65535 reached on the 5th sample
    hits = find_hits(adc, DUNEDAQ)
    assert hits[0].tolist() == (0, 10, 5, 10, 15483, 65535)
    assert hits[1].tolist() == (0, 15, 5, 15, 15483, 65535)
    assert hits[2]["start"] == 20


def test_open_hit_is_carried_to_the_next_block() -> None:
    adc = flat(1, 100)
    adc[0, 45:60] = 1000
    assert find_hits(adc[:, :50], DUNEDAQ).size == 0  # still open at the block's end
    finder = HitFinder(1, DUNEDAQ)
    assert finder.process(adc[:, :50]).size == 0
    (hit,) = finder.process(adc[:, 50:])
    (whole,) = find_hits(adc, DUNEDAQ)
    # the 11th sample above the pedestal (sample 55) lifts it by one: 10 × 100 + 5 × 99
    assert hit.tolist() == whole.tolist() == (0, 45, 15, 45, 100, 1495)


@pytest.mark.parametrize("mode", ["fir", "dunedaq"])
def test_blocks_of_any_size_give_the_same_hits(mode: str) -> None:
    rng = np.random.default_rng(1)
    adc = (900 + rng.normal(0, 8, (16, 3000))).astype(np.int16)
    for _ in range(40):
        ch, t = rng.integers(0, 16), rng.integers(0, 2950)
        adc[ch, t : t + 12] += np.int16(rng.integers(60, 400))
    config = {"mode": mode, "threshold": 40}
    whole = HitFinder(16, config).process(adc)
    finder = HitFinder(16, config)
    pieces = [
        finder.process(adc[:, a:b]) for a, b in [(0, 7), (7, 1000), (1000, 1001), (1001, 3000)]
    ]
    assert_array_equal(np.sort(np.concatenate(pieces), order=["channel", "start"]), whole)


def test_pedestal_converges_from_an_offset() -> None:
    rng = np.random.default_rng(2)
    adc = (3600 + rng.normal(0, 16, (4, 20_000))).round().astype(np.int16)
    finder = HitFinder(4, {"mode": "dunedaq", "threshold": 200, "initial_pedestal": 3400})
    finder.process(adc[:, :1100])
    early = finder.pedestals
    finder.process(adc[:, 1100:])
    assert np.all(early < 3550)  # ≈ one step per (limit + 1) samples: 100 steps by now
    assert np.all(np.abs(finder.pedestals - 3600) <= 2)


def test_no_hits_on_noise_at_five_sigma() -> None:
    from triggerml.detector.catalogue import INDEPENDENT
    from triggerml.detector.config import DetectorScenario, Readout
    from triggerml.detector.stream import ApaStream

    quiet = dict.fromkeys(INDEPENDENT, 0.0)
    scenario = DetectorScenario(seconds=0.04, backgrounds=quiet, readout=Readout())
    stream = ApaStream(scenario)
    finder = HitFinder(960, TpgConfig())
    for _ in range(4):  # let the quartiles settle
        finder.process(stream.next_slice().adc[1600:])
    hits = sum(finder.process(s.adc[1600:]).size for s in stream)
    samples = 960 * 4096 * (scenario.n_slices - 4)
    # Gaussian noise above ≈5σ (σ of the filtered noise, from the tracked IQR): ≈1e-6 per
    # sample, correlated noise included; a 4σ threshold gives ≈1e-5, 3σ ≈1e-3
    assert hits / samples < 3e-6, hits


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"threshold_mode": "absolute", "threshold": 30},
        {"absolute_value": True},
        {"threshold_sigma": 3.0, "iqr_accum_limit": 4, "accum_limit": 3},
        {"fir_taps": [1, 2, 1], "fir_shift": 2},
        {"mode": "dunedaq", "threshold": 60},
        {"mode": "dunedaq", "threshold": 20, "initial_pedestal": 3500},
    ],
)
def test_fast_and_scalar_agree(config: dict, sim_block: np.ndarray) -> None:
    fast = HitFinder(sim_block.shape[0], config, implementation="fast")
    scalar = HitFinder(sim_block.shape[0], config, implementation="scalar")
    for a, b in [(0, 2048), (2048, 3000), (3000, 4096)]:
        assert_array_equal(fast.process(sim_block[:, a:b]), scalar.process(sim_block[:, a:b]))
    assert_array_equal(fast.pedestals, scalar.pedestals)


@pytest.fixture(scope="module")
def sim_block() -> np.ndarray:
    from triggerml.detector.config import DetectorScenario, Supernova
    from triggerml.detector.stream import ApaStream

    scenario = dataclasses.replace(
        DetectorScenario(seed=8),
        seconds=0.01,
        supernova=Supernova(distance_kpc=1.0, duration_s=0.01),
    )
    adc = ApaStream(scenario).next_slice().adc[1600:1700]  # 100 rows: one partial lane group
    return stress_samples(adc, np.random.default_rng(0), 16383)


def test_coherent_noise_subtraction_removes_a_common_wave() -> None:
    rng = np.random.default_rng(3)
    common = (60 * np.sin(np.arange(4000) / 30.0)).astype(np.int16)
    adc = (2000 + rng.normal(0, 4, (64, 4000))).astype(np.int16) + common
    plain = find_hits(adc, {"threshold_mode": "absolute", "threshold": 30})
    cns = find_hits(adc, {"threshold_mode": "absolute", "threshold": 30, "coherent_group": 64})
    assert plain.size > 100
    assert cns.size == 0


@pytest.mark.parametrize(
    ("adc", "message"),
    [
        (np.full((2, 10), 20000, dtype=np.int32), "outside 0..16383"),
        (np.full((2, 10), 20000, dtype=np.uint16), "outside 0..16383"),
        (np.full((2, 10), -1, dtype=np.int16), "outside 0..16383"),
        (np.zeros(10, dtype=np.int16), "2-D"),
        (np.zeros((2, 10), dtype=np.float32), "integers"),
    ],
)
def test_bad_blocks_are_clear_errors(adc: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        find_hits(adc)


def test_bad_config_names_the_key() -> None:
    with pytest.raises(ConfigError, match="unknown config key 'treshold'"):
        find_hits(flat(1, 10), {"treshold": 5})
    with pytest.raises(ConfigError, match="initial_pedestal"):
        find_hits(flat(1, 10), {"initial_pedestal": "median"})
    with pytest.raises(ConfigError, match="coherent_group"):
        find_hits(flat(1, 10), {"coherent_group": 48})


def test_unsigned_samples_give_the_hits_of_the_same_signed_samples() -> None:
    """Raw WIB samples are unsigned: uint16 and int64 blocks are read as the int16 ones."""
    rng = np.random.default_rng(4)
    adc = stress_samples(rng.integers(0, 16384, (6, 300)).astype(np.int16), rng, 16383)
    expected = find_hits(adc.astype(np.int16))
    assert expected.size > 0
    for dtype in (np.uint16, np.int64):
        assert_array_equal(find_hits(adc.astype(dtype)), expected)


@pytest.mark.parametrize("implementation", ["fast", "scalar"])
@pytest.mark.parametrize("adc_bits", [14, 12])
def test_one_stray_sample_anywhere_is_the_range_error_and_loses_nothing(
    implementation: str, adc_bits: int
) -> None:
    """The fast kernel checks the range in its own pass over the samples: a single sample
    past the ADC's bits — in a partial strip's last lane, in a partial tile's last tick, or
    negative — is the one-line error, and the stream goes on as if that block never came."""
    rng = np.random.default_rng(adc_bits)
    top = (1 << adc_bits) - 1
    config = {"adc_bits": adc_bits}
    good = rng.integers(0, top + 1, (37, 101)).astype(np.int16)
    reference = HitFinder(37, config, implementation=implementation)
    expected = [reference.process(good), reference.process(good)]
    for channel, tick, value in ((36, 100, top + 1), (0, 0, -1), (17, 64, 1 << 14)):
        for dtype in (np.int16, np.uint16, np.int64):
            if value < 0 and dtype is np.uint16:
                continue
            bad = good.astype(dtype)
            bad[channel, tick] = value
            finder = HitFinder(37, config, implementation=implementation)
            assert_array_equal(finder.process(good), expected[0])
            with pytest.raises(ValueError, match=f"outside 0..{top}"):
                finder.process(bad)
            assert_array_equal(finder.process(good), expected[1])
