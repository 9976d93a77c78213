"""Which events happen in a time window: every background source, supernova νe-CC, singles.

The background sources and their activities are :mod:`triggerml.detector.catalogue`'s (DUNE's
radiological model); :func:`emissions` turns them into rates for one APA of the scenario's
kind (`central`: two drift volumes, two cathode sheets; `outer`: one of each, and external γ
through the wall side too).  Per window each emission draws a Poisson count, places it where
its source sits and generates its particles: α as points, β as tracks (points below
:data:`particles.POINT_BELOW_MEV`), γ collected and sent through
:func:`triggerml.detector.photons.transport` in one call per window.  Supernova events are
N(40 kt, 10 kpc) × (10/d)² × mass / 40 kt spread over the burst's time profile.

Simplifications (≈): external γ and neutron rates are per APA and uniform over the planes
(the planes at the ends of a row of 25 APAs are left out: they reach 2 of 25 APAs); neutrons
are not transported — captures are uniform in the active argon at the module-average rate
(flux × module surface / module mass × APA mass); head boards and frame sit as thin strips
at the APA's outer end and perimeter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml import records
from triggerml.detector import (
    bitgen,
    catalogue,
    libm,
    particles,
    photons,
    sampling,
    spectra,
    supernova,
)
from triggerml.detector.catalogue import Location, Source
from triggerml.detector.config import (
    ApaKind,
    DetectorScenario,
    Particle,
    Singles,
    Supernova,
    TimeProfile,
)
from triggerml.detector.decay_table import DecayTable

TRUTH_DTYPE = np.dtype(
    [
        ("event_id", np.int64),
        ("kind", "S16"),  # source name (catalogue), "snb_nue" or "single_<particle>"
        ("isotope", "S8"),  # chain member, captured isotope or "gamma"; empty for signals
        ("time_tick", np.int64),
        ("true_energy_mev", np.float64),  # primary's kinetic energy (electron for νe-CC)
        ("neutrino_energy_mev", np.float64),  # νe-CC only, else 0
        ("deposited_energy_mev", np.float64),  # inside the active volume
        ("x_cm", np.float32),
        ("y_cm", np.float32),
        ("z_cm", np.float32),
        ("channel_min", np.int32),
        ("channel_max", np.int32),  # collection plane, -1: none
        ("tick_min", np.int64),
        ("tick_max", np.int64),  # collection arrivals, absolute ticks
    ]
)
SURFACE_STEP_CM = 0.01  # an α or point β from a surface lands this far along its direction
PHOTON_MARGIN_CM = 60.0  # photons are followed this far outside the active volume
ELECTRON_MARGIN_CM = 3.0  # electrons born farther out cannot reach it (range ≤ 3 cm ≈ 6 MeV)
BULK = (Location.CPA_FR4, Location.APA_BOARDS, Location.APA_STEEL)  # only their γ leave
SURFACE = (Location.CATHODE, Location.PDS)  # α and β start a step into the argon
PLACE_KIND = {  # the branch of EventGenerator._place (and sampling._place) per location
    Location.LAR: sampling.PLACE_VOLUME,
    Location.CAPTURE: sampling.PLACE_VOLUME,
    Location.CATHODE: sampling.PLACE_SHEET,
    Location.CPA_FR4: sampling.PLACE_SHEET,
    Location.APA_BOARDS: sampling.PLACE_BOARDS,
    Location.APA_STEEL: sampling.PLACE_FRAME,
    Location.PDS: sampling.PLACE_PDS,
    Location.EXTERNAL: sampling.PLACE_VOLUME,  # never placed: drawn from planes
}
STRIP_CM = 5.0  # half-size of the head-board and frame strips (≈)


def volume_bounds_cm(scenario: DetectorScenario) -> tuple[np.ndarray, np.ndarray]:
    """Active volume of this APA: x ∈ ±drift (central) or [0, drift] (outer)."""
    g = scenario.geometry
    x_lo = -g.drift_length_m if scenario.apa_kind is ApaKind.CENTRAL else 0.0
    lo = np.array([x_lo, 0.0, 0.0]) * 100
    hi = np.array([g.drift_length_m, g.height_m, g.width_m]) * 100
    return lo, hi


@dataclass(frozen=True)
class Emission:
    """One isotope (or photon flux) of one source at its rate in this APA."""

    source: Source
    isotope: str  # chain member; "gamma" for external planes; "Ar40"/"Ar36" for captures
    rate_hz: float  # decays, photons emitted or captures per second in this APA
    plane: str = ""  # external: "top" or "wall"


def emissions(scenario: DetectorScenario) -> list[Emission]:
    """Every source of the model as rates for one APA of the scenario's kind."""
    g, st = scenario.geometry, scenario.structures
    volumes = scenario.drift_volumes
    volume_kg = scenario.drift_volume_mass_kg
    sheet_cm2 = g.height_m * g.width_m * 1e4
    sheet_kg = sheet_cm2 * st.cpa_thickness_cm * st.fr4_density_g_cm3 / 1e3
    out: list[Emission] = []
    for source in catalogue.SOURCES:
        parent = source.derived_from or source.name
        activity = scenario.activity(parent)
        if source.location is Location.EXTERNAL:
            top_cm2 = volumes * g.drift_length_m * g.width_m * 1e4
            out.append(Emission(source, "gamma", activity * top_cm2, "top"))
            if scenario.apa_kind is ApaKind.OUTER:
                factor = (
                    st.wall_factor_ngamma
                    if (source.spectrum or "").startswith("ngamma")
                    else st.wall_factor_gamma
                )
                out.append(Emission(source, "gamma", activity * sheet_cm2 * factor, "wall"))
            continue
        if source.location is Location.CAPTURE:
            per_kg = activity * scenario.module_surface_cm2() / (scenario.module_mass_t() * 1e3)
            total = per_kg * scenario.mass_per_apa_t * 1e3
            ar36 = catalogue.AR36_CAPTURE_FRACTION
            out.append(Emission(source, "Ar40", total * (1 - ar36)))
            out.append(Emission(source, "Ar36", total * ar36))
            continue
        amount = {
            Location.LAR: volumes * volume_kg,
            Location.CATHODE: 2 * volume_kg * volumes,  # ions from both sides of each sheet
            Location.CPA_FR4: sheet_kg * volumes,
            Location.APA_BOARDS: st.head_boards_fr4_kg,
            Location.APA_STEEL: st.frame_steel_kg,
            Location.PDS: st.pds_modules * st.pds_module_area_cm2 / 1e4,
        }[source.location]
        for isotope, multiplicity in source.chain:
            fraction = _plateout_share(scenario, source, isotope)
            out.append(Emission(source, isotope, activity * amount * multiplicity * fraction))
    return out


