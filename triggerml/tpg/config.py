"""TPG configuration: the two modes of DESIGN.md §5 with every parameter explicit.

``fir`` (default, after DUNE-DAQ's fdreadoutlibs FIR variant), per channel and sample x:
  1. frugal pedestal P (accumulator ±1 against the previous P; beyond ±accum_limit the
     pedestal steps ±1 and the accumulator resets); s = x − P;
  2. optional coherent-noise subtraction: s −= floor(mean of s over the channel's group);
  3. FIR low-pass f = (Σ taps[k]·s[n−k]) >> fir_shift (arithmetic shift), history zero at
     the start; reported times are shifted back by the FIR delay, (len(taps) − 1) // 2;
  4. |f| if absolute_value (bipolar induction);
  5. threshold: absolute, or thr = max(min_threshold, ((Q3 − Q1)·K) >> 8) with
     K = round(256·threshold_sigma / 1.349) from frugally tracked quartiles of f
     (Q1: +1 above / −3 below, Q3: +3 above / −1 below, step ±1 beyond ±iqr_accum_limit),
     computed before the quartiles see the current sample;
  6. p = f if f > thr else 0; a hit is a maximal run of p > 0, closed by the first p = 0.
``dunedaq`` (after DUNE-DAQ's tpglibs): steps 1, 5 (absolute, strict >), 6, no FIR; the
  sum saturates at 65535 and a hit closes on reaching it (that sample included).
In both modes a hit still open at the end of a block is carried by the streaming
:class:`~triggerml.tpg.hitfinder.HitFinder` and not emitted by :func:`find_hits`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from triggerml.config import ConfigError, from_mapping, require


class TpgMode(StrEnum):
    FIR = "fir"
    DUNEDAQ = "dunedaq"


class ThresholdMode(StrEnum):
    SIGMA = "sigma"
    ABSOLUTE = "absolute"


DEFAULT_TAPS = (1, 6, 15, 20, 15, 6, 1)  # Hamming-windowed sinc, cutoff 0.1 Nyquist, × 64
SUM_SATURATION = 65535
IQR_TO_SIGMA = 1.349


@dataclass(frozen=True)
class TpgConfig:
    mode: TpgMode = TpgMode.FIR
    threshold: int = 60  # ADC: the threshold itself (dunedaq, absolute) — p needs s > T
    threshold_mode: ThresholdMode = ThresholdMode.SIGMA  # fir mode only
    threshold_sigma: float = 5.0
    min_threshold: int = 8  # floor of the σ threshold (ADC)
    accum_limit: int = 10
    initial_pedestal: int | str = "first"  # an ADC value, or "first" sample of each channel
    fir_taps: tuple[int, ...] = DEFAULT_TAPS
    fir_shift: int = 6
    iqr_accum_limit: int = 100  # slow enough that low-frequency noise does not move the IQR
    initial_iqr: int = 16
    coherent_group: int = 0  # channels per coherent-noise group (power of two); 0: off
    absolute_value: bool = False  # threshold |f| (bipolar induction planes)
    adc_bits: int = 14
    first_channel: int = 0  # channel number of row 0 (rows are consecutive channels)

    def validate(self) -> None:
        if isinstance(self.initial_pedestal, str):
            require(
                self.initial_pedestal == "first",
                "initial_pedestal",
                "must be an integer ADC value or 'first'",
            )
        require(self.accum_limit > 0, "accum_limit", "must be positive")
        require(self.iqr_accum_limit > 0, "iqr_accum_limit", "must be positive")
        require(self.threshold >= 0, "threshold", "must not be negative")
        require(self.threshold_sigma > 0, "threshold_sigma", "must be positive")
        require(self.min_threshold >= 0, "min_threshold", "must not be negative")
        require(
            1 <= len(self.fir_taps) <= 15 and len(self.fir_taps) % 2 == 1,
            "fir_taps",
            "need an odd number of taps, at most 15",
        )
        require(0 <= self.fir_shift <= 16, "fir_shift", "must be in 0..16")
        require(self.initial_iqr >= 0, "initial_iqr", "must not be negative")
        require(
            self.coherent_group == 0 or (self.coherent_group & (self.coherent_group - 1)) == 0,
            "coherent_group",
            "must be 0 (off) or a power of two",
        )
        require(8 <= self.adc_bits <= 15, "adc_bits", "must be in 8..15")

    @property
    def uses_fir(self) -> bool:
        return self.mode is TpgMode.FIR

    @property
    def uses_sigma(self) -> bool:
        return self.mode is TpgMode.FIR and self.threshold_mode is ThresholdMode.SIGMA

    @property
    def saturating_sum(self) -> bool:
        return self.mode is TpgMode.DUNEDAQ

    @property
    def delay(self) -> int:
        return (len(self.fir_taps) - 1) // 2 if self.uses_fir else 0

    @property
    def sigma_factor(self) -> int:
        return round(256 * self.threshold_sigma / IQR_TO_SIGMA)


# The induction planes' TPG: thresholds |f|, whose quartiles for Gaussian noise of width σ
# are 0.319σ and 1.150σ (half-normal), so the IQR-based threshold (IQR·K/1.349) is 5σ at
# threshold_sigma = 5 × 1.349 / 0.832 ≈ 8.1 — the collection plane's 5σ on the bipolar
# plane.  (At the default 5 the U plane found 9.5 hits per channel per 2 ms slice, nearly all
# noise; at 8, 0.19 — measured on the default noise model.)
INDUCTION_TPG = TpgConfig(absolute_value=True, threshold_sigma=8.0)


def as_config(config: TpgConfig | Mapping[str, Any] | None) -> TpgConfig:
    """None → defaults; a mapping → a validated config (keys not given take defaults)."""
    if config is None:
        return TpgConfig()
    if isinstance(config, TpgConfig):
        return config
    if isinstance(config, Mapping):
        return from_mapping(TpgConfig, dict(config))
    raise ConfigError(f"TPG config must be a TpgConfig or a mapping, got {type(config).__name__}")
