"""`triggerml sources`: each background source simulated alone, per APA kind — its rate and
how much of it is visible above 1, 2, 5 and 10 MeV — counted from the simulation itself.

Per source and APA kind the generator runs for ``seconds`` of exposure, or longer for a
rare source, until ``events`` decays/captures/photons have been drawn (so capture γ above
5 MeV have statistics), with only that source switched on.  Visible energy is an event's
collected charge (recombination, alpha quenching and electron lifetime applied) converted
back to energy on a MIP's scale (:func:`triggerml.detector.drift.visible_energy_mev`).
Rates carry Garwood 68 % intervals on the counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from triggerml import __version__
from triggerml.detector import catalogue
from triggerml.detector.config import ApaKind, DetectorScenario, Singles, Supernova, TimeProfile
from triggerml.detector.drift import (
    drift_time_us,
    inside,
    visible_energy_mev,
    wire_coordinates,
)
from triggerml.detector.sources import EventGenerator
from triggerml.detector.supernova import CITED_EVENTS_40KT_10KPC, CITED_EVENTS_SOURCE
from triggerml.grouping import group_boxes
from triggerml.io import atomic_path, now_iso, sha256_json, versions, write_json
from triggerml.stats import garwood

SCHEMA_VERSION = 1
THRESHOLDS_MEV = (1, 2, 5, 10)
SPECTRUM_EDGES_MEV = np.linspace(0.0, 20.0, 81)
SN_REFERENCE_KPC = 10.0
MAX_WINDOW_S = 1.0e6  # a source this rare is reported from what it gave


def counted_rate(count: int, seconds: float) -> dict[str, float]:
    """A rate from a count over ``seconds``, with its Garwood 68 % interval."""
    lo, hi = garwood(count)
    return {"value": count / seconds, "lo": lo / seconds, "hi": hi / seconds}


@dataclass(frozen=True)
class SourceResult:
    """One source in one APA kind."""

    count: int  # decays, captures or photons emitted, drawn in the simulation
    seconds: float
    visible_mev: npt.NDArray[np.float64]  # per event with any deposit in the active volume
    isotopes: npt.NDArray | None = None  # each of those events' isotope (truth `isotope`)

    def only(self, isotope: str) -> SourceResult:
        """The events of one isotope (e.g. captures on Ar-40 or on Ar-36)."""
        assert self.isotopes is not None
        keep = self.isotopes == isotope.encode()
        return SourceResult(int(keep.sum()), self.seconds, self.visible_mev[keep], None)

    def rate(self) -> dict[str, float]:
        return counted_rate(self.count, self.seconds)

    def rate_above(self, threshold: float) -> dict[str, float]:
        return counted_rate(int((self.visible_mev >= threshold).sum()), self.seconds)


def quiet(scenario: DetectorScenario) -> DetectorScenario:
    """The scenario without signals (singles, supernova)."""
    return dataclasses.replace(scenario, singles=Singles(), supernova=Supernova())


def simulate_source(
    scenario: DetectorScenario, name: str, seconds: float, events: int, seed: int
) -> SourceResult:
    """One source alone in one APA for at least ``seconds`` and ``events`` emissions."""
    generator = EventGenerator(scenario, np.random.default_rng(seed), only={name})
    rate = sum(e.rate_hz for e in generator.emissions)
    if rate <= 0:
        return SourceResult(0, seconds, np.empty(0))
    window = min(max(seconds, events / rate), MAX_WINDOW_S)
    ticks = max(1, round(window / generator.tick_s))
    truth, deposits = generator.window(0, ticks)
    visible, isotopes = event_visible_mev(truth, deposits, scenario, with_isotopes=True)
    return SourceResult(generator.emitted[name], ticks * generator.tick_s, visible, isotopes)


@overload
def event_visible_mev(
    truth: npt.NDArray,
    deposits: npt.NDArray[np.float64],
    scenario: DetectorScenario,
    with_isotopes: Literal[False] = False,
) -> npt.NDArray[np.float64]: ...


@overload
def event_visible_mev(
    truth: npt.NDArray,
    deposits: npt.NDArray[np.float64],
    scenario: DetectorScenario,
    with_isotopes: Literal[True],
) -> tuple[npt.NDArray[np.float64], npt.NDArray]: ...


def event_visible_mev(
    truth: npt.NDArray,
    deposits: npt.NDArray[np.float64],
    scenario: DetectorScenario,
    with_isotopes: bool = False,
) -> npt.NDArray[np.float64] | tuple[npt.NDArray[np.float64], npt.NDArray]:
    """Visible energy of each event with charge in the active volume (and its isotope)."""
    kept = deposits[inside(deposits, scenario)]
    if truth.size == 0 or kept.size == 0:
        empty = np.empty(0)
        return (empty, np.empty(0, dtype="S8")) if with_isotopes else empty
    first = int(truth["event_id"][0])
    per_event = np.bincount(
        kept[:, 4].astype(np.int64) - first,
        weights=visible_energy_mev(kept, scenario),
        minlength=truth.size,
    )
    seen = per_event > 0
    visible = np.asarray(per_event[seen], dtype=np.float64)
    return (visible, truth["isotope"][seen]) if with_isotopes else visible


# pile-up: events whose charge reaches the collection wires within the TPG clusterer's gaps
# (triggerml.tpg.clusters.ClusterConfig: 2 wires, 30 samples) end up in one cluster
PILEUP_WIRES, PILEUP_TICKS = 2, 30


@dataclass(frozen=True)
class PileUp:
    """Groups of coincident background events in one APA: their summed visible energy."""

    seconds: float
    visible_mev: npt.NDArray[np.float64]  # per group of ≥ 2 events
    largest_mev: npt.NDArray[np.float64]  # its largest single event

    def rate_above(self, threshold: float) -> dict[str, float]:
        """Groups above ``threshold`` only because they pile up (every member below it)."""
        k = int(((self.visible_mev >= threshold) & (self.largest_mev < threshold)).sum())
        return counted_rate(k, self.seconds)


def simulate_pileup(scenario: DetectorScenario, seconds: float, seed: int) -> PileUp:
    """Every background source together in one APA: coincident events whose charge the TPG
    would cluster together (its gaps, on the collection plane)."""
    generator = EventGenerator(scenario, np.random.default_rng(seed))
    ticks = max(1, round(seconds / generator.tick_s))
    truth, deposits = generator.window(0, ticks)
    kept = deposits[inside(deposits, scenario)]
    live = ticks * generator.tick_s
    if truth.size == 0 or kept.size == 0:
        return PileUp(live, np.empty(0), np.empty(0))
    event = kept[:, 4].astype(np.int64) - int(truth["event_id"][0])
    ticks_per_us = scenario.readout.sampling_hz / 1e6
    arrival = np.floor(truth["time_tick"][event] + drift_time_us(kept, scenario) * ticks_per_us)
    wire = np.floor(wire_coordinates(kept[:, :3], scenario)["x"])
    # charge that the TPG would see as one cluster: deposits (not whole events — a γ's
    # Compton sites lie tens of cm apart) within the clusterer's gaps, on one APA face
    groups = group_boxes(
        (kept[:, 0] < 0).astype(np.int64),
        arrival,
        arrival,
        wire,
        wire,
        PILEUP_WIRES,
        PILEUP_TICKS,
    )
    visible = visible_energy_mev(kept, scenario)
    total = np.bincount(groups, weights=visible).astype(np.float64)
    pairs, where = np.unique(groups * truth.size + event, return_inverse=True)
    share = np.bincount(where, weights=visible)  # each event's share of each group
    owner = pairs // truth.size
    members = np.bincount(owner, minlength=total.size)
    largest = np.zeros(total.size)
    np.maximum.at(largest, owner, share)
    piled = members >= 2
    return PileUp(live, total[piled], largest[piled])


def sn_visible_mev(scenario: DetectorScenario, events: int, seed: int) -> npt.NDArray[np.float64]:
    """Visible energies of simulated SN νe-CC events (no backgrounds) in this APA."""
    sn = dataclasses.replace(
        scenario.supernova, distance_kpc=1.0, duration_s=1.0, time_profile=TimeProfile.FLAT
    )
    alone = dataclasses.replace(quiet(scenario), supernova=sn)
    per_second = sn.expected_events(alone.mass_per_apa_t)
    generator = EventGenerator(alone, np.random.default_rng(seed), only=())
    ticks = round(min(events / per_second, 1.0) / generator.tick_s)
    truth, deposits = generator.window(0, ticks)
    return event_visible_mev(truth, deposits, alone)


def survey(
    scenario: DetectorScenario,
    seconds: float = 1.0,
    events: int = 2000,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every source in a central and an outer APA: the `sources.json` document, plus the
    spectra for the plot under the key ``_spectra``."""
    base = quiet(scenario)
    kinds = {kind: dataclasses.replace(base, apa_kind=kind) for kind in ApaKind}
    results: dict[str, dict[ApaKind, SourceResult]] = {}
    for index, source in enumerate(catalogue.SOURCES):
        if on_step is not None:
            on_step(source.name)
        results[source.name] = {
            kind: simulate_source(kinds[kind], source.name, seconds, events, scenario.seed + index)
            for kind in ApaKind
        }
    sn = {kind: sn_visible_mev(kinds[kind], events, scenario.seed + 999) for kind in ApaKind}
    if on_step is not None:
        on_step("pile-up")
    piled = {kind: simulate_pileup(kinds[kind], seconds, scenario.seed + 777) for kind in ApaKind}
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "seconds_simulated": seconds,
        "module": {
            "active_mass_t": round(scenario.module_mass_t(), 1),
            "apas": {"central": scenario.module.central_apas, "outer": scenario.module.outer_apas},
            "mass_per_apa_t": {k.value: round(kinds[k].mass_per_apa_t, 2) for k in ApaKind},
        },
        "sources": [
            _source_record(scenario, source, results[source.name]) for source in catalogue.SOURCES
        ],
        "pileup": {
            "windows": {"wires": PILEUP_WIRES, "samples": PILEUP_TICKS},
            "note": "all sources together; groups of ≥ 2 coincident events above a threshold "
            "that none of their members reaches alone",
            "seconds": {k.value: piled[k].seconds for k in ApaKind},
            **_rates_above(piled),
        },
        "sn_nue_cc": {
            "events_per_apa_10kpc": {
                k.value: dataclasses.replace(
                    scenario.supernova, distance_kpc=SN_REFERENCE_KPC
                ).expected_events(kinds[k].mass_per_apa_t)
                for k in ApaKind
            },
            "events_simulated": {k.value: int(sn[k].size) for k in ApaKind},
            # flux × cross section × argon nuclei, against the figure DESIGN §4 cites
            "events_per_module_10kpc": scenario.supernova.expected_events(
                scenario.module_mass_t(), SN_REFERENCE_KPC
            ),
            "cited_events_per_module_10kpc": CITED_EVENTS_40KT_10KPC
            * scenario.module_mass_t()
            / 40_000.0,
            "cited_source": CITED_EVENTS_SOURCE,
        },
        "scenario_sha256": sha256_json(dataclasses.asdict(scenario)),
        "versions": versions(),
        "triggerml": __version__,
        "created": now_iso(),
    }
    document["_spectra"] = {
        "sources": {
            name: {k.value: (r[k].visible_mev, r[k].seconds) for k in ApaKind}
            for name, r in results.items()
        },
        "sn": {k.value: sn[k] for k in ApaKind},
        "sn_per_apa": document["sn_nue_cc"]["events_per_apa_10kpc"],
    }
    return document


