"""Wire response: charge arriving at a wire → ADC waveform, as lookup templates.

Collection wires see a unipolar CR-RC⁴ pulse (peaking at the shaping time) whose area is the
charge calibration (ADC·tick per ke⁻); induction wires see a bipolar pulse of zero net area
(the charge approaching, then leaving the wire).  Longitudinal diffusion smears arrival times
by a Gaussian.  Both are folded into templates tabulated over (diffusion σ, sub-tick phase), so
rendering a charge cluster is one scaled add of a short template.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from triggerml.detector import libm
from triggerml.detector.config import Readout

TEMPLATE_TICKS = 64
PRE_TICKS = 16  # template starts this many ticks before the arrival tick
SIGMA_STEP = 0.25  # ticks
SIGMA_MAX = 6.0
PHASES = 16
OVERSAMPLE = 32
INDUCTION_PASS_TICKS = 3.0  # time for drifting charge to pass an induction wire (≈)


def collection_pulse(t_ticks: npt.NDArray[np.float64], readout: Readout) -> npt.NDArray[np.float64]:
    """Unipolar CR-RC⁴ pulse per electron, in ADC, with area = the charge calibration."""
    tau = readout.shaping_time_us * 1e3 / readout.tick_ns / 4.0  # peak at 4τ
    s = np.clip(t_ticks / tau, 0.0, None)
    shape = libm.power(s, 4.0) * libm.exp(-s)
    area_per_electron = readout.adc_tick_per_ke_12bit * readout.adc_scale / 1e3
    return shape * area_per_electron / (24.0 * tau)  # ∫ s⁴e^{-s} = 4! = 24


def induction_pulse(t_ticks: npt.NDArray[np.float64], readout: Readout) -> npt.NDArray[np.float64]:
    """Bipolar pulse of zero area; its positive peak is induction_gain_ratio × collection's."""
    half = INDUCTION_PASS_TICKS / 2
    bipolar = collection_pulse(t_ticks + half, readout) - collection_pulse(t_ticks - half, readout)
    fine = np.linspace(-20, 60, 8001)
    peak_col = collection_pulse(fine, readout).max()
    peak_bip = (
        collection_pulse(fine + half, readout) - collection_pulse(fine - half, readout)
    ).max()
    return bipolar * readout.induction_gain_ratio * peak_col / peak_bip


@dataclass(frozen=True)
class ResponseTemplates:
    """templates[kind, sigma_index, phase_index, k]: ADC per electron at tick
    ``floor(t0) - PRE_TICKS + k`` for a charge arriving at ``t0``; kind 0 induction, 1
    collection."""

    templates: npt.NDArray[np.float32]

    @classmethod
    def build(cls, readout: Readout) -> ResponseTemplates:
        sigmas = np.arange(0.0, SIGMA_MAX + 1e-9, SIGMA_STEP)
        fine_step = 1.0 / OVERSAMPLE
        kernel_t = np.arange(-PRE_TICKS - 8, TEMPLATE_TICKS, fine_step)
        out = np.zeros((2, sigmas.size, PHASES, TEMPLATE_TICKS), dtype=np.float32)
        for kind, pulse in enumerate((induction_pulse, collection_pulse)):
            base = pulse(kernel_t, readout)
            for si, sigma in enumerate(sigmas):
                smeared = _gaussian_smear(base, sigma / fine_step)
                for pi in range(PHASES):
                    phase = pi / PHASES
                    ticks = np.arange(TEMPLATE_TICKS) - PRE_TICKS - phase
                    out[kind, si, pi] = np.interp(ticks, kernel_t, smeared)
        return cls(out)


_BUILT: dict[str, ResponseTemplates] = {}


def templates_for(readout: Readout) -> npt.NDArray[np.float32]:
    """:meth:`ResponseTemplates.build`'s table, built once per readout configuration in a
    process (≈ 20 ms each: a study's worker starts a stream per task).  Shared: read only."""
    key = repr(readout)  # the dataclass's fields, all of them (a dict field: not hashable)
    if key not in _BUILT:
        _BUILT[key] = ResponseTemplates.build(readout)
    return _BUILT[key].templates


def _gaussian_smear(
    values: npt.NDArray[np.float64], sigma_samples: float
) -> npt.NDArray[np.float64]:
    if sigma_samples < 0.5:
        return values
    half = int(np.ceil(5 * sigma_samples))
    x = np.arange(-half, half + 1)
    kernel = libm.exp(-0.5 * (x / sigma_samples) ** 2)
    kernel /= kernel.sum()
    return np.convolve(values, kernel, mode="same")


def sigma_index(sigma_ticks: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Nearest tabulated σ (clamped to the table)."""
    idx = np.rint(np.asarray(sigma_ticks) / SIGMA_STEP).astype(np.int64)
    return np.clip(idx, 0, round(SIGMA_MAX / SIGMA_STEP))
