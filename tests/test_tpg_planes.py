"""Induction-plane matching: the height of a collection cluster from its U and V hits."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from triggerml.detector.catalogue import INDEPENDENT
from triggerml.detector.config import DetectorScenario, Geometry, Readout
from triggerml.detector.stream import ApaStream
from triggerml.tpg.clusters import ClusterConfig, StreamingClusterer
from triggerml.tpg.config import INDUCTION_TPG, TpgConfig
from triggerml.tpg.hitfinder import HIT_DTYPE, HitFinder
from triggerml.tpg.planes import (
    INDUCTION_FEATURES,
    NO_HEIGHT,
    Induction,
    InductionFinder,
    MatchConfig,
    induction_features,
)

HEIGHT = INDUCTION_FEATURES.index("height_m")


def _electron(x_cm: float, y_cm: float, z_cm: float, length_cm: float = 4.0) -> np.ndarray:
    """Deposits of a short electron-like track along a diagonal in y and z (≈ 8 MeV)."""
    t = np.linspace(0.0, 1.0, 80)
    deposits = np.zeros((t.size, 4))
    deposits[:, 0] = x_cm
    deposits[:, 1] = y_cm + t * length_cm / math.sqrt(2)
    deposits[:, 2] = z_cm + t * length_cm / math.sqrt(2)
    deposits[:, 3] = 0.1
    return deposits


def _clusters_of(scenario: DetectorScenario, events: list[tuple[float, float, float]]) -> tuple:
    """Simulate quiet slices with the given (x, y, z) tracks, 1000 ticks apart after a slice
    for the TPG to settle; return the collection clusters and their induction features."""
    stream = ApaStream(scenario)
    for k, (x, y, z) in enumerate(events):
        stream.inject(_electron(x, y, z), time_tick=4096 + 300 + 1000 * k, kind="e")
    g = scenario.geometry
    first = g.first_channel["x"]
    finder = HitFinder(g.plane_channels["x"], dataclasses.replace(TpgConfig(), first_channel=first))
    induction = InductionFinder(g, INDUCTION_TPG, MatchConfig(), keep_slices=5)
    clusterer = StreamingClusterer(ClusterConfig())
    found = []
    for _ in range(5):
        adc = stream.next_slice().adc
        hits = finder.process(adc[first:])
        induction.process(adc)
        found.append(clusterer.add(hits, finder.open_since))
    found.append(clusterer.flush())
    clusters = np.concatenate([c for c, _, _ in found])
    hits = np.concatenate([h for _, h, _ in found])
    offsets = np.cumsum([0] + [c.size for c, _, _ in found[:-1]])
    index = np.concatenate([i + o for (_, _, i), o in zip(found, offsets, strict=True)])
    return clusters, induction_features(clusters, hits, index, induction.hits())


@pytest.mark.parametrize("x_cm", [80.0, -150.0])  # front and back face
def test_the_height_of_an_electron_comes_back_from_its_u_and_v_hits(x_cm: float) -> None:
    """Tracks at known heights, both faces, across the APA: the matched height is within
    10 cm of the track's middle, and nearly all of the in-time induction charge pairs up."""
    quiet = dict.fromkeys(INDEPENDENT, 0.0)
    scenario = DetectorScenario(seconds=0.01, backgrounds=quiet, readout=Readout())
    positions = [(x_cm, y, z) for y, z in ((40, 30), (210, 180), (380, 60), (560, 200))]
    clusters, features = _clusters_of(scenario, positions)
    big = (clusters["adc_sum"] > 5000) & (clusters["start"] > 4096)
    assert big.sum() == len(positions)
    order = np.argsort(clusters["start"][big])
    heights = features[big][order, HEIGHT]
    expected = np.array([y for _, y, _ in positions]) / 100 + 0.04 / math.sqrt(2) / 2
    assert np.all(np.abs(heights - expected) < 0.10), (heights, expected)
    assert np.all(features[big][:, INDUCTION_FEATURES.index("matched_fraction")] > 0.8)


def _hits(channels: list[int], start: int = 100, adc: int = 500) -> np.ndarray:
    hits = np.zeros(len(channels), dtype=HIT_DTYPE)
    hits["channel"] = channels
    hits["start"] = start
    hits["tot"] = 10
    hits["adc_sum"] = adc
    return hits


def test_hits_that_do_not_pair_or_are_out_of_time_give_no_height() -> None:
    """Exact geometry on hand-made hits: a U and a V wire crossing the cluster's wire at the
    same height pair up and give it; a V hit out of time or at another height does not."""
    g = Geometry()
    a = math.radians(g.wire_angle_deg)
    wire_x, y_mm = 100, 2500.0
    z = (wire_x + 0.5) * g.pitch_x_mm
    u = math.floor((z * math.cos(a) + y_mm * math.sin(a)) / g.pitch_u_mm) % g.channels_u
    v = math.floor((z * math.cos(a) - y_mm * math.sin(a)) / g.pitch_v_mm) % g.channels_v
    cluster = np.zeros(1, dtype=[("start", "i8"), ("end", "i8"), ("channel_min", "i4"),
                                 ("channel_max", "i4")])  # fmt: skip
    first_x = g.first_channel["x"]
    cluster[0] = (100, 110, first_x + wire_x, first_x + wire_x)
    x_hits = _hits([first_x + wire_x])
    index = np.zeros(1, dtype=np.int64)
    u_hits = _hits([u])
    paired = induction_features(
        cluster, x_hits, index, Induction(u_hits, _hits([g.channels_u + v]), g)
    )
    # the wire centres are within half a pitch of the crossing: |Δy| ≤ pitch / sin α / 2
    assert abs(paired[0, HEIGHT] - y_mm / 1000) < g.pitch_u_mm / math.sin(a) / 1000
    assert paired[0, INDUCTION_FEATURES.index("matched_fraction")] == 1.0
    late = induction_features(
        cluster, x_hits, index, Induction(u_hits, _hits([g.channels_u + v], start=200), g)
    )
    assert late[0, HEIGHT] == NO_HEIGHT
    assert late[0, 1] == 0  # the V hit is not in time
    v_far = math.floor((z * math.cos(a) - 800 * math.sin(a)) / g.pitch_v_mm) % g.channels_v
    apart = induction_features(
        cluster, x_hits, index, Induction(u_hits, _hits([g.channels_u + v_far]), g)
    )
    assert apart[0, HEIGHT] == NO_HEIGHT
    assert apart[0, INDUCTION_FEATURES.index("matched_fraction")] == 0.0
    assert apart[0, 0] == 1  # both in time, they just do not pair
    assert apart[0, 1] == 1
