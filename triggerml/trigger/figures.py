"""The figures a trigger is judged by (summary schema 2), for the ML, ADC-sum and combined
triggers alike, on grouped candidates.

Triggers, each a threshold on one metric per candidate (a candidate passes when its metric
is ≥ the threshold):

- ``ml``: the largest firmware logit among the candidate's clusters (clusters below the
  ADC-sum pre-cut are not scored: −inf);
- ``adc_sum``: the largest cluster ADC sum;
- ``combined``: accept if ADC sum ≥ T_hi, or score ≥ t among clusters with ADC sum ≥ T_lo —
  metric +inf above T_hi, else the largest logit of the clusters above T_lo.  (T_lo, T_hi)
  come from a grid of ADC-sum thresholds; T_hi at the ADC sum's own threshold with t = +inf
  *is* the ADC-sum trigger, so on the tuning exposure the combined trigger never does worse.

Thresholds are tuned on the background candidates of one half of the exposure (slices of
even index) and every rate is measured on the other half (odd slices); signal efficiencies
use all signal events, each weighted so that every APA kind counts with its share of the
module's argon (:func:`module_event_weights`: a signal spread uniformly through the module),
with a Clopper–Pearson 68 % interval on the Kish effective count (exact when the weights are
equal); rates a Garwood 68 % interval on the count (scaled by the rate per candidate: ≈ when
the APA kinds' weights differ).  A rate with no
background candidate on the reporting half is an upper limit (``limit: true``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.nn.dataset import SIGNAL
from triggerml.stats import clopper_pearson, garwood
from triggerml.trigger import analysis
from triggerml.trigger.candidates import Candidates, event_keys

TRIGGERS = ("ml", "adc_sum", "combined")
SHAPE_CONTROL = "window_sum"  # ADC sum over the ML's own input window: charge without shape
TUNING, REPORTING = 0, 1
NEVER = -np.finfo(np.float64).max  # a threshold nothing scored falls below


class SignalClass(StrEnum):
    ELECTRON_5_10_MEV = "electron_5_10_mev"  # single electrons flat in 5–10 MeV
    ELECTRON_5_MEV = "electron_5_mev"
    ELECTRON_10_MEV = "electron_10_mev"
    SN_NUE_CC = "sn_nue_cc"  # supernova νe-CC events of the simulated final state


def class_mask(events: npt.NDArray, signal: SignalClass) -> npt.NDArray[np.bool_]:
    energy = events["true_energy_mev"]
    electron = events["kind"] == b"single_electron"
    if signal is SignalClass.ELECTRON_5_10_MEV:
        return electron & (energy >= 5.0) & (energy <= 10.0)
    if signal is SignalClass.ELECTRON_5_MEV:
        return electron & np.isclose(energy, 5.0)
    if signal is SignalClass.ELECTRON_10_MEV:
        return electron & np.isclose(energy, 10.0)
    return events["kind"] == b"snb_nue"


def module_event_weights(
    events: npt.NDArray, kind_index: npt.NDArray[np.int64], mass_shares: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Per event, its APA kind's share of the module's argon over the number of events of
    its kind (event type, e.g. ``snb_nue``) simulated on that APA kind: weighted means over
    events are then module means, whatever mix of APA kinds the study simulated."""
    weights = np.zeros(events.size)
    for event_kind in np.unique(events["kind"]):
        same = events["kind"] == event_kind
        for index, share in enumerate(mass_shares):
            mask = same & (kind_index == index)
            if mask.any():
                weights[mask] = share / mask.sum()
    return weights


