"""Energy spectra: β decays of the radiological isotopes and supernova νe.

β spectra use the allowed shape with a non-relativistic Fermi function (≈: Ar-39's first
forbidden unique shape is close enough for a trigger study); each is sampled by inverting a
tabulated CDF.  Decay schemes keep the branches that matter for visible energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

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


# Secular-equilibrium chain members are listed under the parent that sets their activity.
DECAYS: dict[str, tuple[tuple[str, Decay], ...]] = {
    "Ar39": (("Ar39", Decay(19, (Branch(1.0, beta_q_mev=0.565),))),),
    "Kr85": (
        (
            "Kr85",
            Decay(
                37,
                (
                    Branch(0.9957, beta_q_mev=0.687),
                    Branch(0.0043, beta_q_mev=0.173, gammas_mev=(0.514,)),
                ),
            ),
        ),
    ),
    "Ar42": (("Ar42", Decay(19, (Branch(1.0, beta_q_mev=0.599),))),),
    "K42": (
        (
            "K42",
            Decay(
                20,
                (
                    Branch(0.82, beta_q_mev=3.525),
                    Branch(0.18, beta_q_mev=2.001, gammas_mev=(1.525,)),
                ),
            ),
        ),
    ),
    "Rn222": (
        ("Rn222", Decay(84, (Branch(1.0, alpha_mev=5.49),))),
        ("Po218", Decay(82, (Branch(1.0, alpha_mev=6.00),))),
        (
            "Pb214",
            Decay(
                83,
                (
                    Branch(0.48, beta_q_mev=0.67, gammas_mev=(0.352,)),
                    Branch(0.41, beta_q_mev=0.73, gammas_mev=(0.295,)),
                    Branch(0.11, beta_q_mev=1.02),
                ),
            ),
        ),
        (
            "Bi214",
            Decay(
                84,
                (
                    Branch(0.19, beta_q_mev=3.27),
                    Branch(0.48, beta_q_mev=2.66, gammas_mev=(0.609,)),
                    Branch(0.33, beta_q_mev=1.51, gammas_mev=(0.609, 1.12)),
                ),
            ),
        ),
        ("Po214", Decay(82, (Branch(1.0, alpha_mev=7.69),))),
    ),
}

# γ cascades after neutron capture on Ar-40 (sum 6.099 MeV), with rough probabilities (≈).
NEUTRON_CASCADES: tuple[tuple[float, tuple[float, ...]], ...] = (
    (0.35, (4.745, 1.187, 0.167)),
    (0.25, (3.700, 1.044, 1.355)),
    (0.25, (2.810, 1.830, 1.459)),
    (0.15, (6.099,)),
)


def beta_shape(
    kinetic: npt.NDArray[np.float64], q: float, daughter_z: int
) -> npt.NDArray[np.float64]:
    """Allowed β⁻ spectrum dN/dT with a Fermi-function correction."""
    total = kinetic + ELECTRON_MASS
    momentum = np.sqrt(np.clip(total**2 - ELECTRON_MASS**2, 1e-12, None))
    eta = daughter_z * FINE_STRUCTURE * total / momentum
    fermi = 2 * np.pi * eta / (1 - np.exp(-2 * np.pi * eta))
    return np.clip(momentum * total * (q - kinetic) ** 2 * fermi, 0, None)


@cache
def _beta_cdf(q: float, daughter_z: int) -> tuple[np.ndarray, np.ndarray]:
    grid = np.linspace(0.0, q, 2049)
    pdf = beta_shape(grid, q, daughter_z)
    cdf = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2)])
    return grid, cdf / cdf[-1]


def sample_beta(
    rng: np.random.Generator, q: float, daughter_z: int, n: int
) -> npt.NDArray[np.float64]:
    grid, cdf = _beta_cdf(q, daughter_z)
    return np.interp(rng.random(n), cdf, grid)


def pinched_fd(
    energy: npt.NDArray[np.float64], mean: float, alpha: float
) -> npt.NDArray[np.float64]:
    """Pinched Fermi–Dirac (Keil–Raffelt) flux shape: E^α exp(-(α+1)E/⟨E⟩)."""
    return energy**alpha * np.exp(-(alpha + 1) * energy / mean)


def sample_table(
    rng: np.random.Generator, grid: npt.NDArray[np.float64], pdf: npt.NDArray[np.float64], n: int
) -> npt.NDArray[np.float64]:
    cdf = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2)])
    if cdf[-1] <= 0:
        raise ValueError("energy spectrum has no support above threshold")
    return np.interp(rng.random(n), cdf / cdf[-1], grid)
