"""Detector and scenario configuration: every default in one place, with its source.

Sources (DESIGN.md §4): DUNE IDR/TDR (arXiv:1807.10327, 2002.03010), dunecore/dunesim
geometry and radiological configs, DUNE-DAQ (fddetdataformats, tpglibs), the DUNE supernova
paper (arXiv:2008.06647).  (≈) marks a value derived or recalled rather than read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from triggerml.config import ConfigError, require

PLANES = ("u", "v", "x")


@dataclass(frozen=True)
class PerPlane:
    """A number per wire plane (U and V induction, X collection)."""

    u: float
    v: float
    x: float

    def __getitem__(self, plane: str) -> float:
        return float(getattr(self, plane))


@dataclass(frozen=True)
class Geometry:
    """One horizontal-drift APA and the two drift volumes it reads (TDR vol. IV)."""

    channels_u: int = 800  # induction, wrapped around both faces
    channels_v: int = 800
    channels_x_per_face: int = 480  # collection: 960 in all
    pitch_u_mm: float = 4.669
    pitch_v_mm: float = 4.669
    pitch_x_mm: float = 4.792
    wire_angle_deg: float = 35.7  # U at +angle, V at -angle from the vertical
    height_m: float = 6.0  # APA active height (≈)
    width_m: float = 2.3
    drift_length_m: float = 3.5
    drift_velocity_mm_per_us: float = 1.6  # 500 V/cm

    @property
    def n_channels(self) -> int:
        return self.channels_u + self.channels_v + 2 * self.channels_x_per_face

    @property
    def first_channel(self) -> dict[str, int]:
        return {"u": 0, "v": self.channels_u, "x": self.channels_u + self.channels_v}

    @property
    def plane_channels(self) -> dict[str, int]:
        return {"u": self.channels_u, "v": self.channels_v, "x": 2 * self.channels_x_per_face}

    def validate(self) -> None:
        for name in ("channels_u", "channels_v", "channels_x_per_face"):
            require(getattr(self, name) > 0, name, "must be positive")
        for name in (
            "pitch_u_mm",
            "pitch_v_mm",
            "pitch_x_mm",
            "height_m",
            "width_m",
            "drift_length_m",
            "drift_velocity_mm_per_us",
        ):
            require(getattr(self, name) > 0, name, "must be positive")


@dataclass(frozen=True)
class Readout:
    """Sampling, digitization and front-end response."""

    tick_ns: float = 512.0  # 32 ticks of the 62.5 MHz timing clock: 1.953 MHz (DUNE-DAQ)
    adc_bits: int = 14  # current far-detector electronics; 12 in ProtoDUNE-SP
    # Pedestals on the 12-bit scale, scaled by 2**(adc_bits-12) (ProtoDUNE-SP: ≈900 / ≈2350).
    pedestal_adc_12bit: PerPlane = field(default_factory=lambda: PerPlane(2350, 2350, 900))
    pedestal_spread_adc_12bit: float = 25.0  # channel-to-channel spread (≈)
    # Noise: ENC ≈600 e⁻ → ≈4 ADC rms at 12 bit (≈16 at 14 bit) (≈).
    noise_rms_adc_12bit: PerPlane = field(default_factory=lambda: PerPlane(4.2, 4.2, 4.0))
    coherent_fraction: float = 0.2  # fraction of the noise variance shared within a group
    coherent_group: int = 64  # channels per group (a half FEMB, one WIBEth stream)
    pink_fraction: float = 0.3  # fraction of the noise variance in the 1/f-like part
    pink_corner_khz: float = 50.0  # 1/f part flattens below this (≈)
    shaping_time_us: float = 2.0  # peaking time of the CR-RC⁴ shaper
    # 14 mV/fC: ≈41.6 ADC·tick per ke⁻ at 12 bit (ProtoDUNE-SP calibration).
    adc_tick_per_ke_12bit: float = 41.6
    induction_gain_ratio: float = 0.35  # induction bipolar peak / collection peak (≈)

    @property
    def adc_scale(self) -> float:
        return float(2 ** (self.adc_bits - 12))

    @property
    def adc_max(self) -> int:
        return 2**self.adc_bits - 1

    @property
    def sampling_hz(self) -> float:
        return 1e9 / self.tick_ns

    def pedestal(self, plane: str) -> float:
        return self.pedestal_adc_12bit[plane] * self.adc_scale

    def noise_rms(self, plane: str) -> float:
        return self.noise_rms_adc_12bit[plane] * self.adc_scale

    def validate(self) -> None:
        require(self.tick_ns > 0, "tick_ns", "must be positive")
        require(8 <= self.adc_bits <= 15, "adc_bits", "must be in 8..15 (int16 samples)")
        for plane in PLANES:
            require(
                self.noise_rms_adc_12bit[plane] >= 0,
                f"noise_rms_adc_12bit.{plane}",
                "must not be negative",
            )
            require(
                0 <= self.pedestal(plane) <= self.adc_max,
                f"pedestal_adc_12bit.{plane}",
                "must lie inside the ADC range",
            )
        require(0 <= self.coherent_fraction <= 1, "coherent_fraction", "must be in [0, 1]")
        require(0 <= self.pink_fraction <= 1, "pink_fraction", "must be in [0, 1]")
        require(self.coherent_group > 0, "coherent_group", "must be positive")
        require(self.shaping_time_us > 0, "shaping_time_us", "must be positive")
        require(self.adc_tick_per_ke_12bit > 0, "adc_tick_per_ke_12bit", "must be positive")


@dataclass(frozen=True)
class Physics:
    """Charge production and transport in liquid argon."""

    w_ion_ev: float = 23.6  # energy per ion pair
    recombination: float = 0.7  # fraction of charge escaping recombination at 500 V/cm (MIP)
    alpha_recombination: float = 0.05  # heavily ionizing alphas keep far less charge (≈)
    electron_lifetime_ms: float = 10.0  # ≥3 ms required; 10 ms design goal (≈)
    diffusion_long_cm2_s: float = 4.0
    diffusion_trans_cm2_s: float = 8.8
    dedx_mev_per_cm: float = 2.1  # minimum ionizing
    radiation_length_cm: float = 14.0
    argon_density_t_m3: float = 1.396

    def validate(self) -> None:
        for name in (
            "w_ion_ev",
            "electron_lifetime_ms",
            "dedx_mev_per_cm",
            "radiation_length_cm",
            "argon_density_t_m3",
        ):
            require(getattr(self, name) > 0, name, "must be positive")
        require(0 < self.recombination <= 1, "recombination", "must be in (0, 1]")
        require(0 <= self.alpha_recombination <= 1, "alpha_recombination", "must be in [0, 1]")
        require(self.diffusion_long_cm2_s >= 0, "diffusion_long_cm2_s", "must not be negative")
        require(self.diffusion_trans_cm2_s >= 0, "diffusion_trans_cm2_s", "must not be negative")


class SpectrumKind(StrEnum):
    PINCHED_FD = "pinched_fd"
    FLAT = "flat"


class TimeProfile(StrEnum):
    FLAT = "flat"
    EXPONENTIAL = "exponential"


@dataclass(frozen=True)
class Supernova:
    """A supernova νe-CC burst injected into the stream (off when distance_kpc is null)."""

    distance_kpc: float | None = None
    start_s: float = 0.0  # burst start, relative to the stream start
    duration_s: float = 10.0
    time_profile: TimeProfile = TimeProfile.EXPONENTIAL
    decay_time_s: float = 3.0  # for the exponential profile (≈)
    events_40kt_10kpc: float = 3000.0  # νe-CC in 40 kt at 10 kpc over the burst (≈)
    spectrum: SpectrumKind = SpectrumKind.PINCHED_FD
    mean_energy_mev: float = 11.0  # νe ⟨E⟩ (≈)
    pinching_alpha: float = 2.5
    flat_min_mev: float = 5.0
    flat_max_mev: float = 50.0
    q_value_mev: float = 1.504  # ⁴⁰Ar → ⁴⁰K ground-state threshold
    excitation_mev: float = 4.384  # ⁴⁰K* level fed (IAS); released as de-excitation γs (≈)

    def validate(self) -> None:
        if self.distance_kpc is not None:
            require(self.distance_kpc > 0, "distance_kpc", "must be positive")
        require(self.duration_s > 0, "duration_s", "must be positive")
        require(self.decay_time_s > 0, "decay_time_s", "must be positive")
        require(self.events_40kt_10kpc >= 0, "events_40kt_10kpc", "must not be negative")
        require(self.mean_energy_mev > 0, "mean_energy_mev", "must be positive")
        require(
            0 < self.flat_min_mev < self.flat_max_mev,
            "flat_min_mev",
            "must be positive and below flat_max_mev",
        )

    def expected_events(self, mass_per_apa_t: float) -> float:
        """Events in one APA: N(40 kt, 10 kpc) × (10/d)² × mass / 40 kt."""
        if self.distance_kpc is None:
            return 0.0
        return self.events_40kt_10kpc * (10.0 / self.distance_kpc) ** 2 * mass_per_apa_t / 40_000.0


class Particle(StrEnum):
    ELECTRON = "electron"
    GAMMA = "gamma"


@dataclass(frozen=True)
class Singles:
    """Single particles at fixed energies, for threshold scans."""

    particle: Particle = Particle.ELECTRON
    energies_mev: tuple[float, ...] = ()
    rate_hz: float = 0.0  # per APA, spread uniformly over the listed energies

    def validate(self) -> None:
        require(self.rate_hz >= 0, "rate_hz", "must not be negative")
        require(all(e > 0 for e in self.energies_mev), "energies_mev", "must be positive")
        require(
            self.rate_hz == 0 or bool(self.energies_mev),
            "energies_mev",
            "list at least one energy when rate_hz > 0",
        )


@dataclass(frozen=True)
class Conditions:
    """Detector imperfections, for robustness studies."""

    dead_channels: tuple[int, ...] = ()
    noisy_channels: tuple[int, ...] = ()
    noisy_factor: float = 3.0  # noise rms multiplier on noisy channels
    stuck_bit_channels: tuple[int, ...] = ()
    stuck_bits_mask: int = 0x3F  # the 6 LSBs, as ProtoDUNE's sticky codes
    stuck_bits_value: int = 0x3F
    stuck_fraction: float = 0.1  # fraction of samples showing the stuck code
    pedestal_drift_adc_per_s: float = 0.0
    burst_rate_hz: float = 0.0  # coherent-noise bursts per APA
    burst_amplitude_adc: float = 100.0
    burst_duration_ticks: int = 200

    def validate(self) -> None:
        require(self.noisy_factor >= 1, "noisy_factor", "must be at least 1")
        require(0 <= self.stuck_fraction <= 1, "stuck_fraction", "must be in [0, 1]")
        require(self.burst_rate_hz >= 0, "burst_rate_hz", "must not be negative")
        require(self.burst_duration_ticks > 0, "burst_duration_ticks", "must be positive")


RADIOLOGICAL_DEFAULTS: dict[str, float] = {
    "Ar39": 1.01,  # Bq/kg of LAr (dunesim radiological model)
    "Kr85": 0.115,
    "Ar42": 92e-6,
    "K42": 18e-6,
    "Rn222": 1.0e-3,
    "neutron": 0.0,  # captures on Ar-40 per kg per s: set by the study (≈)
}


@dataclass(frozen=True)
class Scenario:
    """What one simulated APA stream contains."""

    name: str = "default"
    seed: int = 12345
    seconds: float = 0.05
    slice_ticks: int = 4096  # a multiple of the 64-sample WIBEth frame
    mass_per_apa_t: float = 135.0  # two drift volumes 3.5 × 6.0 × 2.3 m³ at 1.396 t/m³
    geometry: Geometry = field(default_factory=Geometry)
    readout: Readout = field(default_factory=Readout)
    physics: Physics = field(default_factory=Physics)
    radiologicals_bq_per_kg: dict[str, float] = field(
        default_factory=lambda: dict(RADIOLOGICAL_DEFAULTS)
    )
    supernova: Supernova = field(default_factory=Supernova)
    singles: Singles = field(default_factory=Singles)
    conditions: Conditions = field(default_factory=Conditions)

    def validate(self) -> None:
        require(self.seconds > 0, "seconds", "must be positive")
        require(
            self.slice_ticks > 0 and self.slice_ticks % 64 == 0,
            "slice_ticks",
            "must be a positive multiple of 64 (the WIBEth frame length)",
        )
        require(self.mass_per_apa_t > 0, "mass_per_apa_t", "must be positive")
        for isotope, rate in self.radiologicals_bq_per_kg.items():
            if isotope not in RADIOLOGICAL_DEFAULTS:
                raise ConfigError(
                    f"radiologicals_bq_per_kg.{isotope}: unknown isotope; known: "
                    f"{', '.join(RADIOLOGICAL_DEFAULTS)}"
                )
            require(
                rate >= 0 and math.isfinite(rate),
                f"radiologicals_bq_per_kg.{isotope}",
                f"rate must be a non-negative number, got {rate}",
            )
        n = self.geometry.n_channels
        for name in ("dead_channels", "noisy_channels", "stuck_bit_channels"):
            bad = [c for c in getattr(self.conditions, name) if not 0 <= c < n]
            require(not bad, f"conditions.{name}", f"channels {bad} outside 0..{n - 1}")

    @property
    def n_slices(self) -> int:
        ticks = self.seconds * self.readout.sampling_hz
        return max(1, math.ceil(ticks / self.slice_ticks))


def load_scenario(path: str) -> Scenario:
    """A detector scenario from YAML: the whole file, or its ``detector:`` section."""
    from triggerml.config import from_mapping, load_yaml

    data = load_yaml(path)
    if "detector" in data:
        data = data["detector"]
    return from_mapping(Scenario, data)