@dataclass(frozen=True)
class Efficiency:
    """A (weighted) efficiency with its 68 % interval."""

    found: int  # events passing (unweighted)
    events: int
    value: float | None
    lo: float | None
    hi: float | None
    effective_events: float  # Kish: (Σw)² / Σw²

    @classmethod
    def of(cls, passed: npt.NDArray[np.bool_], weights: npt.NDArray[np.float64]) -> Efficiency:
        n, k = int(passed.size), int(passed.sum())
        if n == 0 or not weights.sum() > 0:
            return cls(k, n, None, None, None, 0.0)
        if np.all(weights == weights[0]):  # equal weights: the plain binomial count
            value, n_eff, k_eff = k / n, float(n), float(k)
        else:
            value = float(weights[passed].sum() / weights.sum())
            n_eff = float(weights.sum() ** 2 / (weights**2).sum())
            k_eff = value * n_eff
        lo, hi = clopper_pearson(k_eff, n_eff)
        return cls(k, n, value, float(lo), float(hi), n_eff)

    def row(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "found": self.found,
            "efficiency": self.value,
            "lo": self.lo,
            "hi": self.hi,
            "effective_events": self.effective_events,
        }


@dataclass(frozen=True)
class Decision:
    """One trigger's working point."""

    trigger: str
    threshold: float  # on the metric: logit (ml, combined) or ADC sum
    t_lo: float | None = None  # combined: ADC-sum floor of the ML branch
    t_hi: float | None = None  # combined: ADC sum accepted on its own

    def row(self) -> dict[str, Any]:
        def plain(x: float | None) -> float | str | None:
            return None if x is None else (x if np.isfinite(x) else ("inf" if x > 0 else "-inf"))

        return {
            "threshold": plain(self.threshold),
            "t_lo": plain(self.t_lo),
            "t_hi": plain(self.t_hi),
        }


@dataclass(frozen=True)
class Rate:
    value: float  # Hz per APA, module average
    lo: float
    hi: float
    count: int  # background candidates behind it
    limit: bool  # no candidate: value 0, hi is an upper limit

    def row(self) -> dict[str, Any]:
        return asdict(self)


