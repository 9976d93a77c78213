"""Study scenarios (``emulation/*.yaml``): what to simulate, which firmware to run, which
studies to make of it, and the working point.

Paths (``model``, ``firmware``) are relative to the working directory, as everywhere else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from triggerml.config import ConfigError, from_mapping, load_yaml, require
from triggerml.detector.config import ApaKind, DetectorScenario, require_apas
from triggerml.nn.dataset import DatasetConfig
from triggerml.nn.dataset import load_config as load_dataset_config
from triggerml.nn.zoo import load_model_config
from triggerml.trigger.candidates import Grouping
from triggerml.trigger.chain import ChainConfig
from triggerml.trigger.figures import SignalClass


class StudyKind(StrEnum):
    THRESHOLD_SCAN = "threshold_scan"  # single-event efficiency vs energy, E50
    SNB_REACH = "snb_reach"  # supernova-burst trigger efficiency vs distance


@dataclass(frozen=True)
class WorkingPoint:
    """Background candidate rates per APA (module averages) the triggers are tuned to."""

    rate_hz_per_apa: float = 10.0  # the threshold scan's (E50) common working point
    report_rates_hz_per_apa: tuple[float, ...] = (0.1, 1.0, 10.0)  # efficiency_at_rate
    # the burst trigger's scan: each trigger's reach at its own best working point
    scan_rates_hz_per_apa: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)

    def validate(self) -> None:
        require(self.rate_hz_per_apa > 0, "rate_hz_per_apa", "must be positive")
        for name in ("report_rates_hz_per_apa", "scan_rates_hz_per_apa"):
            rates = getattr(self, name)
            require(
                bool(rates) and all(r > 0 for r in rates),
                name,
                f"list positive rates (got {list(rates)})",
            )


@dataclass(frozen=True)
class Burst:
    """The supernova-burst trigger: candidates of a whole module counted in a sliding window."""

    window_s: float = 10.0
    step_s: float = 1.0  # the window slides by this much: month / step trials per month
    apas_per_module: int = 150  # one 10 kt horizontal-drift module
    fake_bursts_per_month: float = 1.0  # target
    distances_kpc: tuple[float, ...] = (1, 2, 5, 8, 10, 15, 20, 25, 30, 40, 50, 60)
    toys: int = 2000  # pseudo-bursts per distance
    seed: int = 7

    def validate(self) -> None:
        require(self.window_s > 0, "window_s", "must be positive")
        require(0 < self.step_s <= self.window_s, "step_s", "must be in (0, window_s]")
        require(self.apas_per_module > 0, "apas_per_module", "must be positive")
        require(self.fake_bursts_per_month > 0, "fake_bursts_per_month", "must be positive")
        require(
            bool(self.distances_kpc) and min(self.distances_kpc) > 0,
            "distances_kpc",
            "list positive distances",
        )
        require(10.0 in self.distances_kpc, "distances_kpc", "must include 10 kpc")
        require(self.toys > 0, "toys", "must be positive")


@dataclass(frozen=True)
class StudyScenario:
    name: str
    model: str  # the zoo config (models/<name>.yaml): input kind and training set
    firmware: str  # a `triggerml build` DIR of that model
    detector: DetectorScenario = field(default_factory=DetectorScenario)
    studies: tuple[StudyKind, ...] = (StudyKind.THRESHOLD_SCAN, StudyKind.SNB_REACH)
    seed: int = 1
    apas: int = 1  # independent APA streams simulated per APA kind
    # APA kinds simulated: module figures weight each by its share of the module's APAs
    apa_kinds: tuple[ApaKind, ...] = (ApaKind.CENTRAL, ApaKind.OUTER)
    chunk_slices: int = 32  # slices counted per task (plus warm-up and tail)
    tail_slices: int = 2  # slices simulated after a task so late drift charge arrives
    working_point: WorkingPoint = field(default_factory=WorkingPoint)
    burst: Burst = field(default_factory=Burst)
    candidates: Grouping = field(default_factory=Grouping)  # clusters → candidates
    signals: tuple[SignalClass, ...] = tuple(SignalClass)  # the classes figures report
    # the model scores clusters with ADC sum ≥ this; None: the training set's pre-cut
    precut_adc_sum: int | None = None

    def validate(self) -> None:
        require(bool(self.studies), "studies", "list at least one study")
        require_apas(self.apas, self.apa_kinds)
        require(self.chunk_slices > 0, "chunk_slices", "must be positive")
        require(self.tail_slices >= 0, "tail_slices", "must not be negative")
        require(
            self.precut_adc_sum is None or self.precut_adc_sum >= 0,
            "precut_adc_sum",
            "must not be negative",
        )

    @property
    def stream(self) -> DetectorScenario:
        """The detector scenario with the study's seed."""
        return dataclasses.replace(self.detector, seed=self.seed, name=self.name)

    def stream_of(self, kind: ApaKind | str) -> DetectorScenario:
        """The detector scenario of one APA kind."""
        return dataclasses.replace(self.stream, apa_kind=ApaKind(kind))

    def module_shares(self) -> dict[str, float]:
        """Each simulated kind's share of the module's APAs (renormalized over the kinds
        simulated): how module-average rates per APA weight them."""
        module = self.detector.module
        counts = {kind.value: module.apas(kind) for kind in self.apa_kinds}
        total = sum(counts.values())
        return {kind: n / total for kind, n in counts.items()}

    def module_mass_shares(self) -> dict[str, float]:
        """Each simulated kind's share of the module's active argon (renormalized over the
        kinds simulated): how module-average signal efficiencies weight them."""
        module = self.detector.module
        masses = {
            kind.value: module.apas(kind) * self.stream_of(kind).mass_per_apa_t
            for kind in self.apa_kinds
        }
        total = sum(masses.values())
        return {kind: m / total for kind, m in masses.items()}


@dataclass(frozen=True)
class Resolved:
    """A scenario with its model config and training set read."""

    scenario: StudyScenario
    dataset: DatasetConfig
    chain: ChainConfig
    input_kind: str


def load_study(path: str | Path) -> StudyScenario:
    return from_mapping(StudyScenario, load_yaml(path))


def resolve(scenario: StudyScenario) -> Resolved:
    """Read the model's zoo config and its training set's TPG, clustering and inputs."""
    model_path = Path(scenario.model)
    if not model_path.is_file():
        raise ConfigError(f"model: {model_path} not found (a zoo config such as models/roi2d.yaml)")
    model = load_model_config(model_path)
    dataset_path = Path(model.dataset)
    if not dataset_path.is_file():
        raise ConfigError(f"model: {model_path} names training set {dataset_path}, not found")
    dataset = load_dataset_config(dataset_path)
    kinds = dataset.kinds()
    for kind in model.inputs:
        if kind not in kinds:
            raise ConfigError(
                f"model: {model_path} takes {kind} inputs but its training set "
                f"{dataset_path} makes only {', '.join(kinds)} (set induction_planes: true there)"
            )
    precut = dataset.precut_adc_sum if scenario.precut_adc_sum is None else scenario.precut_adc_sum
    chain = ChainConfig(
        tpg=dataset.tpg,
        clusters=dataset.clusters,
        roi=kinds[model.input],
        precut_adc_sum=precut,
        induction_tpg=dataset.induction_tpg,
        induction_match=dataset.induction_match,
        side=kinds[model.side_input] if model.side_input else None,
    )
    return Resolved(scenario, dataset, chain, model.input)
