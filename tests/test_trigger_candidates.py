"""Grouping clusters into candidates (triggerml.trigger.candidates)."""

from __future__ import annotations

import numpy as np
from trigger_support import (
    clusters_of,
)


def test_grouping_joins_fragments_within_the_windows_and_no_further() -> None:
    from triggerml.trigger.candidates import Grouping, group

    clusters = clusters_of(
        [
            {"apa": 0, "start": 100, "end": 150, "channel_min": 10, "channel_max": 12},
            {
                "apa": 0,
                "start": 300,
                "end": 320,
                "channel_min": 30,
                "channel_max": 31,
            },  # 18 wires, 150 ticks
            {
                "apa": 0,
                "start": 480,
                "end": 500,
                "channel_min": 51,
                "channel_max": 51,
            },  # chained to the 2nd
            {
                "apa": 0,
                "start": 100,
                "end": 150,
                "channel_min": 80,
                "channel_max": 81,
            },  # too far in wires
            {
                "apa": 1,
                "start": 100,
                "end": 150,
                "channel_min": 10,
                "channel_max": 12,
            },  # another APA
            {
                "apa": 0,
                "start": 901,
                "end": 910,
                "channel_min": 52,
                "channel_max": 52,
            },  # 401 ticks on
        ]
    )
    ids = group(clusters, Grouping(channels=20, ticks=200))
    assert ids[0] == ids[1] == ids[2]
    assert len(set(ids.tolist())) == 4
    assert group(clusters, Grouping(channels=0, ticks=0)).max() == 5  # nothing joins


def test_selecting_candidates_keeps_their_clusters_together() -> None:
    from triggerml.trigger import candidates

    rng = np.random.default_rng(2)
    clusters = clusters_of(
        [
            {
                "apa": 0,
                "start": int(s),
                "end": int(s) + 20,
                "channel_min": int(c),
                "channel_max": int(c) + 1,
                "adc_sum": int(rng.integers(0, 10000)),
            }
            for s, c in zip(rng.integers(0, 50_000, 500), rng.integers(0, 200, 500), strict=True)
        ]
    )
    grouped = candidates.build(clusters, candidates.Grouping(), 4096, 1000)
    keep = grouped.adc_sum >= 5000
    kept = grouped.select(keep)
    assert kept.size == int(keep.sum())
    assert np.array_equal(kept.adc_sum, kept.reduce_max(kept.clusters["adc_sum"].astype(float)))
    assert np.array_equal(kept.group, np.repeat(np.arange(kept.size), np.diff(kept.offsets)))
    assert kept.clusters.size == int(np.diff(grouped.offsets)[keep].sum())