class Evaluator:
    """Tunes and measures the three triggers on one study's candidates."""

    def __init__(
        self,
        candidates: Candidates,
        events: npt.NDArray,
        weights: npt.NDArray[np.float64],
        objective: SignalClass | None,
        event_weights: npt.NDArray[np.float64] | None = None,
        t_lo_rates: tuple[float, ...] = (1000.0, 300.0, 100.0, 30.0),
        t_hi_rates: tuple[float, ...] = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
    ) -> None:
        """``weights[h]``: each candidate's contribution (Hz per APA) to the module-average
        rate measured on half h; ``objective``: the signal the combined grid maximizes;
        ``event_weights``: each signal event's weight in efficiencies (equal if None)."""
        self.c = candidates
        self.events = events
        self.event_weights = (
            np.ones(events.size) if event_weights is None else np.asarray(event_weights, float)
        )
        self.weights = weights
        self.objective = objective
        self.bkg = [candidates.background & (candidates.half == h) for h in (0, 1)]
        # every signal cluster's event (index into events) and candidate: an event is
        # found when a candidate holding one of its clusters passes
        keys = event_keys(events["apa"], events["event_id"])
        clusters = candidates.clusters
        is_signal = clusters["label"] == SIGNAL
        cluster_keys = event_keys(clusters["apa"][is_signal], clusters["event_id"][is_signal])
        order = np.argsort(keys)
        position = np.clip(np.searchsorted(keys[order], cluster_keys), 0, max(keys.size - 1, 0))
        known = keys[order][position] == cluster_keys if keys.size else np.zeros(0, bool)
        self.cluster_event = order[position[known]] if keys.size else np.zeros(0, np.int64)
        self.cluster_group = candidates.group[is_signal][known]
        self._score_above: dict[float, npt.NDArray[np.float64]] = {}
        adc = candidates.adc_sum
        self.t_lo_grid = [0.0] + [self.tune(adc, r) for r in t_lo_rates]
        self.t_hi_grid = sorted({self.tune(adc, r) for r in t_hi_rates})

    # --- metrics -------------------------------------------------------------------------
    def metric(self, trigger: str, t_lo: float | None = None, t_hi: float | None = None):
        if trigger == "ml":
            return self.c.score
        if trigger == "adc_sum":
            return self.c.adc_sum
        if trigger == SHAPE_CONTROL:
            return self.c.window_sum
        if trigger != "combined" or t_lo is None or t_hi is None:
            raise ValueError(f"trigger must be one of {', '.join(TRIGGERS)}, not {trigger!r}")
        if t_lo not in self._score_above:
            self._score_above[t_lo] = self.c.score_above(t_lo)
        return np.where(self.c.adc_sum >= t_hi, np.inf, self._score_above[t_lo])

    def decision_metric(self, d: Decision) -> npt.NDArray[np.float64]:
        return self.metric(d.trigger, d.t_lo, d.t_hi)

    # --- background ----------------------------------------------------------------------
    def tune(self, values: npt.NDArray[np.float64], rate_hz: float) -> float:
        """Lowest threshold whose tuning-half rate is ≤ ``rate_hz``."""
        mask = self.bkg[TUNING]
        w = self.weights[TUNING][mask]
        if rate_hz <= 0:
            top = values[mask]
            top = top[np.isfinite(top)]
            return float(np.nextafter(top.max(), np.inf)) if top.size else NEVER
        t = analysis.tune(values[mask], 1.0, rate_hz, w).value
        return max(t, NEVER)

    def resolvable(self, rate_hz: float) -> bool:
        """Can the tuning half tell ``rate_hz`` from zero (one candidate's weight ≤ it)?"""
        w = self.weights[TUNING][self.bkg[TUNING]]
        return bool(w.size) and float(w.min()) <= rate_hz

    def tuning_rate(self, values: npt.NDArray[np.float64], threshold: float) -> float:
        mask = self.bkg[TUNING]
        return float(self.weights[TUNING][mask & (values >= threshold)].sum())

    def measured_rate(
        self, values: npt.NDArray[np.float64], threshold: float, half: int = REPORTING
    ) -> Rate:
        """The rate on the reporting half (or the tuning one, for choosing among working
        points without looking at the figures reported), with its Garwood 68 % interval."""
        mask = self.bkg[half]
        passing = mask & (values >= threshold)
        count = int(passing.sum())
        value = float(self.weights[half][passing].sum())
        lo, hi = garwood(count)
        if count:
            per = value / count
            return Rate(value, lo * per, hi * per, count, False)
        per = float(self.weights[half][mask].max()) if mask.any() else float("inf")
        return Rate(0.0, 0.0, hi * per, 0, True)

    def background_sources(
        self, values: npt.NDArray[np.float64], threshold: float, half: int = REPORTING
    ) -> dict[str, int]:
        """The passing background candidates of a half by source (the truth kind of each
        candidate's largest cluster), most frequent first: what limits a trigger there."""
        passing = np.flatnonzero(self.bkg[half] & (values >= threshold))
        clusters, offsets = self.c.clusters, self.c.offsets
        counts: Counter[str] = Counter()
        for index in passing:
            members = clusters[offsets[index] : offsets[index + 1]]
            kind = members["kind"][np.argmax(members["adc_sum"])]
            counts[kind.decode() if isinstance(kind, bytes) else str(kind)] += 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    # --- signal --------------------------------------------------------------------------
    def best_per_event(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Per event, the largest metric of the candidates holding its clusters."""
        best = np.full(self.events.size, -np.inf)
        np.maximum.at(best, self.cluster_event, values[self.cluster_group])
        return best

    def candidates_per_event(self, d: Decision) -> npt.NDArray[np.int64]:
        """Per event, how many passing candidates hold its clusters."""
        values = self.decision_metric(d)
        passing = values[self.cluster_group] >= d.threshold
        pairs = np.unique(
            np.stack([self.cluster_event[passing], self.cluster_group[passing]]), axis=1
        )
        return np.bincount(pairs[0], minlength=self.events.size)

    def efficiency(
        self, best: npt.NDArray[np.float64], threshold: float, signal: SignalClass
    ) -> Efficiency:
        mask = class_mask(self.events, signal)
        return Efficiency.of(best[mask] >= threshold, self.event_weights[mask])

    # --- working points ------------------------------------------------------------------
    def combos(self) -> list[tuple[float, float]]:
        return [(lo, hi) for lo in self.t_lo_grid for hi in self.t_hi_grid]

    def at_rate(self, trigger: str, rate_hz: float) -> Decision:
        """The trigger tuned to ``rate_hz`` (combined: the grid point with the best
        objective efficiency there)."""
        if trigger != "combined":
            return Decision(trigger, self.tune(self.metric(trigger), rate_hz))
        best: tuple[float, float, Decision] | None = None
        adc = self.c.adc_sum
        for t_lo, t_hi in self.combos():
            if self.tuning_rate(adc, t_hi) > rate_hz * (1 + 1e-12):
                continue
            values = self.metric("combined", t_lo, t_hi)
            t = self.tune(values, rate_hz)
            score = self._objective(values, t)
            rate = self.tuning_rate(values, t)
            if best is None or (score, -rate) > (best[0], -best[1]):
                best = (score, rate, Decision("combined", t, t_lo, t_hi))
        if best is None:  # no grid T_hi fits: the ML branch alone
            return Decision("combined", self.tune(self.c.score, rate_hz), 0.0, np.inf)
        return best[2]

    def _objective(self, values: npt.NDArray[np.float64], threshold: float) -> float:
        if self.objective is None:
            return 0.0
        value = self.efficiency(self.best_per_event(values), threshold, self.objective).value
        return value or 0.0

    def at_efficiency(
        self, trigger: str, signal: SignalClass, target: float = 0.9
    ) -> tuple[Decision | None, float]:
        """The highest threshold keeping ``signal``'s efficiency ≥ ``target`` (combined:
        the grid point whose tuning-half rate is lowest there); with the best efficiency
        reachable.  None when no threshold reaches ``target``."""
        mask = class_mask(self.events, signal)
        n = int(mask.sum())
        if n == 0:
            return None, float("nan")
        options = (
            [(None, None)] if trigger != "combined" else [(lo, hi) for lo, hi in self.combos()]
        )
        best: tuple[float, Decision] | None = None
        max_eff = 0.0
        weights = self.event_weights[mask]
        for t_lo, t_hi in options:
            values = self.metric(trigger, t_lo, t_hi)
            event_best = self.best_per_event(values)[mask]
            order = np.argsort(event_best, kind="stable")[::-1]
            ranked = event_best[order]
            max_eff = max(max_eff, float(weights[ranked > -np.inf].sum() / weights.sum()))
            threshold = float(ranked[_events_needed(weights[order], target) - 1])
            if not np.isfinite(threshold) and threshold < 0:
                continue
            rate = self.tuning_rate(values, threshold)
            if best is None or rate < best[0]:
                best = (rate, Decision(trigger, threshold, t_lo, t_hi))
        return (None if best is None else best[1]), max_eff


def _events_needed(ranked_weights: npt.NDArray[np.float64], target: float) -> int:
    """How many of the best-ranked events reach ``target`` of the total weight."""
    n = ranked_weights.size
    if np.all(ranked_weights == ranked_weights[0]):
        return int(np.ceil(target * n - 1e-9))
    fraction = np.cumsum(ranked_weights) / ranked_weights.sum()
    return min(int(np.searchsorted(fraction, target - 1e-12)) + 1, n)


def efficiency_row(evaluator: Evaluator, decision: Decision, signal: SignalClass) -> dict[str, Any]:
    best = evaluator.best_per_event(evaluator.decision_metric(decision))
    return {
        "signal": signal.value,
        **evaluator.efficiency(best, decision.threshold, signal).row(),
    }
