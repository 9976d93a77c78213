"""Threshold tuning to a background rate, and single-event efficiency vs energy with its
E50 (a binomial erf fit) — the building blocks of :mod:`triggerml.trigger.figures`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from triggerml.stats import clopper_pearson


@dataclass(frozen=True)
class Threshold:
    value: float  # candidates: metric ≥ value
    rate_hz_per_apa: float  # background candidates per second per APA at this threshold
    background_candidates: int


def tune(
    values: npt.NDArray[np.float64],
    live_seconds: float,
    rate_hz: float,
    weights: npt.NDArray[np.float64] | None = None,
) -> Threshold:
    """Lowest threshold (on the metric's own values) with background rate ≤ ``rate_hz``.

    ``weights``: each candidate's contribution to the rate per APA (Hz) — its APA kind's
    share of the module over that kind's APA-seconds; None: 1 / ``live_seconds`` each."""
    if live_seconds <= 0:
        raise ValueError("no live time: the study counted no slices")
    if weights is None:
        weights = np.full(values.size, 1.0 / live_seconds)
    order = np.argsort(values, kind="stable")[::-1]
    ordered = values[order]
    cumulative = np.cumsum(weights[order])
    allowed = int(np.searchsorted(cumulative, rate_hz * (1 + 1e-12), side="right"))
    if allowed >= ordered.size:
        value = float(ordered[-1]) if ordered.size else -np.inf
    else:
        # just above the first value that would exceed the budget (ties stay out together)
        value = float(np.nextafter(ordered[allowed], np.inf))
    passing = values >= value
    return Threshold(value, float(weights[passing].sum()), int(passing.sum()))


@dataclass(frozen=True)
class EnergyCurve:
    energies_mev: npt.NDArray[np.float64]
    events: npt.NDArray[np.int64]
    found: npt.NDArray[np.int64]
    e50_mev: float | None  # None when the fit has no 50 % crossing
    fit: tuple[float, float, float] | None  # plateau, mean, width of the erf

    def rows(self) -> list[dict[str, float]]:
        lo, hi = clopper_pearson(self.found, self.events)
        return [
            {
                "energy_mev": float(e),
                "events": int(n),
                "found": int(k),
                "efficiency": float(k / n) if n else float("nan"),
                "lo": float(a),
                "hi": float(b),
            }
            for e, n, k, a, b in zip(
                self.energies_mev, self.events, self.found, lo, hi, strict=True
            )
        ]


def efficiency_vs_energy(events: npt.NDArray, found: npt.NDArray[np.bool_]) -> EnergyCurve:
    """Per listed energy (single particles come at fixed energies): found / events, and
    E50 from a binomial maximum-likelihood fit of plateau/2 · (1 + erf((E − μ)/(√2 σ)))."""
    energies, index = np.unique(np.round(events["true_energy_mev"], 6), return_inverse=True)
    n = np.bincount(index, minlength=energies.size)
    k = np.bincount(index, weights=found, minlength=energies.size).astype(np.int64)
    fit = erf_fit(energies, n, k)
    e50 = None
    if fit is not None:
        plateau, mu, sigma = fit
        if plateau > 0.5:
            e50 = float(mu + np.sqrt(2) * sigma * special.erfinv(2 * 0.5 / plateau - 1))
    return EnergyCurve(energies, n, k, e50, fit)


def erf_curve(e: npt.ArrayLike, plateau: float, mu: float, sigma: float) -> npt.NDArray:
    return 0.5 * plateau * (1 + special.erf((np.asarray(e) - mu) / (np.sqrt(2) * sigma)))


def erf_fit(
    energies: npt.NDArray[np.float64], n: npt.NDArray[np.int64], k: npt.NDArray[np.int64]
) -> tuple[float, float, float] | None:
    use = n > 0
    if use.sum() < 3:
        return None
    e, n, k = energies[use], n[use].astype(float), k[use].astype(float)

    def nll(p: npt.NDArray[np.float64]) -> float:
        plateau = 1 / (1 + np.exp(-p[0]))
        eff = np.clip(erf_curve(e, plateau, p[1], np.exp(p[2])), 1e-12, 1 - 1e-12)
        return float(-(k * np.log(eff) + (n - k) * np.log1p(-eff)).sum())

    eff = k / n
    above = e[eff >= 0.5]
    mu0 = float(above[0]) if above.size else float(e[-1])
    start = np.array([4.0, mu0, np.log(max(0.2 * mu0, 0.5))])
    result = optimize.minimize(nll, start, method="Nelder-Mead", options={"maxiter": 4000})
    plateau = float(1 / (1 + np.exp(-result.x[0])))
    return plateau, float(result.x[1]), float(np.exp(result.x[2]))
