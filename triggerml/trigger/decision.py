"""The trigger decision on one cluster as the firmware makes it (``firmware/trigger/
decision.h``), in integers, and the check that the C++ and the Python rule agree exactly.

The figures (:mod:`triggerml.trigger.figures`) use the same rule on candidates: a candidate
passes when one of its clusters does.  Thresholds tuned on floats become integers without
changing any decision: ADC sums are integers (``adc ≥ T`` ⇔ ``adc ≥ ⌈T⌉``) and logits are
fixed-point values ``m / 2^F`` (``logit ≥ t`` ⇔ ``m ≥ ⌈t · 2^F⌉``).
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from triggerml import toolchain
from triggerml.trigger.figures import Decision

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware" / "trigger"
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class FirmwareThresholds:
    precut: int
    adc_hi: int
    adc_lo: int
    logit_min: int
    hi_enabled: bool
    ml_enabled: bool

    def line(self) -> str:
        return (
            f"{self.precut} {self.adc_hi} {self.adc_lo} {self.logit_min} "
            f"{int(self.hi_enabled)} {int(self.ml_enabled)}"
        )


def _adc(x: float | None) -> int:
    return 0 if x is None or x <= 0 else math.ceil(x)


def firmware_thresholds(decision: Decision, precut: int, frac_bits: int) -> FirmwareThresholds:
    """The integer thresholds that make ``decision`` on clusters."""
    hi: float | None
    lo: float | None
    if decision.trigger == "adc_sum":
        hi, lo, t = decision.threshold, None, math.inf
    elif decision.trigger == "ml":
        hi, lo, t = math.inf, None, decision.threshold
    elif decision.trigger == "combined":
        hi, lo, t = decision.t_hi, decision.t_lo, decision.threshold
    else:
        raise ValueError(f"no firmware decision for trigger {decision.trigger!r}")
    hi_enabled = hi is not None and math.isfinite(hi)
    ml_enabled = math.isfinite(t) or t < 0
    if not math.isfinite(t) or t * 2**frac_bits <= INT32_MIN:
        logit_min = INT32_MIN
    else:
        logit_min = min(math.ceil(t * 2**frac_bits), INT32_MAX)
        ml_enabled = ml_enabled and t * 2**frac_bits <= INT32_MAX
    return FirmwareThresholds(
        precut,
        _adc(hi) if hi_enabled else 0,
        _adc(lo),
        logit_min,
        hi_enabled,
        bool(ml_enabled),
    )


def accepts(
    adc_sum: npt.NDArray[np.int64], score: npt.NDArray[np.float64], decision: Decision
) -> npt.NDArray[np.bool_]:
    """The figures' rule on clusters (``score`` −inf below the pre-cut)."""
    adc = adc_sum.astype(np.float64)
    if decision.trigger == "adc_sum":
        return adc >= decision.threshold
    if decision.trigger == "ml":
        return score >= decision.threshold
    if decision.t_lo is None or decision.t_hi is None:
        raise ValueError("a combined decision needs t_lo and t_hi")
    return (adc >= decision.t_hi) | ((adc >= decision.t_lo) & (score >= decision.threshold))


def compile_testbench(cache_dir: Path | None = None) -> Path:
    if not (FIRMWARE_DIR / "decision.h").is_file():
        raise FileNotFoundError(
            f"firmware/trigger not found at {FIRMWARE_DIR}: run from a triggerml checkout"
        )
    return toolchain.compile_testbench(FIRMWARE_DIR, "decision", "-O2", cache_dir)


def run_cpp(
    binary: Path, th: FirmwareThresholds, adc: npt.NDArray, logit_m: npt.NDArray
) -> npt.NDArray[np.bool_]:
    """The C++ decision on each (ADC sum, logit mantissa)."""
    lines = "\n".join(f"{a} {m}" for a, m in zip(adc.tolist(), logit_m.tolist(), strict=True))
    result = subprocess.run(
        [str(binary)],
        input=th.line() + "\n" + lines + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"decision test bench failed: {result.stderr[-500:]}")
    return np.array([c == "1" for c in result.stdout.split()], dtype=bool)


@dataclass(frozen=True)
class DecisionCheck:
    decisions: int
    clusters: int
    mismatches: int


def random_decisions(rng: np.random.Generator, frac_bits: int) -> list[Decision]:
    """ML, ADC-sum and combined decisions, off-grid, on-grid and with disabled branches."""
    step = 2.0**-frac_bits
    out = [
        Decision("adc_sum", 11383.000000000002),
        Decision("ml", 1.25),
        Decision("ml", float(np.nextafter(0.5, np.inf))),
        Decision("combined", 2.0, 6000.0, math.inf),
        Decision("combined", math.inf, 0.0, 11000.5),
        Decision("combined", -1.7976931348623157e308, 9000.0, 15000.0),
    ]
    for _ in range(14):
        t = float(rng.integers(-400, 400)) * step + rng.choice([0.0, step / 3, -step / 3])
        lo, hi = sorted(rng.uniform(0, 30000, 2))
        out.append(Decision("combined", t, float(lo), float(hi)))
        out.append(Decision("ml", t))
        out.append(Decision("adc_sum", float(hi)))
    return out


def verify(
    clusters: int = 2000,
    seed: int = 20261129,
    frac_bits: int = 6,
    precut: int = 6000,
    cache_dir: Path | None = None,
) -> DecisionCheck:
    """Python rule vs the compiled C++ on ``clusters`` random clusters per decision, with
    ADC sums and logits placed on and around every threshold and the pre-cut."""
    rng = np.random.default_rng(seed)
    binary = compile_testbench(cache_dir)
    decisions = random_decisions(rng, frac_bits)
    mismatches = 0
    for decision in decisions:
        th = firmware_thresholds(decision, precut, frac_bits)
        edges = np.array([precut, th.adc_hi, th.adc_lo], dtype=np.int64)
        adc = np.concatenate(
            [
                rng.integers(0, 40000, clusters // 2),
                rng.choice(edges, clusters - clusters // 2)
                + rng.integers(-2, 3, clusters - clusters // 2),
            ]
        ).clip(0)
        centre = th.logit_min if abs(th.logit_min) < 2**20 else 0
        logit_m = np.concatenate(
            [
                rng.integers(-2048, 2048, clusters // 2),
                centre + rng.integers(-2, 3, clusters - clusters // 2),
            ]
        )
        score = np.where(adc >= precut, logit_m * 2.0**-frac_bits, -np.inf)
        expected = accepts(adc, score, decision)
        got = run_cpp(binary, th, adc, logit_m)
        mismatches += int((expected != got).sum())
    return DecisionCheck(len(decisions), clusters * len(decisions), mismatches)
