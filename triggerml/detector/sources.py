"""Which events happen in a time window: radiological decays, supernova νe-CC, singles.

Returns the truth of each event and its energy deposits.  Rates follow the scenario: decays
per second = activity (Bq/kg) × mass_per_apa; supernova events = N(40 kt, 10 kpc) × (10/d)² ×
mass / 40 kt spread over the burst's time profile.  Positions are uniform in the APA's two
drift volumes (x: ±drift length, y: height, z: width).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.detector import particles, spectra
from triggerml.detector.config import Particle, Scenario, SpectrumKind, Supernova, TimeProfile

TRUTH_DTYPE = np.dtype(
    [
        ("event_id", np.int64),
        ("kind", "S16"),
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


def volume_bounds_cm(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    g = scenario.geometry
    lo = np.array([-g.drift_length_m, 0.0, 0.0]) * 100
    hi = np.array([g.drift_length_m, g.height_m, g.width_m]) * 100
    return lo, hi


class EventGenerator:
    """Draws the events of consecutive time windows of one APA stream."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self.scenario = scenario
        self.rng = rng
        self.next_id = 0
        self.lo, self.hi = volume_bounds_cm(scenario)
        self.tick_s = scenario.readout.tick_ns * 1e-9
        self._sn_table = _neutrino_table(scenario) if scenario.supernova.distance_kpc else None

    def _positions(self, n: int) -> npt.NDArray[np.float64]:
        return self.rng.uniform(self.lo, self.hi, (n, 3))

    def _times(self, n: int, t0: int, t1: int) -> npt.NDArray[np.int64]:
        return np.sort(self.rng.integers(t0, t1, n))

    def window(self, t0: int, t1: int) -> tuple[npt.NDArray, npt.NDArray[np.float64]]:
        """Events with interaction tick in [t0, t1): truth (no extents yet, sorted by
        event id) and deposits (x, y, z, MeV, event id, alpha) in cm."""
        deposits = particles.Deposits()
        rows: list[tuple] = []
        self._blocks: list[npt.NDArray] = []
        seconds = (t1 - t0) * self.tick_s
        mass_kg = self.scenario.mass_per_apa_t * 1e3
        for parent, activity in self.scenario.radiologicals_bq_per_kg.items():
            if activity <= 0:
                continue
            if parent == "neutron":
                n = self.rng.poisson(activity * mass_kg * seconds)
                for t, pos in zip(self._times(n, t0, t1), self._positions(n), strict=True):
                    self._neutron_capture(int(t), pos, rows, deposits)
                continue
            for member, decay in spectra.DECAYS[parent]:
                n = self.rng.poisson(activity * mass_kg * seconds)
                if n:
                    self._decays(member, decay, n, t0, t1, rows, deposits)
        self._supernova(t0, t1, rows, deposits)
        self._singles(t0, t1, rows, deposits)
        truth = np.concatenate([*self._blocks, _truth_from_rows(rows)])
        truth = truth[np.argsort(truth["event_id"], kind="stable")]
        return truth, deposits.array()

    # --- radiologicals -----------------------------------------------------------------
    def _decays(
        self,
        kind: str,
        decay: spectra.Decay,
        n: int,
        t0: int,
        t1: int,
        rows: list[tuple],
        deposits: particles.Deposits,
    ) -> None:
        probabilities = np.array([b.probability for b in decay.branches])
        choice = self.rng.choice(len(decay.branches), size=n, p=probabilities / probabilities.sum())
        times = self._times(n, t0, t1)
        positions = self._positions(n)
        for index, branch in enumerate(decay.branches):
            picked = np.flatnonzero(choice == index)
            if picked.size == 0:
                continue
            simple = (
                branch.alpha_mev == 0
                and not branch.gammas_mev
                and branch.beta_q_mev < particles.POINT_BELOW_MEV
            )
            energies = (
                spectra.sample_beta(self.rng, branch.beta_q_mev, decay.daughter_z, picked.size)
                if branch.beta_q_mev
                else np.full(picked.size, branch.alpha_mev)
            )
            if simple:  # a sub-MeV β: one point, vectorized
                ids = self.next_id + np.arange(picked.size)
                self.next_id += picked.size
                points = np.empty((picked.size, 6))
                points[:, :3] = positions[picked]
                points[:, 3] = energies
                points[:, 4] = ids
                points[:, 5] = 0.0
                deposits.chunks.append(points)
                truth: Any = np.zeros(picked.size, dtype=TRUTH_DTYPE)
                truth["event_id"] = ids
                truth["kind"] = kind
                truth["time_tick"] = times[picked]
                truth["true_energy_mev"] = energies
                for axis, name in enumerate(("x_cm", "y_cm", "z_cm")):
                    truth[name] = positions[picked, axis]
                self._blocks.append(truth)
                continue
            for j, k in enumerate(picked):
                event = self._new_event(rows, kind, int(times[k]), float(energies[j]), positions[k])
                if branch.alpha_mev:
                    particles.alpha(positions[k], branch.alpha_mev, deposits, event)
                if branch.beta_q_mev:
                    self._track(
                        particles.electron, positions[k], float(energies[j]), deposits, event
                    )
                for g in branch.gammas_mev:
                    self._track(particles.gamma, positions[k], g, deposits, event)

    def _neutron_capture(
        self, t: int, pos: np.ndarray, rows: list[tuple], deposits: particles.Deposits
    ) -> None:
        probs = np.array([p for p, _ in spectra.NEUTRON_CASCADES])
        _, cascade = spectra.NEUTRON_CASCADES[self.rng.choice(len(probs), p=probs)]
        event = self._new_event(rows, "neutron", t, float(sum(cascade)), pos)
        for g in cascade:
            self._track(particles.gamma, pos, g, deposits, event)

    # --- supernova and singles ---------------------------------------------------------
    def _supernova(self, t0: int, t1: int, rows: list[tuple], deposits: particles.Deposits) -> None:
        sn = self.scenario.supernova
        if self._sn_table is None:
            return
        start = sn.start_s / self.tick_s
        fraction = profile_cdf(sn, (t1 - start) * self.tick_s) - profile_cdf(
            sn, (t0 - start) * self.tick_s
        )
        n = self.rng.poisson(sn.expected_events(self.scenario.mass_per_apa_t) * fraction)
        if n == 0:
            return
        lo_u = profile_cdf(sn, (t0 - start) * self.tick_s)
        u = self.rng.uniform(lo_u, lo_u + fraction, n)
        times = np.clip(start + _profile_inverse(sn, u) / self.tick_s, t0, t1 - 1)
        grid, pdf = self._sn_table
        nu = spectra.sample_table(self.rng, grid, pdf, n)
        positions = self._positions(n)
        for t, e_nu, pos in zip(np.sort(times.astype(np.int64)), nu, positions, strict=True):
            e_electron = float(e_nu - sn.q_value_mev - sn.excitation_mev)
            event = self._new_event(rows, "snb_nue", int(t), e_electron, pos, float(e_nu))
            self._track(particles.electron, pos, e_electron, deposits, event)
            for g in _split_energy(self.rng, sn.excitation_mev):
                self._track(particles.gamma, pos, g, deposits, event)

    def _singles(self, t0: int, t1: int, rows: list[tuple], deposits: particles.Deposits) -> None:
        singles = self.scenario.singles
        if singles.rate_hz <= 0:
            return
        n = self.rng.poisson(singles.rate_hz * (t1 - t0) * self.tick_s)
        energies = self.rng.choice(np.array(singles.energies_mev), size=n)
        for t, e, pos in zip(self._times(n, t0, t1), energies, self._positions(n), strict=True):
            kind = f"single_{singles.particle.value}"
            event = self._new_event(rows, kind, int(t), float(e), pos)
            track = particles.electron if singles.particle is Particle.ELECTRON else particles.gamma
            self._track(track, pos, e, deposits, event)

    def _track(
        self,
        track: Callable[..., None],
        position: np.ndarray,
        energy: float,
        deposits: particles.Deposits,
        event: int,
    ) -> None:
        """One particle from ``position`` in a random direction."""
        track(
            self.rng,
            position,
            particles.isotropic(self.rng),
            float(energy),
            self.scenario.physics,
            deposits,
            event,
        )

    def _new_event(
        self,
        rows: list[tuple],
        kind: str,
        t: int,
        energy: float,
        pos: np.ndarray,
        neutrino: float = 0.0,
    ) -> int:
        event = self.next_id
        self.next_id += 1
        rows.append((event, kind, t, energy, neutrino, *pos))
        return event


