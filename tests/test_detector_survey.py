"""The background survey (triggerml.detector.survey): pile-up groups."""

from __future__ import annotations

import numpy as np
import pytest

from triggerml.detector.catalogue import INDEPENDENT
from triggerml.detector.config import DetectorScenario


def test_pile_up_counts_groups_that_only_their_sum_lifts_over_a_threshold() -> None:
    """Ar-39 alone (Q = 0.565 MeV) at 3× its activity: no single decay reaches 1 MeV, so
    every group of coincident decays above 1 MeV is pile-up."""
    from triggerml.detector.survey import quiet, simulate_pileup

    silent = dict.fromkeys(INDEPENDENT, 0.0)
    scenario = quiet(DetectorScenario(backgrounds={**silent, "Ar39": 3 * 1.01}))
    piled = simulate_pileup(scenario, 0.02, seed=3)
    assert piled.visible_mev.size > 0
    assert np.all(piled.largest_mev <= 0.565 + 1e-9)
    above = piled.rate_above(1.0)
    assert above["value"] == pytest.approx((piled.visible_mev >= 1.0).sum() / piled.seconds)
    assert above["value"] > 0
    assert above["lo"] < above["value"] < above["hi"]
