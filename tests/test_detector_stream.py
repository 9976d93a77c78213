"""The APA stream (triggerml.detector.stream): MIP signal-to-noise, pulses continuous across
slices, seeds, ADC saturation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from detector_support import quiet_scenario
from numpy.testing import assert_array_equal

from triggerml.detector.config import (
    DetectorScenario,
    Physics,
    Readout,
)
from triggerml.detector.drift import CLUSTER_DTYPE as DRIFT_CLUSTER_DTYPE
from triggerml.detector.response import ResponseTemplates, sigma_index
from triggerml.detector.sources import TRUTH_DTYPE
from triggerml.detector.stream import ApaStream, _channel_major, _set_extents


def _mip_track(scenario: DetectorScenario, x_cm: float, length_cm: float = 20.0) -> np.ndarray:
    """Deposits of a minimum-ionizing track along z (across the collection wires)."""
    step = 0.05
    z = np.arange(30.0, 30.0 + length_cm, step)
    deposits = np.zeros((z.size, 4))
    deposits[:, 0] = x_cm
    deposits[:, 1] = 300.0
    deposits[:, 2] = z
    deposits[:, 3] = scenario.physics.dedx_mev_per_cm * step
    return deposits


def test_mip_track_gives_the_configured_signal_to_noise() -> None:
    scenario = quiet_scenario()
    stream = ApaStream(scenario)
    x_cm = 100.0
    stream.inject(_mip_track(scenario, x_cm), time_tick=500, kind="mip")
    slice_ = stream.next_slice()
    g, ph, ro = scenario.geometry, scenario.physics, scenario.readout
    # expected collection peak from the config alone
    drift_us = x_cm * 10 / g.drift_velocity_mm_per_us
    electrons = (
        ph.dedx_mev_per_cm
        * g.pitch_x_mm
        / 10
        * 1e6
        / ph.w_ion_ev
        * ph.recombination
        * np.exp(-drift_us / (ph.electron_lifetime_ms * 1e3))
    )
    sigma = (
        np.sqrt(2 * ph.diffusion_long_cm2_s * drift_us * 1e-6)
        * 10
        / (g.drift_velocity_mm_per_us * ro.tick_ns / 1e3)
    )
    templates = ResponseTemplates.build(ro).templates
    peak_per_electron = templates[1, sigma_index(sigma)].max()
    expected_sn = electrons * peak_per_electron / ro.noise_rms("x")
    # measured: the track's interior collection wires (channels along z on face 0)
    first_x = g.first_channel["x"]
    wires = np.arange(int(32 / (g.pitch_x_mm / 10)), int(48 / (g.pitch_x_mm / 10)))
    rows = slice_.adc[first_x + wires].astype(np.float64) - stream.pedestals[first_x + wires, None]
    measured_sn = rows.max(axis=1).mean() / ro.noise_rms("x")
    assert 30 < expected_sn < 120  # DESIGN.md §4: S/N ≈ 50 on collection
    assert measured_sn == pytest.approx(expected_sn, rel=0.08)


def test_a_pulse_across_a_slice_boundary_is_continuous() -> None:
    quiet = dataclasses.replace(
        Readout(pedestal_spread_adc_12bit=0.0),
        enc_electrons=Readout().enc_electrons.__class__(0.0, 0.0, 0.0),
        coherent_fraction=0.0,
    )
    deposits = np.array([[50.0, 200.0, 100.0, 2.0], [-80.0, 300.0, 50.0, 3.0]])
    outputs = []
    for ticks in (4096, 8192):
        scenario = quiet_scenario(readout=quiet, slice_ticks=ticks)
        stream = ApaStream(scenario)
        # drift of 50 cm ≈ 610 ticks: arrival just before the 4096 boundary
        stream.inject(deposits, time_tick=4096 - 620)
        outputs.append(
            np.concatenate([stream.next_slice().adc for _ in range(8192 // ticks)], axis=1)
        )
    assert np.abs(outputs[1].astype(int) - np.median(outputs[1], axis=1)[:, None]).max() > 50
    assert_array_equal(outputs[0], outputs[1])


def test_same_seed_same_stream_other_apa_other_stream() -> None:
    scenario = DetectorScenario(seconds=0.003)
    a = ApaStream(scenario, apa=0).next_slice()
    b = ApaStream(scenario, apa=0).next_slice()
    c = ApaStream(scenario, apa=1).next_slice()
    assert_array_equal(a.adc, b.adc)
    assert_array_equal(a.truth, b.truth)
    assert not np.array_equal(a.adc, c.adc)


def test_adc_saturates_at_the_range() -> None:
    scenario = quiet_scenario(physics=Physics(recombination=1.0))
    stream = ApaStream(scenario)
    blob = np.array([[5.0, 300.0, 100.0, 400.0]])  # 400 MeV in one point
    stream.inject(blob, time_tick=100)
    adc = stream.next_slice().adc
    assert adc.max() == scenario.readout.adc_max
    assert adc.min() >= 0


@pytest.mark.parametrize("seed", range(4))
def test_channel_major_order_is_lexsort_by_channel_then_time(seed: int) -> None:
    """numpy's lexsort order — ties (same channel and arrival) in index order — and each
    channel's first position."""
    rng = np.random.default_rng(seed)
    n, n_ch = 3000, 400
    channel = rng.integers(0, n_ch, n).astype(np.int32)
    channel[:600] = 7  # a track along one wire: the long-run sort
    t0 = rng.choice(rng.uniform(0, 100, 50), n)  # many ties
    t0[:300] = np.sort(t0[:300])[::-1]  # arriving in reverse
    order, pointer = _channel_major(channel, t0, n_ch)
    assert_array_equal(order, np.lexsort((t0, channel)))
    assert_array_equal(pointer, np.searchsorted(channel[order], np.arange(n_ch + 1)))
    empty, none = _channel_major(channel[:0], t0[:0], n_ch)
    assert empty.size == 0
    assert not none.any()


def test_event_extents_are_the_collection_clusters_extremes() -> None:
    rng = np.random.default_rng(9)
    n, n_events, first_id = 2000, 60, 1000
    clusters = np.zeros(n, dtype=DRIFT_CLUSTER_DTYPE)
    clusters["event"] = first_id + rng.integers(0, n_events - 5, n)  # the last five: none
    clusters["collection"] = rng.integers(0, 2, n)
    clusters["channel"] = rng.integers(0, 2560, n)
    clusters["t0"] = rng.uniform(-5, 9000, n)
    truth = np.zeros(n_events, dtype=TRUTH_DTYPE)
    _set_extents(truth, clusters, first_id)
    for event in range(n_events):
        mine = clusters[(clusters["event"] == first_id + event) & (clusters["collection"] == 1)]
        got = [truth[event][k] for k in ("channel_min", "channel_max", "tick_min", "tick_max")]
        if mine.size == 0:
            assert got == [-1, -1, -1, -1]
            continue
        ticks = np.floor(mine["t0"]).astype(np.int64)
        assert got == [mine["channel"].min(), mine["channel"].max(), ticks.min(), ticks.max()]
