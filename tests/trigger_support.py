"""What the trigger tests share: a tiny study scenario, cluster tables, an evaluator,
and the chain-vs-training-code harness (the fixtures are in conftest.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
TRIGGERS = {"ml", "adc_sum", "combined"}
DESIGN_KEYS = {  # DESIGN §5, summary schema 2
    "apa_seconds",
    "rate_at_90pct_hz_per_apa",
    "efficiency_at_rate",
    "reach_kpc",
    "milky_way_efficiency",
    "lmc_efficiency",
    "background_per_window",
    "fake_bursts_per_month",
    "fake_bursts_per_month_bound",
    "background_rate_hz_per_apa",
    "e50_mev",
    "efficiency_vs_distance",
    "stream",
    "warnings",
}
VOLATILE = ("created", "stream")  # wall-clock figures


def scenario_file(tmp: Path, firmware: Path, **override: object) -> Path:
    data = {
        "name": "tiny",
        "seed": 5,
        "model": str(REPO / "models" / "tpmlp.yaml"),
        "firmware": str(firmware),
        "chunk_slices": 4,
        "tail_slices": 2,
        "working_point": {"rate_hz_per_apa": 300.0},
        "burst": {"toys": 200, "distances_kpc": [1, 10, 50]},
        "detector": {
            "seconds": 0.025,
            "singles": {"rate_hz": 2000.0, "energies_mev": [1, 3, 6, 10, 20]},
            "supernova": {"distance_kpc": 0.3},
        },
    }
    data.update(override)
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def stable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in VOLATILE}


def clusters_of(rows: list[dict]) -> np.ndarray:
    from triggerml.trigger.tasks import CANDIDATE_DTYPE

    out = np.zeros(len(rows), CANDIDATE_DTYPE)
    out["event_id"] = -1
    out["in_range"] = True
    for i, row in enumerate(rows):
        for key, value in row.items():
            out[i][key] = value
    return out


def evaluator_for(clusters: np.ndarray, events: np.ndarray, objective=None):
    from triggerml.trigger import candidates, figures

    grouped = candidates.build(clusters, candidates.Grouping(0, 0), 1000, 1000)
    weights = np.ones((2, grouped.size))  # 1 Hz per candidate on each half
    return figures.Evaluator(grouped, events, weights, objective)


def chain_and_training_inputs(
    emulator: Any, config: Any, first_slice: int, n_slices: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """A stream of electrons through the chain, from ``first_slice`` on, and — from the same
    slices — every model input of the clusters above the pre-cut built by the code path the
    training set uses (HitFinder, InductionFinder, clusterer, build_inputs): the streamed
    clusters, their scores, and the reference inputs (one array per model input)."""
    from triggerml.detector.config import DetectorScenario, Particle, Singles
    from triggerml.detector.stream import ApaStream
    from triggerml.tpg.clusters import ClusterConfig, StreamingClusterer
    from triggerml.tpg.config import INDUCTION_TPG, TpgConfig
    from triggerml.tpg.hitfinder import HitFinder
    from triggerml.tpg.planes import InductionFinder, MatchConfig
    from triggerml.tpg.roi import build_inputs
    from triggerml.trigger.chain import BUFFER_SLICES, TriggerChain

    singles = Singles(particle=Particle.ELECTRON, rate_hz=3000.0, energies_mev=(6.0, 15.0))
    scenario = DetectorScenario(seconds=0.03, singles=singles)
    g, ticks = scenario.geometry, scenario.slice_ticks
    start = first_slice * ticks
    chain = TriggerChain(config, emulator, g, start_sample=start, batch=64)
    first_x = g.first_channel["x"]
    finder = HitFinder(
        g.plane_channels["x"],
        dataclasses.replace(TpgConfig(), first_channel=first_x),
        start_sample=start,
    )
    induction = InductionFinder(g, INDUCTION_TPG, MatchConfig(), BUFFER_SLICES, start)
    clusterer = StreamingClusterer(ClusterConfig())
    stream = ApaStream(scenario, first_slice=first_slice)
    streamed, scores = [], []
    reference: list[list[np.ndarray]] = [[] for _ in config.inputs]
    for _ in range(n_slices):
        adc = stream.next_slice().adc
        streamed.append(chain.process(adc))
        scores.append(chain.scores())
        hits = finder.process(adc[first_x:])
        induction.process(adc)
        clusters, cluster_hits, index = clusterer.add(hits, finder.open_since)
        passing = clusters["adc_sum"] >= config.precut_adc_sum
        if passing.any():
            keep = np.flatnonzero(passing)
            renumber = np.full(clusters.size, -1)
            renumber[keep] = np.arange(keep.size)
            hit_keep = passing[index]
            for parts, roi in zip(reference, config.inputs, strict=True):
                parts.append(
                    build_inputs(
                        roi,
                        np.zeros((g.plane_channels["x"], 0), dtype=np.int16),  # TP kinds only
                        0,
                        finder.pedestals,
                        first_x,
                        clusters[passing],
                        cluster_hits[hit_keep],
                        renumber[index[hit_keep]],
                        induction.hits(),
                    )
                )
    scores.append(chain.scores(final=True))
    return np.concatenate(streamed), np.concatenate(scores), [np.concatenate(p) for p in reference]


def study_scenarios() -> list[Path]:
    """emulation/*.yaml but the sweep specs (tests/test_sweep.py checks those)."""
    return [
        path
        for path in sorted((REPO / "emulation").glob("*.yaml"))
        if "axes" not in yaml.safe_load(path.read_text())
    ]
