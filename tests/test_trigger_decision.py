"""The firmware trigger decision (triggerml.trigger.decision) against the Python rule."""

from __future__ import annotations

import dataclasses

import numpy as np
from trigger_support import (
    clusters_of,
)


def test_firmware_decision_equals_the_python_rule_and_catches_an_off_by_one() -> None:
    """firmware/trigger/decision.h vs the rule the figures use, on clusters placed on and
    around every threshold; a threshold one logit step off must show up."""
    from triggerml.trigger import decision as fw
    from triggerml.trigger.figures import Decision

    check = fw.verify(clusters=300)
    assert check.clusters == 300 * check.decisions
    assert check.mismatches == 0
    binary = fw.compile_testbench()
    rule = Decision("combined", 1.0, 7000.0, 20000.0)
    th = fw.firmware_thresholds(rule, 6000, 6)
    assert (th.adc_lo, th.adc_hi, th.logit_min) == (7000, 20000, 64)
    adc = np.array([7000, 7000, 6999, 20000, 19999, 5999])
    logit_m = np.array([64, 63, 64, -500, 63, 64])
    score = np.where(adc >= 6000, logit_m / 64.0, -np.inf)
    expected = [True, False, False, True, False, False]
    assert fw.accepts(adc, score, rule).tolist() == expected
    assert fw.run_cpp(binary, th, adc, logit_m).tolist() == expected
    off = dataclasses.replace(th, logit_min=th.logit_min + 1)
    assert fw.run_cpp(binary, off, adc, logit_m).tolist() != expected


def test_a_candidate_passes_exactly_when_one_of_its_clusters_does() -> None:
    """The figures' candidate metric agrees with the per-cluster firmware rule."""
    from triggerml.trigger import candidates
    from triggerml.trigger.decision import accepts
    from triggerml.trigger.figures import Decision, Evaluator
    from triggerml.trigger.tasks import EVENT_DTYPE

    rng = np.random.default_rng(8)
    n = 3000
    clusters = clusters_of(
        [
            {
                "label": 1,
                "apa": int(rng.integers(0, 2)),
                "start": int(rng.integers(0, 200_000)),
                "end": 0,
                "channel_min": int(c),
                "channel_max": int(c) + 2,
                "adc_sum": int(rng.integers(0, 30000)),
                "score": float(rng.normal(0, 3)) if rng.random() < 0.7 else -np.inf,
            }
            for c in rng.integers(0, 900, n)
        ]
    )
    clusters["end"] = clusters["start"] + 30
    grouped = candidates.build(clusters, candidates.Grouping(), 4096, 1000)
    assert grouped.size < n  # some clusters did join
    evaluator = Evaluator(grouped, np.zeros(0, EVENT_DTYPE), np.ones((2, grouped.size)), None)
    for rule in (
        Decision("combined", 1.5, 8000.0, 22000.0),
        Decision("ml", 0.3),
        Decision("adc_sum", 15000.5),
    ):
        per_cluster = accepts(grouped.clusters["adc_sum"], grouped.clusters["score"], rule)
        expected = np.logical_or.reduceat(per_cluster, grouped.offsets[:-1])
        passed = evaluator.decision_metric(rule) >= rule.threshold
        assert np.array_equal(passed, expected)
