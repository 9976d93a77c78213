"""Detector imperfections applied to a digitized slice: dead, noisy and sticky channels,
pedestal drift and coherent-noise bursts (robustness studies)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from triggerml.detector import libm
from triggerml.detector.config import DetectorScenario


def channel_gains(scenario: DetectorScenario) -> npt.NDArray[np.float64]:
    """Noise multiplier per channel (noisy channels > 1)."""
    gains = np.ones(scenario.geometry.n_channels)
    gains[list(scenario.conditions.noisy_channels)] = scenario.conditions.noisy_factor
    return gains


def pedestal_offset(scenario: DetectorScenario, start_tick: int) -> int:
    """Pedestal drift accumulated by ``start_tick`` (whole ADC counts, same for all)."""
    seconds = start_tick * scenario.readout.tick_ns * 1e-9
    return int(np.rint(scenario.conditions.pedestal_drift_adc_per_s * seconds))


def apply_after_digitization(
    adc: npt.NDArray[np.int16],
    scenario: DetectorScenario,
    pedestals: npt.NDArray[np.int32],
    start_tick: int,
    rng: np.random.Generator,
) -> list[tuple[int, int, int]]:
    """Dead channels, stuck bits and coherent-noise bursts, in place; returns the noise
    bursts (first channel, start tick, length) so the truth can record them."""
    c = scenario.conditions
    adc_max = scenario.readout.adc_max
    if c.dead_channels:
        dead = np.array(c.dead_channels)
        adc[dead] = pedestals[dead][:, None].astype(np.int16)
    if c.stuck_bit_channels:
        rows = np.array(c.stuck_bit_channels)
        hit = rng.random((rows.size, adc.shape[1])) < c.stuck_fraction
        block = adc[rows]
        stuck = (block & ~np.int16(c.stuck_bits_mask)) | np.int16(
            c.stuck_bits_value & c.stuck_bits_mask
        )
        adc[rows] = np.where(hit, stuck, block)
    noise_bursts: list[tuple[int, int, int]] = []
    if c.coherent_noise_rate_hz > 0:
        seconds = adc.shape[1] * scenario.readout.tick_ns * 1e-9
        group = scenario.readout.coherent_group
        for _ in range(rng.poisson(c.coherent_noise_rate_hz * seconds)):
            first = int(rng.integers(0, adc.shape[0] // group)) * group
            t0 = int(rng.integers(0, adc.shape[1]))
            length = min(c.coherent_noise_duration_ticks, adc.shape[1] - t0)
            t = np.arange(length)
            wave = (
                c.coherent_noise_amplitude_adc
                * libm.sin(2 * np.pi * t / 25.0)
                * libm.exp(-t / length)
            )
            group_rows = slice(first, min(first + group, adc.shape[0]))
            block = adc[group_rows, t0 : t0 + length].astype(np.int32) + np.rint(wave).astype(
                np.int32
            )
            adc[group_rows, t0 : t0 + length] = np.clip(block, 0, adc_max)
            noise_bursts.append((first, start_tick + t0, length))
    return noise_bursts
