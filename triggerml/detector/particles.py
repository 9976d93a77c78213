"""Energy deposits of electrons, gammas and alphas in liquid argon (parametric, not Geant4).

Electrons step 3 mm at a time (a numba kernel), losing ≈2.1 MeV/cm with Landau-like
fluctuations, scattering (Highland) and radiating bremsstrahlung photons (dN/dy ∝ 1/y above
2 % of the energy) that travel tens of cm.  Gammas go through
:mod:`triggerml.detector.photons` (photoabsorption, Compton scattering and pair production
with XCOM cross sections).  :func:`shower` alternates the two until every photon is absorbed
or gone: photons → electrons → bremsstrahlung photons → …  Electrons below
:data:`POINT_BELOW_MEV` are one point (they range out within a wire pitch).  Alphas deposit
at a point (their charge is mostly recombined: see Physics).  Units: cm and MeV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np
import numpy.typing as npt

from triggerml.detector import libm, photons
from triggerml.detector.config import Physics

ELECTRON_MASS = 0.511
STEP_CM = 0.3
POINT_BELOW_MEV = 0.8  # electrons below this range out within a wire pitch: one point
BREM_YMIN = 0.02
Box = tuple[npt.ArrayLike, npt.ArrayLike]


@dataclass
class Deposits:
    """Point energy deposits, grown in chunks and concatenated once."""

    chunks: list[npt.NDArray[np.float64]] = field(default_factory=list)

    def add(
        self,
        xyz: npt.NDArray[np.float64],
        energy: npt.NDArray[np.float64],
        event: int,
        alpha: bool = False,
    ) -> None:
        xyz = np.atleast_2d(xyz)
        self.add_points(xyz, np.asarray(energy, dtype=np.float64), np.full(xyz.shape[0], event))
        if alpha:
            self.chunks[-1][:, 5] = 1.0

    def add_points(
        self,
        xyz: npt.NDArray[np.float64],
        energy: npt.NDArray[np.float64],
        events: npt.NDArray[np.int64],
        alpha: bool = False,
    ) -> None:
        """One point deposit per row, each with its own event id."""
        if energy.size == 0:
            return
        block = np.empty((energy.size, 6))
        block[:, :3] = xyz
        block[:, 3] = energy
        block[:, 4] = events
        block[:, 5] = 1.0 if alpha else 0.0
        self.chunks.append(block)

    def array(self) -> npt.NDArray[np.float64]:
        """(n, 6): x, y, z, energy, event index, is-alpha."""
        if not self.chunks:
            return np.empty((0, 6))
        return np.concatenate(self.chunks)


def isotropic(rng: np.random.Generator, n: int | None = None) -> npt.NDArray[np.float64]:
    size = 1 if n is None else n
    cos_t = rng.uniform(-1, 1, size)
    phi = rng.uniform(0, 2 * np.pi, size)
    sin_t = np.sqrt(1 - cos_t**2)
    out = np.stack([sin_t * libm.cos(phi), sin_t * libm.sin(phi), cos_t], axis=1)
    return out[0] if n is None else out


def electron(
    rng: np.random.Generator,
    start: npt.NDArray[np.float64],
    direction: npt.NDArray[np.float64],
    energy: float,
    physics: Physics,
    deposits: Deposits,
    event: int,
) -> None:
    """Track one electron until it stops, and the photons it radiates (unbounded argon)."""
    shower(rng, physics, deposits, electrons=_one(start, direction, energy, event))


def gamma(
    rng: np.random.Generator,
    start: npt.NDArray[np.float64],
    direction: npt.NDArray[np.float64],
    energy: float,
    physics: Physics,
    deposits: Deposits,
    event: int,
) -> None:
    """One photon through the argon (unbounded) and everything it sets moving."""
    if energy <= 0:
        return
    shower(rng, physics, deposits, photon_batch=_one(start, direction, energy, event))


def _one(
    start: npt.NDArray[np.float64], direction: npt.NDArray[np.float64], energy: float, event: int
) -> tuple[npt.NDArray, ...]:
    """One particle as a batch of one: (positions, directions, energies, event ids)."""
    return (
        np.atleast_2d(start),
        np.atleast_2d(direction),
        np.array([energy], dtype=np.float64),
        np.array([event], dtype=np.int64),
    )


def shower(
    rng: np.random.Generator,
    physics: Physics,
    deposits: Deposits,
    photon_batch: tuple[npt.NDArray, ...] | None = None,
    electrons: tuple[npt.NDArray, ...] | None = None,
    photon_box: Box | None = None,
    electron_box: Box | None = None,
) -> None:
    """Photons and electrons — each a tuple (positions, directions, energies, event ids) —
    and all they set moving, as deposits.  Photons leave through ``photon_box``; electrons
    born outside ``electron_box`` are dropped (None: unbounded)."""
    pending_photons = photon_batch
    pending_electrons = electrons
    while pending_photons is not None or pending_electrons is not None:
        if pending_photons is not None and pending_photons[2].size:
            pos, directions, energies, events = pending_photons
            photon, xyz, direction, energy = photons.transport(
                rng,
                pos,
                directions,
                energies,
                physics.argon_density_t_m3,
                photon_box,
                electron_box,
            )
            born = (xyz, direction, energy, events[photon])
            pending_electrons = (
                born
                if pending_electrons is None
                else tuple(
                    np.concatenate([a, b]) for a, b in zip(pending_electrons, born, strict=True)
                )
            )
        pending_photons = None
        if pending_electrons is not None and pending_electrons[2].size:
            pending_photons = _track(rng, pending_electrons, physics, deposits)
        pending_electrons = None


def _track(
    rng: np.random.Generator,
    electrons: tuple[npt.NDArray, ...],
    physics: Physics,
    deposits: Deposits,
) -> tuple[npt.NDArray, ...] | None:
    """Deposits of a batch of electrons; returns their bremsstrahlung photons (or None)."""
    starts, directions, energies, events = (np.ascontiguousarray(a) for a in electrons)
    starts = starts.astype(np.float64)
    directions = directions.astype(np.float64)
    energies = energies.astype(np.float64)
    events = events.astype(np.int64)
    seed = int(rng.integers(0, 2**62))
    per_step = physics.dedx_mev_per_cm * STEP_CM
    capacity = int(energies.sum() / per_step * 3) + 2 * energies.size + 16
    while True:
        points = np.empty((capacity, 5))
        brems = np.empty((capacity // 4 + 16, 8))
        n_points, n_brems = _track_kernel(
            starts,
            directions,
            energies,
            events,
            physics.dedx_mev_per_cm,
            physics.radiation_length_cm,
            seed,
            points,
            brems,
        )
        if n_points >= 0:
            break
        capacity *= 4  # the same seed replays the same tracks
    deposits.add_points(
        points[:n_points, :3], points[:n_points, 3], points[:n_points, 4].astype(np.int64)
    )
    if n_brems == 0:
        return None
    b = brems[:n_brems]
    return (b[:, :3], b[:, 3:6], b[:, 6], b[:, 7].astype(np.int64))


@numba.njit(cache=True)
def _turn(dx: float, dy: float, dz: float, theta: float, phi: float) -> tuple:
    """Turn a unit vector by polar angle theta around itself (azimuth phi)."""
    return photons.turn(dx, dy, dz, math.cos(theta), phi)


@numba.njit(cache=True)
def _track_kernel(starts, directions, energies, events, dedx, x0, seed, points, brems):
    """Step every electron to rest; returns (points written, photons written), or (-1, -1)
    when a buffer is too small."""
    np.random.seed(seed)
    n_points = 0
    n_brems = 0
    n_brem = STEP_CM / x0 * (4.0 / 3.0) * math.log(1.0 / BREM_YMIN)
    highland = math.sqrt(STEP_CM / x0) * (1 + 0.038 * math.log(STEP_CM / x0))
    for i in range(energies.shape[0]):
        energy = energies[i]
        event = float(events[i])
        x, y, z = starts[i, 0], starts[i, 1], starts[i, 2]
        dx, dy, dz = directions[i, 0], directions[i, 1], directions[i, 2]
        if n_points >= points.shape[0] - 1:
            return -1, -1
        if energy < POINT_BELOW_MEV:
            points[n_points, 0] = x
            points[n_points, 1] = y
            points[n_points, 2] = z
            points[n_points, 3] = energy
            points[n_points, 4] = event
            n_points += 1
            continue
        last = -1
        while energy > POINT_BELOW_MEV * 0.5:
            loss = min(energy, dedx * STEP_CM * np.random.gamma(4.0, 0.25))
            if energy > 2.0 and np.random.random() < n_brem:
                fraction = BREM_YMIN ** (1.0 - np.random.random())
                photon = fraction * (energy - loss)
                energy -= photon
                if n_brems >= brems.shape[0]:
                    return -1, -1
                bx, by, bz = _turn(
                    dx,
                    dy,
                    dz,
                    np.random.normal(0.0, ELECTRON_MASS / energy),
                    np.random.uniform(0.0, 2.0 * math.pi),
                )
                brems[n_brems, 0] = x
                brems[n_brems, 1] = y
                brems[n_brems, 2] = z
                brems[n_brems, 3] = bx
                brems[n_brems, 4] = by
                brems[n_brems, 5] = bz
                brems[n_brems, 6] = photon
                brems[n_brems, 7] = event
                n_brems += 1
            x += dx * STEP_CM
            y += dy * STEP_CM
            z += dz * STEP_CM
            if n_points >= points.shape[0]:
                return -1, -1
            points[n_points, 0] = x
            points[n_points, 1] = y
            points[n_points, 2] = z
            points[n_points, 3] = loss
            points[n_points, 4] = event
            last = n_points
            n_points += 1
            energy -= loss
            momentum = math.sqrt(energy**2 + 2 * energy * ELECTRON_MASS) if energy > 0 else 1e-3
            beta = momentum / (energy + ELECTRON_MASS)
            theta0 = 13.6 / (beta * momentum) * highland
            dx, dy, dz = _turn(
                dx,
                dy,
                dz,
                abs(np.random.normal(0.0, theta0)),
                np.random.uniform(0.0, 2.0 * math.pi),
            )
        if energy > 0:
            if last >= 0:
                points[last, 3] += energy
            else:
                points[n_points, 0] = x
                points[n_points, 1] = y
                points[n_points, 2] = z
                points[n_points, 3] = energy
                points[n_points, 4] = event
                n_points += 1
    return n_points, n_brems


def alpha(position: npt.NDArray[np.float64], energy: float, deposits: Deposits, event: int) -> None:
    deposits.add(position, np.array([energy]), event, alpha=True)
