"""What the detector tests share: every independent background source off, and a quiet
scenario (no backgrounds, no pedestal spread) to change one thing at a time."""

from __future__ import annotations

import dataclasses

from triggerml.detector.catalogue import INDEPENDENT
from triggerml.detector.config import DetectorScenario, Readout

QUIET = dict.fromkeys(INDEPENDENT, 0.0)


def quiet_scenario(**changes: object) -> DetectorScenario:
    readout = Readout(pedestal_spread_adc_12bit=0.0)
    base = DetectorScenario(seconds=0.01, backgrounds=dict(QUIET), readout=readout)
    return dataclasses.replace(base, **changes)
