"""Detector and scenario configuration: every default in one place, with its source.

Sources (DESIGN.md §4): DUNE IDR/TDR (arXiv:1807.10327, 2002.03010), dunecore/dunesim
geometry and radiological configs, DUNE-DAQ (fddetdataformats, tpglibs), the DUNE supernova
paper (arXiv:2008.06647).  (≈) marks a value derived or recalled rather than read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

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
    # Noise is given as equivalent noise charge: ENC ≈ 600 e⁻ (DESIGN §4; DUNE FD TDR vol. IV,
    # arXiv:2002.03010, cold electronics at 14 mV/fC, 2 µs); induction taken equal (≈).  In
    # ADC it follows from the gain: ENC × the pulse peak per electron (≈5 ADC at 12 bit).
    enc_electrons: PerPlane = field(default_factory=lambda: PerPlane(600.0, 600.0, 600.0))
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

    @property
    def peak_adc_per_electron(self) -> float:
        """Peak of the CR-RC⁴ response to one electron (s⁴e⁻ˢ peaks at s = 4, area 4! τ), in
        ADC at this ADC width: the charge calibration spread over the shaping time."""
        tau_ticks = self.shaping_time_us * 1e3 / self.tick_ns / 4.0
        area = self.adc_tick_per_ke_12bit * self.adc_scale / 1e3
        return 4.0**4 * math.exp(-4.0) / 24.0 * area / tau_ticks

    def noise_rms(self, plane: str) -> float:
        """Noise rms in ADC: the plane's ENC × the peak ADC per electron."""
        return self.enc_electrons[plane] * self.peak_adc_per_electron

    def validate(self) -> None:
        require(self.tick_ns > 0, "tick_ns", "must be positive")
        require(8 <= self.adc_bits <= 15, "adc_bits", "must be in 8..15 (int16 samples)")
        for plane in PLANES:
            require(
                self.enc_electrons[plane] >= 0,
                f"enc_electrons.{plane}",
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
    # νe energy and spectrum: the Livermore model (Totani et al., ApJ 496, 216 (1998)), whose
    # time-integrated νe fluence SNOwGLoBES ships as fluxes/livermore.dat and the DUNE
    # supernova paper (EPJC 81, 423 (2021)) counts its ≈2,700 νe-CC per 40 kt at 10 kpc from;
    # a pinched-thermal fit to that file's νe column (log-linear, 2–30 MeV, residuals ≤ 3 %)
    # gives ⟨E⟩ = 11.24 MeV, α = 2.18, ε = 5.49×10⁵² erg (≈: fitted here, not published)
    total_energy_erg: float = 5.49e52
    spectrum: SpectrumKind = SpectrumKind.PINCHED_FD
    mean_energy_mev: float = 11.24
    pinching_alpha: float = 2.18
    flat_min_mev: float = 5.0
    flat_max_mev: float = 50.0

    def validate(self) -> None:
        if self.distance_kpc is not None:
            require(self.distance_kpc > 0, "distance_kpc", "must be positive")
        require(self.duration_s > 0, "duration_s", "must be positive")
        require(self.decay_time_s > 0, "decay_time_s", "must be positive")
        require(self.total_energy_erg >= 0, "total_energy_erg", "must not be negative")
        require(self.mean_energy_mev > 0, "mean_energy_mev", "must be positive")
        require(self.pinching_alpha > -1, "pinching_alpha", "must be above -1")
        require(
            0 < self.flat_min_mev < self.flat_max_mev,
            "flat_min_mev",
            "must be positive and below flat_max_mev",
        )

    def expected_events(self, mass_t: float, distance_kpc: float | None = None) -> float:
        """νe-CC interactions in ``mass_t`` tonnes of argon over the burst: fluence × cross
        section × nuclei (:mod:`triggerml.detector.supernova`); 0 with no supernova."""
        from triggerml.detector.supernova import events_per_tonne

        distance = self.distance_kpc if distance_kpc is None else distance_kpc
        if distance is None:
            return 0.0
        return events_per_tonne(self, distance) * mass_t


class Particle(StrEnum):
    ELECTRON = "electron"
    GAMMA = "gamma"


@dataclass(frozen=True)
class Singles:
    """Single particles at fixed energies (threshold scans) and flat in energy ranges (the
    trigger figures' `electron_5_10_mev` class)."""

    particle: Particle = Particle.ELECTRON
    energies_mev: tuple[float, ...] = ()
    # each [lo, hi] range is one more choice beside the listed energies, drawn flat within it
    ranges_mev: tuple[tuple[float, float], ...] = ()
    rate_hz: float = 0.0  # per APA, spread uniformly over the listed energies and ranges

    def validate(self) -> None:
        require(self.rate_hz >= 0, "rate_hz", "must not be negative")
        require(all(e > 0 for e in self.energies_mev), "energies_mev", "must be positive")
        require(
            all(0 < lo < hi for lo, hi in self.ranges_mev),
            "ranges_mev",
            "each range is [lo, hi] with 0 < lo < hi",
        )
        require(
            self.rate_hz == 0 or bool(self.energies_mev) or bool(self.ranges_mev),
            "energies_mev",
            "list at least one energy (or ranges_mev) when rate_hz > 0",
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
    coherent_noise_rate_hz: float = 0.0  # coherent-noise bursts per APA (not supernovae)
    coherent_noise_amplitude_adc: float = 100.0  # a damped 25-tick sine on a channel group
    coherent_noise_duration_ticks: int = 200

    # the old spellings (their "burst" read as a supernova burst), still accepted
    RENAMED_KEYS: ClassVar[dict[str, str]] = {
        "burst_rate_hz": "coherent_noise_rate_hz",
        "burst_amplitude_adc": "coherent_noise_amplitude_adc",
        "burst_duration_ticks": "coherent_noise_duration_ticks",
    }

    def validate(self) -> None:
        require(self.noisy_factor >= 1, "noisy_factor", "must be at least 1")
        require(0 <= self.stuck_fraction <= 1, "stuck_fraction", "must be in [0, 1]")
        require(self.coherent_noise_rate_hz >= 0, "coherent_noise_rate_hz", "must not be negative")
        require(
            self.coherent_noise_duration_ticks > 0,
            "coherent_noise_duration_ticks",
            "must be positive",
        )


class ApaKind(StrEnum):
    """``central``: the middle row, reading two drift volumes; ``outer``: the two outer rows,
    one drift volume (x > 0) — the wall-side face has no drift field but still reads noise."""

    CENTRAL = "central"
    OUTER = "outer"


def require_apas(apas: int, apa_kinds: Sequence[ApaKind]) -> None:
    """A multi-APA run's layout: ``apas`` streams of each kind, each kind listed once."""
    require(apas > 0, "apas", "must be positive")
    require(
        bool(apa_kinds) and len(set(apa_kinds)) == len(apa_kinds),
        "apa_kinds",
        "list each APA kind (central, outer) at most once, at least one",
    )


@dataclass(frozen=True)
class Module:
    """A 10 kt horizontal-drift module: 3 rows across × 2 high × 25 long = 150 APAs; the drift
    volumes go APA–CPA–APA–CPA–APA, four in all (TDR vol. IV)."""

    central_apas: int = 50
    outer_apas: int = 100
    apas_high: int = 2
    apas_long: int = 25

    def validate(self) -> None:
        for name in ("central_apas", "outer_apas", "apas_high", "apas_long"):
            require(getattr(self, name) >= 0, name, "must not be negative")
        require(self.central_apas + self.outer_apas > 0, "central_apas", "a module needs APAs")

    def apas(self, kind: ApaKind) -> int:
        return self.central_apas if kind is ApaKind.CENTRAL else self.outer_apas


@dataclass(frozen=True)
class Structures:
    """Where the material and external sources sit, per APA."""

    cpa_thickness_cm: float = 0.3  # FR4 cathode sheets (dunesim radiological model v3.1.4)
    fr4_density_g_cm3: float = 1.75  # measured FR4 density (same file)
    head_boards_fr4_kg: float = 10.0  # (≈) CE head boards at the APA's outer end, per APA
    frame_steel_kg: float = 500.0  # (≈) stainless-steel APA frame, per APA
    pds_modules: int = 10  # photon-detector bars per APA (TDR vol. IV)
    pds_module_area_cm2: float = 5953.72  # one bar, 2.3 × 11.8 × 209.2 cm (v3.1.4)
    external_offset_cm: float = 25.0  # γ planes 25 cm beyond the TPC (v3_4_hd_1x2x6)
    # Outer APAs: flux through the wall side relative to the planes' — 0.025 of 1.05 γ/cm²/s for
    # cavern γ (≈40 cm of inactive argon, DESIGN §4); neutron-capture γ (≈ 7 MeV, μ ≈ 0.04/cm)
    # lose less (≈).
    wall_factor_gamma: float = 0.025 / 1.05
    wall_factor_ngamma: float = 0.19

    def validate(self) -> None:
        for name in (
            "cpa_thickness_cm",
            "fr4_density_g_cm3",
            "pds_module_area_cm2",
            "external_offset_cm",
        ):
            require(getattr(self, name) > 0, name, "must be positive")
        for name in ("head_boards_fr4_kg", "frame_steel_kg", "pds_modules"):
            require(getattr(self, name) >= 0, name, "must not be negative")
        for name in ("wall_factor_gamma", "wall_factor_ngamma"):
            require(0 <= getattr(self, name) <= 1, name, "must be in [0, 1]")


@dataclass(frozen=True)
class DetectorScenario:
    """What one simulated APA stream contains."""

    name: str = "default"
    seed: int = 12345
    seconds: float = 0.05
    slice_ticks: int = 4096  # a multiple of the 64-sample WIBEth frame
    apa_kind: ApaKind = ApaKind.CENTRAL
    module: Module = field(default_factory=Module)
    geometry: Geometry = field(default_factory=Geometry)
    readout: Readout = field(default_factory=Readout)
    physics: Physics = field(default_factory=Physics)
    structures: Structures = field(default_factory=Structures)
    # activity per independent source of triggerml.detector.catalogue, in its unit (a source
    # not listed keeps its default; 0 switches it off)
    backgrounds: dict[str, float] = field(default_factory=dict)
    plateout: dict[str, float] = field(default_factory=dict)  # fractions; default as DUNE's
    supernova: Supernova = field(default_factory=Supernova)
    singles: Singles = field(default_factory=Singles)
    conditions: Conditions = field(default_factory=Conditions)

    def validate(self) -> None:
        from triggerml.detector.catalogue import INDEPENDENT, PLATEOUT_DEFAULTS, SOURCE_BY_NAME

        require(self.seconds > 0, "seconds", "must be positive")
        require(
            self.slice_ticks > 0 and self.slice_ticks % 64 == 0,
            "slice_ticks",
            "must be a positive multiple of 64 (the WIBEth frame length)",
        )
        from triggerml.detector.noise import BANK_LENGTH

        require(
            self.slice_ticks <= BANK_LENGTH,
            "slice_ticks",
            f"must be at most {BANK_LENGTH} (a slice reads each periodic noise row once)",
        )
        for name, value in self.backgrounds.items():
            source = SOURCE_BY_NAME.get(name)
            if source is None:
                raise ConfigError(
                    f"backgrounds.{name}: unknown source; known: {', '.join(INDEPENDENT)}"
                )
            if source.derived_from is not None:
                raise ConfigError(
                    f"backgrounds.{name}: derived from {source.derived_from} and plateout: "
                    "set those instead"
                )
            require(
                value >= 0 and math.isfinite(value),
                f"backgrounds.{name}",
                f"activity must be a non-negative number ({source.unit}), got {value}",
            )
        for name, value in self.plateout.items():
            if name not in PLATEOUT_DEFAULTS:
                raise ConfigError(
                    f"plateout.{name}: unknown; known: {', '.join(PLATEOUT_DEFAULTS)}"
                )
            require(0 <= value <= 1, f"plateout.{name}", f"fraction must be in [0, 1], got {value}")
        n = self.geometry.n_channels
        for name in ("dead_channels", "noisy_channels", "stuck_bit_channels"):
            bad = [c for c in getattr(self.conditions, name) if not 0 <= c < n]
            require(not bad, f"conditions.{name}", f"channels {bad} outside 0..{n - 1}")

    @property
    def drift_volumes(self) -> int:
        return 2 if self.apa_kind is ApaKind.CENTRAL else 1

    @property
    def drift_volume_mass_kg(self) -> float:
        """Argon in one drift volume: drift length × height × width × density."""
        g = self.geometry
        return g.drift_length_m * g.height_m * g.width_m * self.physics.argon_density_t_m3 * 1e3

    @property
    def mass_per_apa_t(self) -> float:
        """Active argon this APA reads: 134.8 t (central), 67.4 t (outer) by default."""
        return self.drift_volumes * self.drift_volume_mass_kg / 1e3

    def module_mass_t(self) -> float:
        """Active argon of the module: central and outer APAs with their own masses."""
        per_volume = self.drift_volume_mass_kg / 1e3
        return per_volume * (2 * self.module.central_apas + self.module.outer_apas)

    def module_surface_cm2(self) -> float:
        """Outer surface of the module's active volume (neutrons come in through it)."""
        g, m = self.geometry, self.module
        height = m.apas_high * g.height_m
        across = 4 * g.drift_length_m
        length = m.apas_long * g.width_m
        return 2 * (height * across + height * length + across * length) * 1e4

    def activity(self, source: str) -> float:
        """The configured activity of an independent source (its default when not set)."""
        from triggerml.detector.catalogue import SOURCE_BY_NAME

        return self.backgrounds.get(source, SOURCE_BY_NAME[source].activity)

    def plateout_fraction(self, key: str) -> float:
        from triggerml.detector.catalogue import PLATEOUT_DEFAULTS

        return self.plateout.get(key, PLATEOUT_DEFAULTS[key])

    @property
    def n_slices(self) -> int:
        ticks = self.seconds * self.readout.sampling_hz
        return max(1, math.ceil(ticks / self.slice_ticks))


def load_scenario(path: str) -> DetectorScenario:
    """A detector scenario from YAML: the whole file, or its ``detector:`` section."""
    from triggerml.config import from_mapping, load_yaml

    data = load_yaml(path)
    if "detector" in data:
        data = data["detector"]
    return from_mapping(DetectorScenario, data)


def __getattr__(name: str) -> Any:
    """The old name of :class:`DetectorScenario`, kept for scripts that import it (it
    collided with the studies' ``StudyScenario`` in reading)."""
    if name == "Scenario":
        import warnings

        warnings.warn(
            "triggerml.detector.config.Scenario is now DetectorScenario",
            DeprecationWarning,
            stacklevel=2,
        )
        return DetectorScenario
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
