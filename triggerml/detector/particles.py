"""Energy deposits of electrons, gammas and alphas in liquid argon (parametric, not Geant4).

Electrons step 3 mm at a time, losing ≈2.1 MeV/cm with Landau-like fluctuations, scattering
(Highland) and radiating bremsstrahlung photons (dN/dy ∝ 1/y above 2 % of the energy) that
travel tens of cm.  Gammas Compton-scatter (Klein–Nishina) with the argon attenuation length
until they fall below 100 keV and are absorbed; each Compton electron is a blip (or a track if
energetic).  Alphas deposit at a point (their charge is mostly recombined: see Physics).
Units: cm and MeV.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from triggerml.detector.config import Physics

ELECTRON_MASS = 0.511
STEP_CM = 0.3
POINT_BELOW_MEV = 0.8  # electrons below this range out within a wire pitch: one point
BREM_YMIN = 0.02
PHOTO_BELOW_MEV = 0.1

# Argon mass attenuation μ/ρ (cm²/g, total without coherent; NIST XCOM), vs energy (MeV).
_MU_E = np.array([0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0])
_MU_RHO = np.array([0.363, 0.122, 0.0849, 0.0603, 0.0432, 0.0363, 0.0308, 0.0281, 0.0283])


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
        n = xyz.shape[0]
        block = np.empty((n, 6))
        block[:, :3] = xyz
        block[:, 3] = energy
        block[:, 4] = event
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
    out = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)
    return out[0] if n is None else out


def _rotate(
    direction: npt.NDArray[np.float64], theta: float, phi: float
) -> npt.NDArray[np.float64]:
    """Turn a unit vector by polar angle theta around itself (azimuth phi)."""
    d = direction
    helper = np.array([1.0, 0.0, 0.0]) if abs(d[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u)
    v = np.cross(d, u)
    new = np.cos(theta) * d + np.sin(theta) * (np.cos(phi) * u + np.sin(phi) * v)
    return new / np.linalg.norm(new)


def electron(
    rng: np.random.Generator,
    start: npt.NDArray[np.float64],
    direction: npt.NDArray[np.float64],
    energy: float,
    physics: Physics,
    deposits: Deposits,
    event: int,
) -> None:
    """Track an electron until it stops; photons it radiates are tracked as gammas."""
    if energy < POINT_BELOW_MEV:
        deposits.add(start, np.array([energy]), event)
        return
    pos = np.array(start, dtype=float)
    d = np.array(direction, dtype=float)
    points, losses = [], []
    x0 = physics.radiation_length_cm
    n_brem = STEP_CM / x0 * (4.0 / 3.0) * np.log(1.0 / BREM_YMIN)
    while energy > POINT_BELOW_MEV * 0.5:
        loss = min(energy, physics.dedx_mev_per_cm * STEP_CM * rng.gamma(4.0, 0.25))
        if energy > 2.0 and rng.random() < n_brem:
            y = BREM_YMIN ** (1.0 - rng.random())
            photon = y * (energy - loss)
            energy -= photon
            gamma(
                rng,
                pos.copy(),
                _rotate(d, rng.normal(0, ELECTRON_MASS / energy), rng.uniform(0, 2 * np.pi)),
                photon,
                physics,
                deposits,
                event,
            )
        pos = pos + d * STEP_CM
        points.append(pos.copy())
        losses.append(loss)
        energy -= loss
        momentum = np.sqrt(energy**2 + 2 * energy * ELECTRON_MASS) if energy > 0 else 1e-3
        beta = momentum / (energy + ELECTRON_MASS)
        theta0 = (
            13.6 / (beta * momentum) * np.sqrt(STEP_CM / x0) * (1 + 0.038 * np.log(STEP_CM / x0))
        )
        d = _rotate(d, abs(rng.normal(0, theta0)), rng.uniform(0, 2 * np.pi))
    if energy > 0 and points:
        losses[-1] += energy
    elif energy > 0:
        points.append(pos.copy())
        losses.append(energy)
    deposits.add(np.array(points), np.array(losses), event)


def attenuation_length_cm(energy: float, physics: Physics) -> float:
    mu_rho = float(np.interp(np.log(energy), np.log(_MU_E), _MU_RHO))
    return 1.0 / (mu_rho * physics.argon_density_t_m3)  # t/m³ == g/cm³


def _klein_nishina_electron_energy(rng: np.random.Generator, energy: float) -> float:
    """Kinetic energy given to the electron in one Compton scatter (rejection sampling)."""
    k = energy / ELECTRON_MASS
    while True:
        cos_t = rng.uniform(-1, 1)
        ratio = 1.0 / (1.0 + k * (1 - cos_t))  # E'/E
        weight = ratio**2 * (ratio + 1.0 / ratio - (1 - cos_t**2)) / 2.0
        if rng.random() < weight:
            return energy * (1 - ratio)


def gamma(
    rng: np.random.Generator,
    start: npt.NDArray[np.float64],
    direction: npt.NDArray[np.float64],
    energy: float,
    physics: Physics,
    deposits: Deposits,
    event: int,
) -> None:
    """Compton-scatter a photon through the argon until absorbed (the volume is open)."""
    pos = np.array(start, dtype=float)
    d = np.array(direction, dtype=float)
    if energy <= 0:
        return
    for _ in range(64):
        pos = pos + d * rng.exponential(
            attenuation_length_cm(max(energy, PHOTO_BELOW_MEV), physics)
        )
        if energy < PHOTO_BELOW_MEV:
            deposits.add(pos, np.array([energy]), event)
            return
        t = _klein_nishina_electron_energy(rng, energy)
        electron(rng, pos, isotropic(rng), t, physics, deposits, event)
        energy -= t
        d = isotropic(rng)


def alpha(position: npt.NDArray[np.float64], energy: float, deposits: Deposits, event: int) -> None:
    deposits.add(position, np.array([energy]), event, alpha=True)