def _rates_above(by_kind: dict[ApaKind, Any]) -> dict[str, Any]:
    """Per threshold and APA kind, the rate of visible energy above it: the value, and the
    value with its interval."""
    return {
        "rate_visible_above_mev": {
            str(t): {k.value: by_kind[k].rate_above(t)["value"] for k in ApaKind}
            for t in THRESHOLDS_MEV
        },
        "rate_visible_interval_above_mev": {
            str(t): {k.value: by_kind[k].rate_above(t) for k in ApaKind} for t in THRESHOLDS_MEV
        },
    }


def _source_record(
    scenario: DetectorScenario, source: catalogue.Source, by_kind: dict[ApaKind, SourceResult]
) -> dict[str, Any]:
    parent = source.derived_from or source.name
    return {
        "name": source.name,
        "location": source.location.value,
        "activity": scenario.activity(parent),
        "activity_unit": source.unit,
        "derived_from": source.derived_from,
        "rate_hz_per_apa": {k.value: by_kind[k].rate()["value"] for k in ApaKind},
        "rate_interval_hz_per_apa": {k.value: by_kind[k].rate() for k in ApaKind},
        **_rates_above(by_kind),
        "max_visible_mev": {
            k.value: float(by_kind[k].visible_mev.max(initial=0.0)) for k in ApaKind
        },
        "seconds": {k.value: by_kind[k].seconds for k in ApaKind},
        "emitted": {k.value: by_kind[k].count for k in ApaKind},
        "note": source.note,
        **_by_isotope(source, by_kind),
    }


