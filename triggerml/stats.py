"""Statistical intervals every figure carries: Clopper–Pearson on efficiencies, Garwood on
counts.  One home, so the trigger, the TPG efficiency and the sources survey agree."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

ONE_SIGMA = 0.6827  # central 68.27 % (±1σ) intervals


def clopper_pearson(
    k: npt.ArrayLike, n: npt.ArrayLike, level: float = 0.68
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Exact binomial interval on k passing out of n (0 ≤ lo ≤ k/n ≤ hi ≤ 1)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    alpha = 1 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return np.nan_to_num(lo), np.nan_to_num(hi, nan=1.0)


def garwood(k: int, cl: float = ONE_SIGMA) -> tuple[float, float]:
    """Central Poisson interval on a count (Garwood)."""
    alpha = 1 - cl
    lo = 0.0 if k == 0 else stats.chi2.ppf(alpha / 2, 2 * k) / 2
    hi = stats.chi2.ppf(1 - alpha / 2, 2 * (k + 1)) / 2
    return float(lo), float(hi)
