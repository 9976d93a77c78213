"""Hit clusters, the ADC-sum baseline trigger, and TPs in trgdataformats layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from triggerml.tpg import HIT_DTYPE
from triggerml.tpg.clusters import ClusterConfig, candidates, cluster_hits, tune_threshold
from triggerml.tpg.tpformat import (
    from_trigger_primitives,
    read_tps,
    to_trigger_primitives,
    write_tps,
)


def make_hits(rows: list[tuple[int, int, int, int]]) -> np.ndarray:
    """(channel, start, tot, adc_sum) → hits."""
    hits = np.zeros(len(rows), dtype=HIT_DTYPE)
    for hit, (channel, start, tot, total) in zip(hits, rows, strict=True):
        hit["channel"], hit["start"], hit["tot"], hit["adc_sum"] = channel, start, tot, total
        hit["peak_time"], hit["peak_adc"] = start + tot // 2, total // max(tot, 1)
    return hits


def test_adjacent_channels_close_in_time_form_one_cluster() -> None:
    hits = make_hits(
        [
            (100, 1000, 10, 500),
            (101, 1005, 10, 400),
            (103, 1020, 8, 300),  # one track
            (110, 1000, 10, 200),  # 7 channels away: separate
            (100, 1200, 5, 100),  # same channel, much later: separate
        ]
    )
    clusters, index = cluster_hits(hits, ClusterConfig(channel_gap=2, time_window=30))
    assert clusters.size == 3
    assert index[0] == index[1] == index[2]
    assert len({index[0], index[3], index[4]}) == 3
    track = clusters[index[0]]
    assert (track["n_hits"], track["adc_sum"], track["channel_min"], track["channel_max"]) == (
        3,
        1200,
        100,
        103,
    )
    assert (track["start"], track["end"]) == (1000, 1028)


def test_chains_join_through_intermediate_hits() -> None:
    hits = make_hits([(10 + 2 * i, 100 + 20 * i, 5, 10) for i in range(20)])
    clusters, _ = cluster_hits(hits[::-1].copy())
    assert clusters.size == 1
    assert clusters[0]["n_hits"] == 20


def test_tune_threshold_meets_the_target_rate() -> None:
    rng = np.random.default_rng(0)
    sums = rng.exponential(200, 10_000).astype(np.int64)
    live = 100.0
    tuned = tune_threshold(sums, live, target_rate_hz=1.0)
    assert tuned.rate_hz <= 1.0
    assert (sums >= tuned.threshold).sum() == tuned.candidates <= 100
    assert (sums >= tuned.threshold - 1).sum() > 100  # lowest such threshold
    clusters = np.zeros(sums.size, dtype=[("adc_sum", "i8"), ("n_hits", "i4")])
    clusters["adc_sum"] = sums
    assert candidates(clusters, tuned.threshold).size == tuned.candidates
    with pytest.raises(ValueError, match="metric"):
        candidates(clusters, 1, metric="energy")


def test_trigger_primitive_layout_round_trip(tmp_path: Path) -> None:
    hits = make_hits([(2559, 123456, 70000, 5_000_000_000), (0, 0, 1, 7)])
    hits["peak_time"] = hits["start"] + [17, 0]
    hits["peak_adc"] = [16383, 7]
    words = to_trigger_primitives(hits, timestamp_offset=1000)
    assert words.shape == (2, 3)
    assert int(words[0, 0]) & 0xFF == 2  # version
    assert (int(words[0, 0]) >> 16) & 0xFF == 3  # detid
    assert (int(words[0, 0]) >> 24) & 0xFFFFFF == 2559
    assert (int(words[0, 0]) >> 48) == 0xFFFF  # samples_over_threshold saturates
    assert int(words[0, 1]) == 123456 * 32 + 1000
    back = from_trigger_primitives(words, timestamp_offset=1000)
    assert_array_equal(back["channel"], hits["channel"])
    assert_array_equal(back["start"], hits["start"])
    assert back["adc_sum"][0] == 0xFFFFFFFF
    assert back["peak_time"].tolist() == hits["peak_time"].tolist()
    path = write_tps(tmp_path / "tps.bin", hits)
    assert path.stat().st_size == 48
    assert_array_equal(read_tps(path)["peak_adc"], hits["peak_adc"])


def test_efficiency_rises_with_energy() -> None:
    from triggerml.stats import clopper_pearson
    from triggerml.tpg.efficiency import measure

    curve = measure(
        (0.03, 3.0), seconds=0.02, rate_hz=20_000.0, bin_edges=np.array([0.01, 0.045, 1.0, 5.0])
    )
    assert curve.events[0] > 20
    assert curve.events[2] > 20
    eff = curve.efficiency
    assert eff[2] > 0.9
    assert eff[0] < 0.5
    lo, hi = clopper_pearson([0, 5, 10], [10, 10, 10])
    assert lo[0] == 0.0
    assert hi[2] == 1.0
    assert lo[1] < 0.5 < hi[1]


def test_window_sums_count_the_charge_inside_the_model_window_only() -> None:
    """The shape control's metric: pedestal-subtracted ADC over the model's own window."""
    from triggerml.tpg.roi import InputKind, RoiConfig, build_inputs, inputs_and_window_sums

    config = RoiConfig(kind=InputKind.ROI2D, channels=4, ticks=8, pre_ticks=2, time_pool=4)
    adc = np.full((10, 40), 500, dtype=np.int16)
    adc[3, 12] += 100  # inside: rows 1..4 around channels 3-4, ticks 10..17
    adc[4, 17] += 40
    adc[5, 12] += 1000  # one wire past the window
    adc[7, 12] += 1000  # outside in wires
    adc[3, 30] += 1000  # outside in time
    clusters = np.zeros(
        1,
        dtype=[
            ("start", np.int64),
            ("channel_min", np.int32),
            ("channel_max", np.int32),
            ("adc_sum", np.int64),
        ],
    )
    clusters["start"] = 12
    clusters["channel_min"], clusters["channel_max"] = 3, 4
    pedestals = np.full(10, 500)
    hits = np.zeros(0, HIT_DTYPE)
    index = np.zeros(0, np.int64)
    inputs, sums = inputs_and_window_sums(config, adc, 0, pedestals, 0, clusters, hits, index)
    assert sums.tolist() == [140.0]
    assert_array_equal(inputs, build_inputs(config, adc, 0, pedestals, 0, clusters, hits, index))
    assert inputs.shape == (1, 4, 2, 1)


def test_cluster_records_equal_their_hits_aggregated_by_numpy() -> None:
    """The one-pass aggregation against numpy's grouped reductions (np.unique on the
    labels, bincount, ufunc.at): same clusters in the same order, same hit index."""
    rng = np.random.default_rng(3)
    n = 3000
    hits = np.zeros(n, dtype=HIT_DTYPE)
    hits["channel"] = rng.integers(0, 300, n)
    hits["start"] = rng.integers(0, 40_000, n)
    hits["start"][:40] = 12_345  # equal starts: the stable order decides
    hits["tot"] = rng.integers(1, 60, n)
    hits["adc_sum"] = rng.integers(1, 65_536, n)
    hits["peak_adc"] = rng.integers(1, 4_000, n)
    clusters, index = cluster_hits(hits)
    assert 50 < clusters.size < n  # real grouping: neither one cluster nor all single hits
    roots = np.unique(index)
    assert_array_equal(roots, np.arange(clusters.size))  # every cluster has a hit
    order = np.argsort(hits["start"], kind="stable")
    first = np.full(clusters.size, n)
    np.minimum.at(first, index[order], np.arange(n))
    assert np.all(np.diff(first) > 0)  # ordered by their first hit in start order
    end = hits["start"] + hits["tot"]
    assert_array_equal(clusters["n_hits"], np.bincount(index, minlength=clusters.size))
    assert_array_equal(clusters["adc_sum"], np.bincount(index, hits["adc_sum"]).astype(np.int64))
    for name, values, reduce in (
        ("channel_min", hits["channel"], np.minimum),
        ("channel_max", hits["channel"], np.maximum),
        ("start", hits["start"], np.minimum),
        ("end", end, np.maximum),
        ("peak_adc", hits["peak_adc"], np.maximum),
    ):
        init = np.iinfo(np.int64).max if reduce is np.minimum else np.iinfo(np.int64).min
        grouped = np.full(clusters.size, init)
        reduce.at(grouped, index, values)
        assert_array_equal(clusters[name], grouped, err_msg=name)
