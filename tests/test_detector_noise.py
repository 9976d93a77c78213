"""The noise pass (triggerml.detector.noise.fill_slice): its int16 arithmetic, used when the
pedestal and the noise banks cannot leave int16, writes the samples the int32 one writes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from triggerml.detector.config import DetectorScenario, Readout, Supernova
from triggerml.detector.noise import int16_holds
from triggerml.detector.stream import ApaStream


@pytest.mark.parametrize("adc_bits", [12, 14])
def test_int16_and_int32_noise_passes_write_the_same_samples(adc_bits: int) -> None:
    """A close supernova and a huge point deposit on top (signal rendering and clipping at
    the ADC's top included)."""
    scenario = dataclasses.replace(
        DetectorScenario(seed=4, readout=Readout(adc_bits=adc_bits)),
        seconds=0.012,
        supernova=Supernova(distance_kpc=0.3, duration_s=0.012),
    )
    narrow, wide = ApaStream(scenario), ApaStream(scenario)
    assert int16_holds(narrow.pedestals, narrow._noise_reach)  # the int16 pass runs here
    wide._noise_reach = 1 << 20  # forces the int32 pass
    for stream in (narrow, wide):  # 300 MeV at one point 5 cm from the wires: saturates
        stream.inject(np.array([[5.0, 300.0, 100.0, 300.0]]), time_tick=5000)
    clipped = 0
    for a, b in zip(narrow, wide, strict=True):
        assert_array_equal(a.adc, b.adc)
        clipped += int((a.adc == scenario.readout.adc_max).sum())
    assert clipped > 0  # the clipping path ran
