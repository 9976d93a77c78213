"""Every decay branch of a scenario's sources as one table, sampled per window in a few numpy
calls (not per isotope: a material chain has a dozen members, each with ≈1 decay per slice).

A row is (emission, branch): its rate is the emission's rate × the branch probability; its
α energy, β endpoint (with an inverse-CDF table of its β spectrum) and up to
:data:`MAX_GAMMAS` γ energies.  :meth:`DecayTable.draw` returns, for one window, the row of
every decay and its kinetic energy (β energy, else α energy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from triggerml.detector import catalogue, spectra

MAX_GAMMAS = 3
INVERSE_CDF_POINTS = 1025


@dataclass(frozen=True)
class DecayTable:
    emission: npt.NDArray[np.int64]  # index into the generator's emissions
    rate_hz: npt.NDArray[np.float64]
    alpha_mev: npt.NDArray[np.float64]
    beta_q_mev: npt.NDArray[np.float64]
    gammas_mev: npt.NDArray[np.float64]  # (rows, MAX_GAMMAS), 0: none
    beta_inverse_cdf: npt.NDArray[np.float64]  # (rows, INVERSE_CDF_POINTS)

    @staticmethod
    def build(isotopes: list[str], rates_hz: list[float], emission_index: list[int]) -> DecayTable:
        rows: list[tuple[int, float, float, float, tuple[float, ...]]] = []
        inverse: list[npt.NDArray[np.float64]] = []
        u = np.linspace(0.0, 1.0, INVERSE_CDF_POINTS)
        for index, isotope, rate in zip(emission_index, isotopes, rates_hz, strict=True):
            decay = catalogue.ISOTOPES[isotope]
            total = sum(b.probability for b in decay.branches)
            for branch in decay.branches:
                if len(branch.gammas_mev) > MAX_GAMMAS:
                    raise ValueError(f"{isotope}: more than {MAX_GAMMAS} γ in one branch")
                rows.append(
                    (
                        index,
                        rate * branch.probability / total,
                        branch.alpha_mev,
                        branch.beta_q_mev,
                        branch.gammas_mev,
                    )
                )
                if branch.beta_q_mev > 0:
                    grid, cdf = spectra.beta_cdf(branch.beta_q_mev, decay.daughter_z)
                    inverse.append(np.interp(u, cdf, grid))
                else:
                    inverse.append(np.zeros(INVERSE_CDF_POINTS))
        gammas = np.zeros((len(rows), MAX_GAMMAS))
        for i, row in enumerate(rows):
            gammas[i, : len(row[4])] = row[4]
        return DecayTable(
            emission=np.array([r[0] for r in rows], dtype=np.int64),
            rate_hz=np.array([r[1] for r in rows]),
            alpha_mev=np.array([r[2] for r in rows]),
            beta_q_mev=np.array([r[3] for r in rows]),
            gammas_mev=gammas,
            beta_inverse_cdf=np.array(inverse).reshape(len(rows), INVERSE_CDF_POINTS),
        )

    def draw(
        self, rng: np.random.Generator, seconds: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """(row of each decay, kinetic energy of its α or β) for ``seconds`` of exposure."""
        counts = rng.poisson(self.rate_hz * seconds)
        rows = np.repeat(np.arange(self.rate_hz.size), counts)
        x = rng.random(rows.size) * (INVERSE_CDF_POINTS - 1)
        k = np.minimum(x.astype(np.int64), INVERSE_CDF_POINTS - 2)
        f = x - k
        table = self.beta_inverse_cdf
        beta = table[rows, k] * (1 - f) + table[rows, k + 1] * f
        energy = np.where(self.beta_q_mev[rows] > 0, beta, self.alpha_mev[rows])
        return rows, energy