def _plateout_share(scenario: DetectorScenario, source: Source, isotope: str) -> float:
    """The share of a liquid activity that decays where ``source`` sits."""
    key = source.plateout
    if key is None and source.name.startswith("Rn222"):
        key = catalogue.RN222_DAUGHTER_PLATEOUT.get(isotope)  # Rn-222 itself stays: None
    if key is None:
        return 1.0
    fraction = scenario.plateout_fraction(key)
    return fraction if source.location is Location.CATHODE else 1.0 - fraction


class EventGenerator:
    """Draws the events of consecutive time windows of one APA stream.

    ``emitted`` counts, per source name, the decays, captures or photons drawn so far
    (external photons count whether or not they reach the active volume)."""

    def __init__(
        self,
        scenario: DetectorScenario,
        rng: np.random.Generator,
        only: Collection[str] | None = None,
        numba_draws: bool = True,
    ) -> None:
        """``only``: simulate just these background sources (by name; signals as configured).
        ``numba_draws``: decays and external photons by :mod:`sampling`'s kernels (False:
        by the numpy code they are tested equal to)."""
        self.numba_draws = numba_draws
        self.scenario = scenario
        self._rng = rng
        self._rng_at = bitgen.addresses(rng)  # the kernels' handle on it (valid while rng is)
        self.next_id = 0
        self.lo, self.hi = volume_bounds_cm(scenario)
        self.tick_s = scenario.readout.tick_ns * 1e-9
        self.emissions = [
            e
            for e in emissions(scenario)
            if e.rate_hz > 0 and (only is None or e.source.name in only)
        ]
        self.emitted: Counter[str] = Counter()
        decaying = [
            i
            for i, e in enumerate(self.emissions)
            if e.source.location not in (Location.EXTERNAL, Location.CAPTURE)
        ]
        self._decay_table = DecayTable.build(
            [self.emissions[i].isotope for i in decaying],
            [self.emissions[i].rate_hz for i in decaying],
            decaying,
        )
        self._location = [e.source.location for e in self.emissions]
        # each emission's location as its rank among the locations' names: sorting ranks
        # places sources in the order sorting the names did (the order of the draws)
        self._places = sorted({str(loc) for loc in self._location})
        self._place_rank = np.array(
            [self._places.index(str(loc)) for loc in self._location] or [0], dtype=np.int64
        )
        self._place_kinds = np.array([PLACE_KIND[Location(name)] for name in self._places])
        self._place_of_row = self._place_rank[self._decay_table.emission]
        g = scenario.geometry
        self._place_sizes = np.array(
            [g.height_m * 100, g.width_m * 100, g.drift_length_m * 100, STRIP_CM]
        )
        self._bulk = np.array([loc in BULK for loc in self._location] or [False], dtype=bool)
        self._surface = np.array([loc in SURFACE for loc in self._location] or [False], dtype=bool)
        self._kind = np.array([e.source.name for e in self.emissions] or [""], dtype="S16")
        self._isotope = np.array([e.isotope for e in self.emissions] or [""], dtype="S8")
        self._sn_table = (
            supernova.neutrino_table(scenario.supernova)
            if scenario.supernova.distance_kpc
            else None
        )
        # the burst's νe-CC events in this APA (a 4,000-point integral: once, not per window)
        self._sn_events = scenario.supernova.expected_events(scenario.mass_per_apa_t)

    @property
    def rng(self) -> np.random.Generator:
        """The generator every draw comes from (fixed: the kernels hold its addresses)."""
        return self._rng

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A copy or an unpickled generator has its own Generator: re-read its addresses
        (the copied ones point at the original's, or into another process)."""
        self.__dict__.update(state)
        self._rng_at = bitgen.addresses(self._rng)

    def _positions(self, n: int) -> npt.NDArray[np.float64]:
        return self.rng.uniform(self.lo, self.hi, (n, 3))

    def _times(self, n: int, t0: int, t1: int) -> npt.NDArray[np.int64]:
        return np.sort(self.rng.integers(t0, t1, n))

    def window(self, t0: int, t1: int) -> tuple[npt.NDArray, npt.NDArray[np.float64]]:
        """Events with interaction tick in [t0, t1): truth (no extents yet, sorted by
        event id) and deposits (x, y, z, MeV, event id, alpha) in cm."""
        deposits = particles.Deposits()
        self._rows: list[tuple] = []
        self._blocks: list[npt.NDArray] = []
        self._photons: list[tuple[npt.NDArray, ...]] = []  # queued for one shower call
        self._electrons: list[tuple[npt.NDArray, ...]] = []
        seconds = (t1 - t0) * self.tick_s
        self._decays(seconds, t0, t1, deposits)
        for emission in self.emissions:
            location = emission.source.location
            if location not in (Location.EXTERNAL, Location.CAPTURE):
                continue
            n = int(self.rng.poisson(emission.rate_hz * seconds))
            if n == 0:
                continue
            self.emitted[emission.source.name] += n
            if location is Location.EXTERNAL:
                self._external(emission, n, t0, t1)
            else:
                self._captures(emission, n, t0, t1)
        self._supernova(t0, t1)
        self._singles(t0, t1)
        self._shower(deposits)
        truth = records.concatenate([*self._blocks, _truth_from_rows(self._rows)])
        truth = records.take(truth, np.argsort(truth["event_id"], kind="stable"))
        return truth, deposits.array()

    # --- where sources sit ----------------------------------------------------------------
    def _place(self, location: Location, n: int) -> npt.NDArray[np.float64]:
        g, st = self.scenario.geometry, self.scenario.structures
        height, width, drift = g.height_m * 100, g.width_m * 100, g.drift_length_m * 100
        rng = self.rng
        if location in (Location.LAR, Location.CAPTURE):
            return self._positions(n)
        pos = np.empty((n, 3))
        pos[:, 2] = rng.uniform(0, width, n)
        if location in (Location.CATHODE, Location.CPA_FR4):
            sides = (
                rng.choice(np.array([-1.0, 1.0]), n)
                if self.scenario.apa_kind is ApaKind.CENTRAL
                else np.ones(n)
            )
            pos[:, 0] = sides * drift
            pos[:, 1] = rng.uniform(0, height, n)
        elif location is Location.APA_BOARDS:
            pos[:, 0] = rng.uniform(-STRIP_CM, STRIP_CM, n)
            pos[:, 1] = height + rng.uniform(0, 2 * STRIP_CM, n)
        elif location is Location.APA_STEEL:  # the frame's perimeter, by length
            along = rng.uniform(0, 2 * (height + width), n)
            side = along < 2 * height
            pos[:, 0] = rng.uniform(-STRIP_CM, STRIP_CM, n)
            pos[side, 1] = along[side] % height
            pos[side, 2] = np.where(along[side] < height, -STRIP_CM, width + STRIP_CM)
            rest = ~side
            across = along[rest] - 2 * height
            pos[rest, 2] = across % width
            pos[rest, 1] = np.where(across < width, -STRIP_CM, height + STRIP_CM)
        elif location is Location.PDS:
            modules = max(st.pds_modules, 1)
            pos[:, 0] = 0.0
            pos[:, 1] = (rng.integers(0, modules, n) + 0.5) * height / modules
        else:
            raise ValueError(f"no placement for {location}")
        return pos

    # --- decays -------------------------------------------------------------------------
    def _decays(self, seconds: float, t0: int, t1: int, deposits: particles.Deposits) -> None:
        """One window's decays: a truth row each; α and β stay in bulk material (only its γ
        leave), surface decays emit them into the argon when their direction points there."""
        draws = self._decay_draws if self.numba_draws else self._decay_draws_numpy
        rows, energies, positions, ticks, directions, slot_directions = draws(seconds, t0, t1)
        n = rows.size
        if n == 0:
            return
        table = self._decay_table
        which = table.emission[rows]
        counts = np.bincount(which, minlength=len(self.emissions))
        for index in np.flatnonzero(counts):
            self.emitted[self.emissions[index].source.name] += int(counts[index])
        ids = self._truth_block(self._kind[which], self._isotope[which], ticks, energies, positions)
        bulk = self._bulk[which]
        surface = self._surface[which]
        start = positions + SURFACE_STEP_CM * directions * surface[:, None]
        alpha = ~bulk & (table.alpha_mev[rows] > 0)
        deposits.add_points(start[alpha], energies[alpha], ids[alpha], alpha=True)
        beta = ~bulk & (table.beta_q_mev[rows] > 0)
        self._electrons.append((start[beta], directions[beta], energies[beta], ids[beta]))
        for slot in range(table.gammas_mev.shape[1]):
            gammas = table.gammas_mev[rows, slot]
            has = gammas > 0
            if has.any():
                m = int(has.sum())
                self._photons.append(
                    (positions[has], slot_directions[slot][:m], gammas[has], ids[has])
                )

    def _decay_draws(self, seconds: float, t0: int, t1: int) -> tuple[npt.NDArray, ...]:
        """A window's decays by :func:`sampling.decay_counts` and :func:`sampling.decay_fill`:
        rows, energies, positions, ticks, directions, each γ slot's directions."""
        table = self._decay_table
        counts = np.empty(table.rate_hz.size, dtype=np.int64)
        n = sampling.decay_counts(self._rng_at, table.rate_hz * seconds, counts)
        rows = np.empty(n, dtype=np.int64)
        energies = np.empty(n)
        positions = np.empty((n, 3))
        ticks = np.empty(n, dtype=np.int64)
        directions = np.empty((n, 3))
        slot_directions = np.empty((table.gammas_mev.shape[1], n, 3))
        sampling.decay_fill(
            self._rng_at,
            counts,
            table.beta_inverse_cdf,
            table.beta_q_mev,
            table.alpha_mev,
            table.gammas_mev,
            self._place_of_row,
            self._place_kinds,
            self.lo,
            self.hi,
            self._place_sizes,
            self.scenario.apa_kind is ApaKind.CENTRAL,
            max(self.scenario.structures.pds_modules, 1),
            t0,
            t1,
            rows,
            energies,
            positions,
            ticks,
            directions,
            slot_directions,
        )
        return rows, energies, positions, ticks, directions, slot_directions

    def _decay_draws_numpy(self, seconds: float, t0: int, t1: int) -> tuple[npt.NDArray, ...]:
        """:meth:`_decay_draws` in numpy: the decay table's draw, then placements (by place
        name), times, directions and each γ slot's directions."""
        table = self._decay_table
        rows, energies = table.draw(self.rng, seconds)
        n = rows.size
        positions = np.empty((n, 3))
        slot_directions = np.empty((table.gammas_mev.shape[1], n, 3))
        if n == 0:
            return rows, energies, positions, np.empty(0, np.int64), positions, slot_directions
        rank = self._place_of_row[rows]
        for place in np.flatnonzero(np.bincount(rank)):  # by name: reproducible draws
            mask = rank == place
            positions[mask] = self._place(Location(self._places[place]), int(mask.sum()))
        ticks = self._times(n, t0, t1)
        directions = particles.isotropic(self.rng, n)
        for slot in range(table.gammas_mev.shape[1]):
            m = int((table.gammas_mev[rows, slot] > 0).sum())
            if m:
                slot_directions[slot, :m] = particles.isotropic(self.rng, m)
        return rows, energies, positions, ticks, directions, slot_directions

    def _truth_block(
        self,
        kind: str | npt.NDArray,
        isotope: str | npt.NDArray,
        times: npt.NDArray[np.int64],
        energies: npt.NDArray[np.float64],
        positions: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.int64]:
        """Truth rows for a block of events; returns their event ids."""
        count = energies.size
        ids = self.next_id + np.arange(count, dtype=np.int64)
        self.next_id += count
        truth: Any = np.zeros(count, dtype=TRUTH_DTYPE)
        truth["event_id"] = ids
        truth["kind"] = kind
        truth["isotope"] = isotope
        truth["time_tick"] = times
        truth["true_energy_mev"] = energies
        for axis, name in enumerate(("x_cm", "y_cm", "z_cm")):
            truth[name] = positions[:, axis]
        self._blocks.append(truth)
        return ids

    def _add_photons(
        self,
        positions: npt.NDArray[np.float64],
        energies: npt.NDArray[np.float64],
        events: npt.NDArray[np.int64],
        directions: npt.NDArray[np.float64] | None = None,
    ) -> None:
        """Queue photons (isotropic unless given) for the window's transport call."""
        positions = np.atleast_2d(positions)
        if directions is None:
            directions = particles.isotropic(self.rng, positions.shape[0])
        self._photons.append((positions, np.atleast_2d(directions), energies, events))

    def _captures(self, emission: Emission, n: int, t0: int, t1: int) -> None:
        levels = catalogue.AR41_LEVELS if emission.isotope == "Ar40" else catalogue.AR37_LEVELS
        for t, pos in zip(self._times(n, t0, t1), self._positions(n), strict=True):
            cascade = catalogue.sample_cascade(self.rng, levels)
            event = self._new_event(
                emission.source.name, int(t), float(sum(cascade)), pos, isotope=emission.isotope
            )
            self._add_photons(
                np.tile(pos, (len(cascade), 1)), np.array(cascade), np.full(len(cascade), event)
            )

    # --- external photons -----------------------------------------------------------------
    def _external(self, emission: Emission, n: int, t0: int, t1: int) -> None:
        """Photons from a plane outside the volume; only those that set an electron moving
        near the active volume become events."""
        draws = self._external_draws if self.numba_draws else self._external_draws_numpy
        pos, energies, xyz, direction, energy, hit, local, ticks = draws(emission, n, t0, t1)
        if hit.size == 0:
            return
        events = self._truth_block(emission.source.name, "gamma", ticks, energies[hit], pos[hit])
        self._electrons.append((xyz, direction, energy, events[local]))

    def _transport(
        self,
        pos: npt.NDArray[np.float64],
        directions: npt.NDArray[np.float64],
        energies: npt.NDArray[np.float64],
        seed: int | None = None,
    ) -> photons.Births:
        """Plane photons followed within ``PHOTON_MARGIN_CM`` of the active volume; their
        electrons kept within ``ELECTRON_MARGIN_CM``."""
        return photons.transport(
            self.rng,
            pos,
            directions,
            energies,
            self.scenario.physics.argon_density_t_m3,
            (self.lo - PHOTON_MARGIN_CM, self.hi + PHOTON_MARGIN_CM),
            (self.lo - ELECTRON_MARGIN_CM, self.hi + ELECTRON_MARGIN_CM),
            seed,
        )

    def _external_draws(
        self, emission: Emission, n: int, t0: int, t1: int
    ) -> tuple[npt.NDArray, ...]:
        """``n`` photons of one plane drawn by :func:`sampling.external_photons`, followed,
        and a tick for each photon that set an electron moving: (starts, energies, the
        births' positions, directions and energies, the photons that made any, each birth's
        index among them, their ticks)."""
        g = self.scenario.geometry
        line_energies, probabilities, (flat_lo, flat_hi) = _external_lines(
            str(emission.source.spectrum)
        )
        pos = np.empty((n, 3))
        energies = np.empty(n)
        directions = np.empty((n, 3))
        seed = sampling.external_photons(
            self._rng_at,
            emission.plane == "top",
            self.lo,
            self.hi,
            g.height_m * 100,
            g.width_m * 100,
            self.scenario.structures.external_offset_cm,
            line_energies,
            probabilities,
            flat_lo,
            flat_hi,
            pos,
            energies,
            directions,
        )
        photon, xyz, direction, energy = self._transport(pos, directions, energies, seed)
        hit = np.empty(photon.size, dtype=np.int64)
        local = np.empty(photon.size, dtype=np.int64)
        hit = hit[: sampling.photon_runs(photon, hit, local)]
        ticks = np.empty(hit.size, dtype=np.int64)
        sampling.sorted_ticks_into(self._rng_at, t0, t1, ticks)
        return pos, energies, xyz, direction, energy, hit, local, ticks

    def _external_draws_numpy(
        self, emission: Emission, n: int, t0: int, t1: int
    ) -> tuple[npt.NDArray, ...]:
        """:meth:`_external_draws` in numpy."""
        g = self.scenario.geometry
        offset = self.scenario.structures.external_offset_cm
        rng = self.rng
        pos = np.empty((n, 3))
        if emission.plane == "top":
            pos[:, 0] = rng.uniform(self.lo[0], self.hi[0], n)
            pos[:, 1] = g.height_m * 100 + offset
        else:  # behind the APA, on the wall side of an outer APA
            pos[:, 0] = -offset
            pos[:, 1] = rng.uniform(0, g.height_m * 100, n)
        pos[:, 2] = rng.uniform(0, g.width_m * 100, n)
        energies = _sample_external(rng, str(emission.source.spectrum), n)
        directions = particles.isotropic(rng, n)
        photon, xyz, direction, energy = self._transport(pos, directions, energies)
        if photon.size == 0:
            empty = np.empty(0, np.int64)
            return pos, energies, xyz, direction, energy, empty, empty, empty
        hit, local = np.unique(photon, return_inverse=True)
        return pos, energies, xyz, direction, energy, hit, local, self._times(hit.size, t0, t1)

    def _shower(self, deposits: particles.Deposits) -> None:
        """Every queued photon and electron of the window, and all they set moving."""
        if not self._photons and not self._electrons:
            return
        batches = [
            tuple(np.concatenate([np.asarray(b[i]) for b in queue]) for i in range(4))
            if queue
            else None
            for queue in (self._photons, self._electrons)
        ]
        particles.shower(
            self.rng,
            self.scenario.physics,
            deposits,
            photon_batch=batches[0],
            electrons=batches[1],
            photon_box=(self.lo - PHOTON_MARGIN_CM, self.hi + PHOTON_MARGIN_CM),
            electron_box=(self.lo - ELECTRON_MARGIN_CM, self.hi + ELECTRON_MARGIN_CM),
        )

    # --- supernova and singles ---------------------------------------------------------
    def _supernova(self, t0: int, t1: int) -> None:
        sn = self.scenario.supernova
        if self._sn_table is None:
            return
        start = sn.start_s / self.tick_s
        fraction = profile_cdf(sn, (t1 - start) * self.tick_s) - profile_cdf(
            sn, (t0 - start) * self.tick_s
        )
        n = self.rng.poisson(self._sn_events * fraction)
        if n == 0:
            return
        lo_u = profile_cdf(sn, (t0 - start) * self.tick_s)
        u = self.rng.uniform(lo_u, lo_u + fraction, n)
        times = np.clip(start + _profile_inverse(sn, u) / self.tick_s, t0, t1 - 1)
        grid, pdf = self._sn_table
        nu = spectra.sample_table(self.rng, grid, pdf, n)
        electrons, cascades = supernova.sample_final_states(self.rng, nu)
        positions = self._positions(n)
        self.emitted["snb_nue"] += n
        order = np.argsort(times, kind="stable")
        for k in order:
            pos = positions[k]
            event = self._new_event(
                "snb_nue", int(times[k]), float(electrons[k]), pos, float(nu[k])
            )
            self._add_electron(pos, particles.isotropic(self.rng), float(electrons[k]), event)
            gammas = cascades[k]
            self._add_photons(
                np.tile(pos, (len(gammas), 1)), np.array(gammas), np.full(len(gammas), event)
            )

    def _singles(self, t0: int, t1: int) -> None:
        singles = self.scenario.singles
        if singles.rate_hz <= 0:
            return
        n = self.rng.poisson(singles.rate_hz * (t1 - t0) * self.tick_s)
        energies = self._single_energies(singles, n)
        kind = f"single_{singles.particle.value}"
        for t, e, pos in zip(self._times(n, t0, t1), energies, self._positions(n), strict=True):
            event = self._new_event(kind, int(t), float(e), pos)
            direction = particles.isotropic(self.rng)
            if singles.particle is Particle.ELECTRON:
                self._add_electron(pos, direction, float(e), event)
            else:
                self._add_photons(pos, np.array([e]), np.array([event]), direction)

    def _single_energies(self, singles: Singles, n: int) -> npt.NDArray[np.float64]:
        if not singles.ranges_mev:
            return self.rng.choice(np.array(singles.energies_mev, dtype=np.float64), size=n)
        fixed = np.array(singles.energies_mev, dtype=np.float64)
        ranges = np.array(singles.ranges_mev, dtype=np.float64).reshape(-1, 2)
        slot = self.rng.integers(0, fixed.size + len(ranges), size=n)
        flat = self.rng.random(n)
        in_range = slot >= fixed.size
        energies = np.empty(n)
        energies[~in_range] = fixed[slot[~in_range]]
        lo_hi = ranges[slot[in_range] - fixed.size]
        energies[in_range] = lo_hi[:, 0] + flat[in_range] * (lo_hi[:, 1] - lo_hi[:, 0])
        return energies

    def _add_electron(
        self, position: npt.NDArray, direction: npt.NDArray, energy: float, event: int
    ) -> None:
        self._electrons.append(
            (
                np.atleast_2d(position),
                np.atleast_2d(direction),
                np.array([energy]),
                np.array([event]),
            )
        )

    def _new_event(
        self,
        kind: str,
        t: int,
        energy: float,
        pos: np.ndarray,
        neutrino: float = 0.0,
        isotope: str = "",
    ) -> int:
        event = self.next_id
        self.next_id += 1
        self._rows.append((event, kind, isotope, t, energy, neutrino, *pos))
        return event


@cache
def _external_lines(
    spectrum: str,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], tuple[float, float]]:
    """A spectrum of :data:`catalogue.EXTERNAL_SPECTRA` as its line energies (NaN: the flat
    continuum), their probabilities, and the continuum's range; made once per spectrum
    (every window asks), read only."""
    lines, (lo, hi, continuum) = catalogue.EXTERNAL_SPECTRA[spectrum]
    energies = np.array([e for e, _ in lines] + [np.nan])
    weights = np.array([w for _, w in lines] + [continuum])
    return energies, weights / weights.sum(), (lo, hi)