def _truth_from_rows(rows: list[tuple]) -> npt.NDArray:
    truth = np.zeros(len(rows), dtype=TRUTH_DTYPE)
    if rows:
        names = (
            "event_id",
            "kind",
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
    return (1 - np.exp(-t / sn.decay_time_s)) / (1 - np.exp(-sn.duration_s / sn.decay_time_s))


def _profile_inverse(sn: Supernova, u: np.ndarray) -> np.ndarray:
    if sn.time_profile is TimeProfile.FLAT:
        return u * sn.duration_s
    norm = 1 - np.exp(-sn.duration_s / sn.decay_time_s)
    return -sn.decay_time_s * np.log(1 - u * norm)


def _neutrino_table(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """νe energies that produce an electron, weighted by flux × cross section (∝ E_e p_e)."""
    sn = scenario.supernova
    threshold = sn.q_value_mev + sn.excitation_mev
    grid = np.linspace(threshold, 100.0, 4001)
    e_e = grid - threshold + spectra.ELECTRON_MASS
    p_e = np.sqrt(np.clip(e_e**2 - spectra.ELECTRON_MASS**2, 0, None))
    if sn.spectrum is SpectrumKind.PINCHED_FD:
        flux = spectra.pinched_fd(grid, sn.mean_energy_mev, sn.pinching_alpha)
    else:
        flux = ((grid >= sn.flat_min_mev) & (grid <= sn.flat_max_mev)).astype(float)
    return grid, flux * e_e * p_e


def _split_energy(rng: np.random.Generator, total: float) -> list[float]:
    """A de-excitation cascade: the level energy shared among 1–3 γs (≈)."""
    n = int(rng.integers(1, 4))
    cuts = np.sort(rng.uniform(0, total, n - 1))
    parts = np.diff(np.concatenate([[0.0], cuts, [total]]))
    return [float(p) for p in parts if p > 0.05]
