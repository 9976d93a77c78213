"""Detector conditions (triggerml.detector.conditions): dead, noisy and stuck channels change
the data; coherent-noise bursts hit one group."""

from __future__ import annotations

import numpy as np
import pytest
from detector_support import QUIET

from triggerml.detector.config import Conditions, DetectorScenario, Readout
from triggerml.detector.stream import ApaStream


def test_conditions_change_the_data() -> None:
    conditions = Conditions(
        dead_channels=(10, 11),
        noisy_channels=(1700,),
        noisy_factor=4.0,
        stuck_bit_channels=(1800,),
        stuck_fraction=0.5,
        pedestal_drift_adc_per_s=2000.0,
    )
    readout = Readout(pedestal_spread_adc_12bit=0.0)
    scenario = DetectorScenario(
        seconds=0.01, backgrounds=dict(QUIET), readout=readout, conditions=conditions
    )
    stream = ApaStream(scenario)
    first = stream.next_slice()
    for _ in range(3):
        last = stream.next_slice()
    adc = first.adc
    assert np.all(adc[10] == stream.pedestals[10])
    assert np.all(adc[11] == stream.pedestals[11])
    normal = adc[1701].std()
    assert adc[1700].std() == pytest.approx(4.0 * normal, rel=0.15)
    stuck = (adc[1800] & 0x3F) == 0x3F
    assert 0.45 < stuck.mean() < 0.6  # half forced, plus 1/64 by chance
    drift = np.median(last.adc[2000]) - np.median(adc[2000])
    seconds = (last.start_tick - first.start_tick) * readout.tick_ns * 1e-9
    assert drift == pytest.approx(2000.0 * seconds, abs=3)


def test_coherent_bursts_hit_one_group() -> None:
    conditions = Conditions(coherent_noise_rate_hz=2000.0, coherent_noise_amplitude_adc=400.0)
    readout = Readout(pedestal_spread_adc_12bit=0.0)
    scenario = DetectorScenario(
        seconds=0.01, backgrounds=dict(QUIET), readout=readout, conditions=conditions
    )
    stream = ApaStream(scenario)
    adc = stream.next_slice().adc.astype(int) - stream.pedestals[:, None]
    loud = np.flatnonzero(np.abs(adc).max(axis=1) > 250)
    assert loud.size >= 64
    assert all(
        np.isin(np.arange(g * 64, g * 64 + 64), loud).mean() > 0.9 for g in np.unique(loud // 64)
    )