def _sample_external(rng: np.random.Generator, spectrum: str, n: int) -> npt.NDArray[np.float64]:
    """Energies from a line + flat-continuum spectrum of :data:`catalogue.EXTERNAL_SPECTRA`."""
    energies, probabilities, (lo, hi) = _external_lines(spectrum)
    pick = rng.choice(len(energies), size=n, p=probabilities)
    out = energies[pick]
    flat = np.isnan(out)
    out[flat] = rng.uniform(lo, hi, int(flat.sum()))
    return out


def external_max_mev(spectrum: str) -> float:
    lines, (_, hi, _) = catalogue.EXTERNAL_SPECTRA[spectrum]
    return max(hi, *(e for e, _ in lines))


def _truth_from_rows(rows: list[tuple]) -> npt.NDArray:
    truth = np.zeros(len(rows), dtype=TRUTH_DTYPE)
    if rows:
        names = (
            "event_id",
            "kind",
            "isotope",
            "time_tick",
            "true_energy_mev",
            "neutrino_energy_mev",
            "x_cm",
            "y_cm",
            "z_cm",
        )
        for name, values in zip(names, zip(*rows, strict=True), strict=True):
            truth[name] = values
    return truth


def profile_cdf(sn: Supernova, t: float) -> float:
    t = float(np.clip(t, 0.0, sn.duration_s))
    if sn.time_profile is TimeProfile.FLAT:
        return t / sn.duration_s
    return float(
        (1 - libm.exp(-t / sn.decay_time_s)) / (1 - libm.exp(-sn.duration_s / sn.decay_time_s))
    )


def _profile_inverse(sn: Supernova, u: np.ndarray) -> np.ndarray:
    if sn.time_profile is TimeProfile.FLAT:
        return u * sn.duration_s
    norm = 1 - libm.exp(-sn.duration_s / sn.decay_time_s)
    return -sn.decay_time_s * libm.log(1 - u * norm)
