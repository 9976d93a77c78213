"""Hit efficiency of the TPG vs deposited energy, for single electrons in simulated readout.

An event is found when at least one collection-plane hit lies inside its truth box (its
collection channels ± 1, its charge-arrival ticks widened by the pulse length).
Efficiencies carry Clopper–Pearson 68 % intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from triggerml.detector.config import DetectorScenario, Singles
from triggerml.detector.stream import ApaStream
from triggerml.io import atomic_path
from triggerml.stats import clopper_pearson
from triggerml.tpg.config import TpgConfig
from triggerml.tpg.hitfinder import HitFinder

WARMUP_SLICES = 3  # pedestals and quartiles settle first
TICK_MARGIN = (-5, 40)  # hits start within the pulse: arrival − 5 … last arrival + 40


@dataclass
class EfficiencyCurve:
    bin_edges: npt.NDArray[np.float64]
    events: npt.NDArray[np.int64]
    found: npt.NDArray[np.int64]

    @property
    def efficiency(self) -> npt.NDArray[np.float64]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.events > 0, self.found / np.maximum(self.events, 1), np.nan)

    @property
    def interval(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        return clopper_pearson(self.found, self.events)


def matched(truth: npt.NDArray, hits: npt.NDArray) -> npt.NDArray[np.bool_]:
    """Per event: does a collection hit fall inside its truth box?"""
    found = np.zeros(truth.size, dtype=bool)
    if hits.size == 0:
        return found
    order = np.argsort(hits["start"], kind="stable")
    starts = hits["start"][order]
    channels = hits["channel"][order]
    for i, event in enumerate(truth):
        if event["channel_min"] < 0:
            continue
        lo = np.searchsorted(starts, event["tick_min"] + TICK_MARGIN[0])
        hi = np.searchsorted(starts, event["tick_max"] + TICK_MARGIN[1], side="right")
        near = channels[lo:hi]
        found[i] = bool(
            np.any((near >= event["channel_min"] - 1) & (near <= event["channel_max"] + 1))
        )
    return found


def measure(
    energies_mev: tuple[float, ...],
    config: TpgConfig | None = None,
    seconds: float = 0.2,
    rate_hz: float = 3000.0,
    seed: int = 5,
    bin_edges: npt.NDArray[np.float64] | None = None,
    on_slice: Callable[[int], None] | None = None,
) -> EfficiencyCurve:
    """Single electrons (isotropic, uniform in the APA's volume) over radiological
    background and noise; efficiency vs deposited energy."""
    base = DetectorScenario(seed=seed)
    scenario = dataclasses.replace(
        base,
        seconds=seconds,
        singles=Singles(energies_mev=tuple(energies_mev), rate_hz=rate_hz),
    )
    first = scenario.geometry.first_channel["x"]
    n_x = scenario.geometry.plane_channels["x"]
    finder = HitFinder(n_x, dataclasses.replace(config or TpgConfig(), first_channel=first))
    truths, hits = [], []
    for slice_ in ApaStream(scenario):
        found = finder.process(slice_.adc[first:])
        hits.append(found)
        if slice_.index >= WARMUP_SLICES:
            truths.append(slice_.truth[slice_.truth["kind"] == b"single_electron"])
        if on_slice is not None:
            on_slice(slice_.index)
    truth = np.concatenate(truths)
    # only events whose charge has fully arrived (drift takes up to ≈4300 ticks)
    truth = truth[
        (truth["tick_max"] >= 0) & (truth["tick_max"] + TICK_MARGIN[1] + 100 < finder.next_sample)
    ]
    all_hits = np.concatenate(hits)
    is_found = matched(truth, all_hits)
    edges = (
        bin_edges
        if bin_edges is not None
        else np.array(
            [
                0.02,
                0.05,
                0.08,
                0.12,
                0.17,
                0.25,
                0.35,
                0.5,
                0.75,
                1.0,
                1.5,
                2.0,
                3.0,
                5.0,
                8.0,
                12.0,
                20.0,
                35.0,
            ]
        )
    )
    energy = truth["deposited_energy_mev"]
    events = np.histogram(energy, edges)[0]
    found_counts = np.histogram(energy[is_found], edges)[0]
    return EfficiencyCurve(edges, events, found_counts)


def plot(curve: EfficiencyCurve, out: str | Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centers = 0.5 * (curve.bin_edges[1:] + curve.bin_edges[:-1])
    half = 0.5 * np.diff(curve.bin_edges)
    lo, hi = curve.interval
    eff = curve.efficiency
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    ok = curve.events > 0
    ax.errorbar(
        centers[ok],
        eff[ok],
        xerr=half[ok],
        yerr=[eff[ok] - lo[ok], hi[ok] - eff[ok]],
        fmt="o",
        capsize=2,
    )
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("deposited energy (MeV)")
    ax.set_ylabel("hit efficiency (≥1 collection hit)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(out)
