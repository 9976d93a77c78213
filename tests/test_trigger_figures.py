"""The figures of merit (triggerml.trigger.figures): candidates per event, the combined
trigger, tuning on one half and measuring on the other, module weights."""

from __future__ import annotations

import numpy as np
import pytest
from trigger_support import (
    clusters_of,
    evaluator_for,
)


def test_candidates_per_event_counts_only_listed_events() -> None:
    from triggerml.trigger.figures import Decision
    from triggerml.trigger.tasks import EVENT_DTYPE

    events = np.zeros(3, EVENT_DTYPE)
    events["apa"] = [0, 0, 1]
    events["event_id"] = [7, 3, 7]
    clusters = clusters_of(
        [
            {"label": 2, "apa": 0, "event_id": 7, "adc_sum": 10, "start": 0, "channel_min": 0},
            {"label": 2, "apa": 0, "event_id": 7, "adc_sum": 10, "start": 0, "channel_min": 90},
            {"label": 2, "apa": 1, "event_id": 7, "adc_sum": 10, "start": 0, "channel_min": 0},
            {"label": 2, "apa": 0, "event_id": 99, "adc_sum": 10, "start": 0, "channel_min": 50},
            {"label": 2, "apa": 1, "event_id": 3, "adc_sum": 10, "start": 0, "channel_min": 50},
        ]
    )
    evaluator = evaluator_for(clusters, events)
    counts = evaluator.candidates_per_event(Decision("adc_sum", 5))
    assert counts.tolist() == [2, 0, 1]
    assert evaluator.candidates_per_event(Decision("adc_sum", 11)).tolist() == [0, 0, 0]


def test_combined_trigger_never_does_worse_than_the_adc_sum_where_it_was_tuned() -> None:
    """Signal events that the ML score separates from background at equal ADC sum: the
    combined trigger gains efficiency at the same rate; the ADC sum's own point is in its
    grid, so it cannot lose."""
    from triggerml.trigger.figures import SignalClass, class_mask
    from triggerml.trigger.tasks import EVENT_DTYPE

    rng = np.random.default_rng(4)
    n_bkg, n_sig = 4000, 400
    rows = []
    for i in range(n_bkg):  # background: ADC sums like the signal's, low scores
        rows.append(
            {
                "label": 1,
                "apa": 0,
                "start": 2 * i * 1000 + (i % 2) * 1000,
                "adc_sum": int(rng.integers(1000, 3000)),
                "score": rng.normal(-2, 1),
            }
        )
    events = np.zeros(n_sig, EVENT_DTYPE)
    events["kind"] = b"snb_nue"
    events["apa"] = 0
    events["event_id"] = np.arange(n_sig)
    for i in range(n_sig):
        rows.append(
            {
                "label": 2,
                "apa": 0,
                "event_id": i,
                "start": 10**9 + 1000 * i,
                "adc_sum": int(rng.integers(1000, 3000)),
                "score": rng.normal(2, 1),
            }
        )
    evaluator = evaluator_for(clusters_of(rows), events, SignalClass.SN_NUE_CC)
    from triggerml.trigger.figures import efficiency_row

    effs = {}
    for trigger in ("ml", "adc_sum", "combined"):
        decision = evaluator.at_rate(trigger, 20.0)
        metric = evaluator.decision_metric(decision)
        assert evaluator.tuning_rate(metric, decision.threshold) <= 20.0
        effs[trigger] = efficiency_row(evaluator, decision, SignalClass.SN_NUE_CC)["efficiency"]
    assert effs["combined"] >= effs["adc_sum"]
    assert effs["combined"] > 0.5 > effs["adc_sum"]
    assert class_mask(events, SignalClass.SN_NUE_CC).all()


