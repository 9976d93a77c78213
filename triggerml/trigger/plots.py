"""Study plots (PNG): efficiency vs energy, rate vs efficiency, supernova-burst reach."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt

from triggerml.io import atomic_path
from triggerml.tpg.efficiency import clopper_pearson
from triggerml.trigger import analysis
from triggerml.trigger.burst import ReachPoint

LABELS = {"ml": "ML (firmware emulator)", "adc_sum": "ADC sum (baseline)"}
COLORS = {"ml": "tab:blue", "adc_sum": "tab:orange"}


def _save(fig: plt.Figure, out: Path) -> Path:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return out


def efficiency_vs_energy(
    curves: dict[str, analysis.EnergyCurve],
    thresholds: dict[str, analysis.Threshold],
    out: Path,
) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for name, curve in curves.items():
        lo, hi = clopper_pearson(curve.found, curve.events)
        eff = curve.found / np.maximum(curve.events, 1)
        label = f"{LABELS[name]}, E50 = " + (
            f"{curve.e50_mev:.1f} MeV" if curve.e50_mev is not None else "n/a"
        )
        ax.errorbar(
            curve.energies_mev,
            eff,
            yerr=[eff - lo, hi - eff],
            fmt="o",
            color=COLORS[name],
            label=label,
            capsize=2,
        )
        if curve.fit is not None:
            grid = np.linspace(0, curve.energies_mev.max() * 1.05, 300)
            ax.plot(grid, analysis.erf_curve(grid, *curve.fit), color=COLORS[name], lw=1)
        if curve.e50_mev is not None:
            ax.axvline(curve.e50_mev, color=COLORS[name], ls=":", lw=1)
    rate = thresholds["ml"].rate_hz_per_apa
    ax.set(
        xlabel="true electron energy [MeV]",
        ylabel="single-event trigger efficiency",
        title=f"Both triggers at {rate:.3g} Hz background per APA",
        ylim=(0, 1.05),
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, out)


def rate_vs_efficiency(
    candidates: npt.NDArray,
    singles: npt.NDArray,
    live_seconds: float,
    thresholds: dict[str, analysis.Threshold],
    out: Path,
    weights: npt.NDArray[np.float64] | None = None,
) -> Path:
    """Each trigger's background rate against its single-electron efficiency (all energies),
    scanning the threshold; the working point marked.  ``weights``: each candidate's share of
    the module-average rate per APA (None: 1 / live_seconds)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    mask = ~analysis.is_signal(candidates) & candidates["in_range"]
    bkg = candidates[mask]
    w = np.full(bkg.size, 1.0 / live_seconds) if weights is None else weights[mask]
    for name, threshold in thresholds.items():
        values = analysis.metric(bkg, name)
        grid = np.unique(np.quantile(values, np.linspace(0.0, 1.0, 200))) if values.size else ()
        rates: list[float] = []
        effs: list[float] = []
        for cut in grid:
            counts = analysis.candidates_per_event(candidates, singles, name, cut)
            rates.append(float(w[values >= cut].sum()))
            effs.append((counts > 0).mean() if counts.size else np.nan)
        ax.plot(effs, rates, color=COLORS[name], label=LABELS[name])
        counts = analysis.candidates_per_event(candidates, singles, name, threshold.value)
        ax.plot(
            (counts > 0).mean() if counts.size else np.nan,
            max(threshold.rate_hz_per_apa, 1e-3),
            "*",
            ms=12,
            color=COLORS[name],
        )
    ax.set(
        yscale="log",
        xlabel="single-electron efficiency (all energies of the scan)",
        ylabel="background candidates per APA [Hz]",
        title="Threshold scan (★: common working point)",
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, out)


def reach(points: dict[str, list[ReachPoint]], out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for name, rows in points.items():
        kpc = np.array([p.kpc for p in rows])
        eff = np.array([p.efficiency for p in rows])
        lo = np.array([p.lo for p in rows])
        hi = np.array([p.hi for p in rows])
        ax.plot(kpc, eff, "o-", color=COLORS[name], label=LABELS[name], ms=4)
        ax.fill_between(kpc, lo, hi, color=COLORS[name], alpha=0.25)
    for place, label in ((8.5, "Galactic centre"), (50.0, "LMC")):
        ax.axvline(place, color="grey", ls=":", lw=1)
        ax.text(place, 0.05, label, rotation=90, fontsize=7, color="grey", ha="right")
    ax.set(
        xscale="log",
        xlabel="supernova distance [kpc]",
        ylabel="burst trigger efficiency",
        title="Supernova-burst trigger (≤ 1 fake burst / month)",
        ylim=(0, 1.05),
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, out)