def _by_isotope(source: catalogue.Source, by_kind: dict[ApaKind, SourceResult]) -> dict[str, Any]:
    """Neutron captures split by the captured isotope (Ar-40 → Ar-41, Ar-36 → Ar-37)."""
    if source.location is not catalogue.Location.CAPTURE:
        return {}
    names = sorted(
        {i.decode() for r in by_kind.values() if r.isotopes is not None for i in r.isotopes}
    )
    return {
        "by_isotope": {
            name: {
                "rate_visible_above_mev": {
                    str(t): {k.value: by_kind[k].only(name).rate_above(t) for k in ApaKind}
                    for t in THRESHOLDS_MEV
                },
                "events": {k.value: by_kind[k].only(name).count for k in ApaKind},
            }
            for name in names
        }
    }


def write(document: dict[str, Any], out: Path) -> None:
    """``sources.png`` then ``sources.json`` (last) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    plot(document["_spectra"], out / "sources.png")
    write_json(out / "sources.json", {k: v for k, v in document.items() if k != "_spectra"})


def plot(spectra: dict[str, Any], path: Path) -> None:
    """Stacked visible-energy spectra (Hz per APA per MeV) per source and APA kind, with the
    SN νe-CC spectrum at 10 kpc (events per APA per MeV, right axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = SPECTRUM_EDGES_MEV
    width = np.diff(edges)
    centers = (edges[:-1] + edges[1:]) / 2
    fig, axes = plt.subplots(1, 2, figsize=(15, 7.5), sharey=True, constrained_layout=True)
    colours = [plt.get_cmap("tab20")(i) for i in range(20)]
    colours += [plt.get_cmap("tab20b")(i) for i in range(20)]
    names = list(spectra["sources"])  # one colour per source, the same in both panels
    for ax, kind in zip(axes, ("central", "outer"), strict=True):
        layers = []
        for name, by_kind in spectra["sources"].items():
            visible, seconds = by_kind[kind]
            counts, _ = np.histogram(visible, edges)
            if counts.sum():
                layers.append((name, counts / seconds / width))
        layers.sort(key=lambda layer: -layer[1].sum())
        bottom = np.zeros(centers.size)
        for name, rate in layers:
            colour = colours[names.index(name) % len(colours)]
            ax.bar(centers, rate, width, bottom=bottom, color=colour, label=name, lw=0)
            bottom += rate
        ax.set_yscale("log")
        ax.set_ylim(1e-4, max(bottom.max() * 3, 1.0))
        ax.set_xlabel("visible energy (MeV, collected charge on a MIP scale)")
        ax.set_title(f"{kind} APA: backgrounds, each source simulated alone")
        twin = ax.twinx()
        sn = spectra["sn"][kind]
        if sn.size:
            coarse = edges[::4]  # 1 MeV bins: the SN sample is smaller
            counts, _ = np.histogram(sn, coarse)
            scale = spectra["sn_per_apa"][kind] / max(sn.size, 1)
            twin.step(coarse[:-1], counts * scale / np.diff(coarse), where="post", color="k", lw=2)
            twin.set_ylabel("SN νe-CC at 10 kpc: events per APA per MeV (black line)")
        ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    axes[0].set_ylabel("background rate per APA (Hz/MeV)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