def test_rates_are_tuned_on_one_half_and_measured_on_the_other() -> None:
    from triggerml.trigger.figures import Decision
    from triggerml.trigger.tasks import EVENT_DTYPE

    # even slices (tuning) hold ADC sums 1..10, odd slices (reporting) 101..110
    rows = [{"label": 1, "apa": 0, "start": 2000 * i, "adc_sum": i + 1} for i in range(10)]
    rows += [
        {"label": 1, "apa": 0, "start": 2000 * i + 1000, "adc_sum": 101 + i} for i in range(10)
    ]
    evaluator = evaluator_for(clusters_of(rows), np.zeros(0, EVENT_DTYPE))
    threshold = evaluator.tune(evaluator.c.adc_sum, 3.0)
    assert 7 < threshold <= 8  # three tuning candidates (8, 9, 10) pass
    measured = evaluator.measured_rate(evaluator.c.adc_sum, threshold)
    assert measured.count == 10  # every reporting candidate passes: the halves differ
    assert measured.lo < measured.value == 10.0 < measured.hi
    # the burst scan chooses its point on the tuning half's count (3), not the reported one
    from triggerml.trigger.figures import TUNING

    assert evaluator.measured_rate(evaluator.c.adc_sum, threshold, TUNING).count == 3
    none = evaluator.measured_rate(evaluator.c.adc_sum, 1000.0)
    assert none.limit
    assert none.value == 0.0
    assert none.hi > 1.0
    assert evaluator.candidates_per_event(Decision("adc_sum", 1.0)).size == 0


def test_signal_efficiencies_weight_each_apa_kind_by_its_share_of_the_module_argon() -> None:
    """Central APAs see twice the SN events of outer ones (two drift volumes), the module
    holds equal argon in each kind: the module efficiency is the plain mean of the kinds'
    efficiencies, not the pooled fraction; the 90 % point and burst multiplicity follow."""
    from triggerml.parallel import APA_STRIDE
    from triggerml.trigger import figures
    from triggerml.trigger.figures import Decision, SignalClass, efficiency_row
    from triggerml.trigger.tasks import EVENT_DTYPE

    n_central, n_outer = 200, 100
    events = np.zeros(n_central + n_outer, EVENT_DTYPE)
    events["kind"] = b"snb_nue"
    events["apa"] = np.r_[np.zeros(n_central), np.full(n_outer, APA_STRIDE)]
    events["event_id"] = np.arange(events.size)
    # central events all found (ADC sum 100), outer ones: half found
    adc = np.r_[np.full(n_central, 100), np.where(np.arange(n_outer) % 2 == 0, 100, 1)]
    rows = [
        {"label": 2, "apa": int(a), "event_id": i, "start": 1000 * i, "adc_sum": int(s)}
        for i, (a, s) in enumerate(zip(events["apa"], adc, strict=True))
    ]
    kind_index = np.asarray(events["apa"], dtype=np.int64) // APA_STRIDE
    weights = figures.module_event_weights(events, kind_index, np.array([0.5, 0.5]))
    assert weights[:n_central] == pytest.approx(0.5 / n_central)
    assert weights[n_central:] == pytest.approx(0.5 / n_outer)
    from triggerml.trigger import candidates

    grouped = candidates.build(clusters_of(rows), candidates.Grouping(0, 0), 1000, APA_STRIDE)
    evaluator = figures.Evaluator(grouped, events, np.ones((2, grouped.size)), None, weights)
    row = efficiency_row(evaluator, Decision("adc_sum", 50), SignalClass.SN_NUE_CC)
    assert row["efficiency"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.5)  # pooled would say 0.833
    assert row["found"] == 250
    assert row["events"] == 300
    assert row["lo"] < 0.75 < row["hi"]
    # Kish: relative weights 1 (central) and 2 (outer) → (200 + 200)² / (200 + 400)
    assert row["effective_events"] == pytest.approx(400**2 / 600)
    # no threshold reaches 90 % of the module (max 75 %), although 83 % of events pass
    decision, max_eff = evaluator.at_efficiency("adc_sum", SignalClass.SN_NUE_CC, 0.9)
    assert max_eff == pytest.approx(1.0)  # every event has a candidate
    assert decision is not None
    assert decision.threshold == 1
    sn_mask = np.ones(events.size, bool)
    point_weights = weights / weights.sum()
    per_event = evaluator.candidates_per_event(Decision("adc_sum", 50))[sn_mask]
    assert float(point_weights[per_event > 0].sum()) == pytest.approx(0.75)
    equal = figures.Evaluator(grouped, events, np.ones((2, grouped.size)), None)
    pooled = efficiency_row(equal, Decision("adc_sum", 50), SignalClass.SN_NUE_CC)
    assert pooled["efficiency"] == 250 / 300
    assert pooled["effective_events"] == 300
    assert float(np.bincount(per_event, weights=point_weights)[0]) == pytest.approx(0.25)
