"""Pareto fronts of a sweep: trigger efficiency (higher is better) against one cost (lower is
better), and the plots that show them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# the fronts drawn: (cost key in a point's row, axis label, file name); ties in a front's
# cost and efficiency go to the point with fewer of TIEBREAK's cost
FRONTS = (
    ("LUT", "LUTs per instance", "front_lut.png"),
    ("DSP", "DSPs per instance", "front_dsp.png"),
    ("latency_cycles", "latency [clock cycles]", "front_latency.png"),
)
TIEBREAK = {"LUT": "DSP", "DSP": "LUT", "latency_cycles": "LUT"}


def front(
    cost: npt.ArrayLike, value: npt.ArrayLike, tiebreak: npt.ArrayLike | None = None
) -> npt.NDArray[np.bool_]:
    """The non-dominated points: no other point costs no more and is worth at least as
    much, one of them strictly.  Walking up in cost, a point is on the front when it is worth
    strictly more than every cheaper one (of equal points, the lowest ``tiebreak`` — e.g.
    another cost — then the first listed), so the front's values rise strictly with its
    costs by construction.  Points with a NaN are never on it."""
    cost = np.asarray(cost, dtype=np.float64)
    value = np.asarray(value, dtype=np.float64)
    second = np.zeros(cost.size) if tiebreak is None else np.asarray(tiebreak, np.float64)
    on = np.zeros(cost.size, dtype=bool)
    valid = np.flatnonzero(~(np.isnan(cost) | np.isnan(value)))
    # by cost, then the better value first, then the tie-break, then listing order
    order = valid[
        np.lexsort((valid, np.nan_to_num(second[valid], nan=np.inf), -value[valid], cost[valid]))
    ]
    best = -np.inf
    for index in order:
        if value[index] > best:
            on[index] = True
            best = value[index]
    return on


def cost_of(row: dict[str, Any], key: str) -> float:
    """A resource of the row's cost, or its latency/interval (NaN when unknown)."""
    value = row["cost"].get(key) if key in row["cost"] else row.get(key)
    return float("nan") if value is None else float(value)


def value_of(row: dict[str, Any], signal: str) -> float:
    value = row["efficiency"][signal]["value"]
    return float("nan") if value is None else float(value)


def plot_front(
    rows: Sequence[dict[str, Any]],
    key: str,
    label: str,
    signal: str,
    baseline: dict[str, Any] | None,
    title: str,
    target: Path,
) -> Path:
    """Efficiency against one cost for every point, the front marked and joined; the ADC
    sum's efficiency at the same rate as a band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from triggerml.io import atomic_path

    x = np.array([cost_of(r, key) for r in rows])
    y = np.array([value_of(r, signal) for r in rows])
    lo = np.array([r["efficiency"][signal]["lo"] or np.nan for r in rows])
    hi = np.array([r["efficiency"][signal]["hi"] or np.nan for r in rows])
    on = front(x, y, [cost_of(r, TIEBREAK[key]) for r in rows])
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.errorbar(
        x, y, yerr=[y - lo, hi - y], fmt="o", color="0.6", ms=4, label="design points", zorder=2
    )
    order = np.flatnonzero(on)[np.argsort(x[on])]
    ax.step(x[order], y[order], where="post", color="C0", zorder=3)
    ax.plot(x[order], y[order], "o", color="C0", ms=6, label="Pareto front", zorder=4)
    for index in order:
        ax.annotate(
            rows[index]["key"],
            (x[index], y[index]),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=6,
        )
    if baseline is not None and baseline.get("value") is not None:
        ax.axhspan(baseline["lo"], baseline["hi"], color="C1", alpha=0.2)
        ax.axhline(baseline["value"], color="C1", lw=1, label="ADC sum, same rate")
    finite = x[np.isfinite(x)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 20:
        ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel(f"efficiency, {signal}")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return target
