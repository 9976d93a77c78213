"""Study plots (PNG): efficiency vs energy, rate vs efficiency, supernova-burst reach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt

from triggerml.io import atomic_path
from triggerml.stats import clopper_pearson
from triggerml.trigger import analysis
from triggerml.trigger.burst import REACH_GRID_KPC, ReachPoint
from triggerml.trigger.figures import Evaluator, SignalClass, class_mask

LABELS = {
    "ml": "ML (firmware emulator)",
    "adc_sum": "ADC sum (baseline)",
    "combined": "combined (ADC sum or ML)",
}
COLORS = {"ml": "tab:blue", "adc_sum": "tab:orange", "combined": "tab:green"}


def _save(fig: plt.Figure, out: Path) -> Path:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return out


def efficiency_vs_energy(
    curves: dict[str, analysis.EnergyCurve],
    rate: float,
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
    ax.set(
        xlabel="true electron energy [MeV]",
        ylabel="single-event trigger efficiency",
        title=f"Each trigger tuned to {rate:.3g} Hz background per APA",
        ylim=(0, 1.05),
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, out)


def rate_vs_efficiency(evaluator: Evaluator, summary: dict[str, Any], out: Path) -> Path:
    """Background rate (reporting half) against efficiency for 5–10 MeV electrons and SN
    νe-CC, scanning each trigger's threshold (combined: at its grid point for 1 Hz)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    signals = (SignalClass.ELECTRON_5_10_MEV, SignalClass.SN_NUE_CC)
    for ax, signal in zip(axes, signals, strict=True):
        mask = class_mask(evaluator.events, signal)
        for trigger in ("ml", "adc_sum", "combined"):
            decision = evaluator.at_rate(trigger, 1.0)
            values = evaluator.decision_metric(decision)
            best = evaluator.best_per_event(values)[mask]
            bkg = values[evaluator.bkg[1]]
            w = evaluator.weights[1][evaluator.bkg[1]]
            finite = np.concatenate([bkg[np.isfinite(bkg)], best[np.isfinite(best)]])
            if not mask.any() or finite.size == 0:
                continue
            grid = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, 150)))
            event_weights = evaluator.event_weights[mask]
            effs = [event_weights[best >= cut].sum() / event_weights.sum() for cut in grid]
            rates = [max(float(w[bkg >= cut].sum()), 1e-4) for cut in grid]
            ax.plot(effs, rates, color=COLORS[trigger], label=LABELS[trigger])
        ax.set(
            yscale="log",
            xlabel=f"efficiency, {signal.value}",
            title=f"{signal.value} ({int(mask.sum())} events)",
            xlim=(0, 1.02),
        )
        ax.axvline(0.9, color="grey", ls=":", lw=1)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("background candidates per APA [Hz] (reporting half)")
    axes[0].legend(fontsize=8)
    return _save(fig, out)


def reach(
    points: dict[str, list[ReachPoint]], curves: dict[str, npt.NDArray[np.float64]], out: Path
) -> Path:
    """Burst efficiency vs distance: pseudo-bursts (points, 68 % band) and the exact
    curve (line), each trigger at its best working point."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for name, curve in curves.items():
        ax.plot(REACH_GRID_KPC, curve, color=COLORS[name], lw=1)
    for name, rows in points.items():
        kpc = np.array([p.kpc for p in rows])
        eff = np.array([p.efficiency for p in rows])
        lo = np.array([p.lo for p in rows])
        hi = np.array([p.hi for p in rows])
        ax.plot(kpc, eff, "o", color=COLORS[name], label=LABELS[name], ms=4)
        ax.fill_between(kpc, lo, hi, color=COLORS[name], alpha=0.25)
    for place, label in ((8.5, "Galactic centre"), (50.0, "LMC")):
        ax.axvline(place, color="grey", ls=":", lw=1)
        ax.text(place, 0.05, label, rotation=90, fontsize=7, color="grey", ha="right")
    ax.set(
        xscale="log",
        xlim=(0.5, 200),
        xlabel="supernova distance [kpc]",
        ylabel="burst trigger efficiency",
        title="Supernova-burst trigger (≤ 1 fake burst / month)",
        ylim=(0, 1.05),
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, out)
