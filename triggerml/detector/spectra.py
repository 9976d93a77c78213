"""Energy spectra: β decays of the radiological isotopes and supernova νe.

β spectra use the allowed shape with a non-relativistic Fermi function (≈: Ar-39's first
forbidden unique shape is close enough for a trigger study); each is sampled by inverting a
tabulated CDF.  The decay schemes themselves live in :mod:`triggerml.detector.catalogue`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from triggerml.detector import libm

ELECTRON_MASS = 0.511
FINE_STRUCTURE = 1 / 137.036


@dataclass(frozen=True)
class Branch:
    probability: float
    beta_q_mev: float = 0.0  # 0: no β in this branch
    alpha_mev: float = 0.0
    gammas_mev: tuple[float, ...] = ()


@dataclass(frozen=True)
class Decay:
    daughter_z: int
    branches: tuple[Branch, ...]


def beta_shape(
    kinetic: npt.NDArray[np.float64], q: float, daughter_z: int
) -> npt.NDArray[np.float64]:
    """Allowed β⁻ spectrum dN/dT with a Fermi-function correction."""
    total = kinetic + ELECTRON_MASS
    momentum = np.sqrt(np.clip(total**2 - ELECTRON_MASS**2, 1e-12, None))
    eta = daughter_z * FINE_STRUCTURE * total / momentum
    fermi = 2 * np.pi * eta / (1 - libm.exp(-2 * np.pi * eta))
    return np.clip(momentum * total * (q - kinetic) ** 2 * fermi, 0, None)


@cache
def beta_cdf(q: float, daughter_z: int) -> tuple[np.ndarray, np.ndarray]:
    grid = np.linspace(0.0, q, 2049)
    pdf = beta_shape(grid, q, daughter_z)
    cdf = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2)])
    return grid, cdf / cdf[-1]


def pinched_fd(
    energy: npt.NDArray[np.float64], mean: float, alpha: float
) -> npt.NDArray[np.float64]:
    """Pinched Fermi–Dirac (Keil–Raffelt) flux shape: E^α exp(-(α+1)E/⟨E⟩)."""
    return libm.power(energy, alpha) * libm.exp(-(alpha + 1) * energy / mean)


def sample_table(
    rng: np.random.Generator, grid: npt.NDArray[np.float64], pdf: npt.NDArray[np.float64], n: int
) -> npt.NDArray[np.float64]:
    cdf = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2)])
    if cdf[-1] <= 0:
        raise ValueError("energy spectrum has no support above threshold")
    return np.interp(rng.random(n), cdf / cdf[-1], grid)
