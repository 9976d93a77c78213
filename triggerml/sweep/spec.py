"""Sweep specs (``emulation/sweep_*.yaml``): one zoo model, the axes of its design space, the
fine-tune, the fixed validation stream and the part — all checked before any work starts.

A point is one combination of the axes.  ``weight_bits`` sets every Dense/Conv layer's weight
quantizer, ``activation_bits`` every ReLU's (its integer bits kept, capped at bits − 1); the
input and logit quantizers stay as the zoo config has them (the stream's inputs and the
trigger's threshold grid do not change with the point).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triggerml.config import ConfigError, from_mapping, load_yaml, require
from triggerml.nn.zoo import LayerType, ModelConfig, load_model_config

# hls4ml 1.3 builds these; distributed_arithmetic (da4ml) is refused until the emulator has
# been checked against its C simulation bit for bit (the sweep issue, item 4)
STRATEGIES = ("latency", "resource")
IO_TYPES = ("io_parallel", "io_stream")
MIN_BITS, MAX_BITS = 2, 16  # the zoo's quantizer range (triggerml.nn.zoo)


class SweepError(ValueError):
    """A sweep that cannot run as specified (one line for the CLI)."""


@dataclass(frozen=True)
class Axes:
    weight_bits: tuple[int, ...] = (8,)  # Dense/Conv weight quantizers, 2..16
    activation_bits: tuple[int, ...] = (8,)  # ReLU quantizers, 2..16
    reuse_factor: tuple[int, ...] = (1,)  # valid for every Dense/Conv layer (hls4ml's rule)
    strategy: tuple[str, ...] = ("latency",)  # latency, resource
    io_type: tuple[str, ...] = ("io_parallel",)  # io_parallel, io_stream

    def validate(self) -> None:
        for name in ("weight_bits", "activation_bits"):
            values = getattr(self, name)
            require(bool(values), name, "list at least one value")
            for bits in values:
                require(
                    MIN_BITS <= bits <= MAX_BITS,
                    name,
                    f"bits must be in {MIN_BITS}..{MAX_BITS} (got {bits})",
                )
        require(bool(self.reuse_factor), "reuse_factor", "list at least one value")
        require(min(self.reuse_factor) >= 1, "reuse_factor", "must be at least 1")
        for strategy in self.strategy:
            if strategy == "distributed_arithmetic":
                raise ConfigError(
                    "strategy: distributed_arithmetic is not swept: triggerml's emulator is "
                    "not yet checked bit for bit against its C simulation (use latency, "
                    "resource)"
                )
            require(strategy in STRATEGIES, "strategy", f"must be one of {', '.join(STRATEGIES)}")
        for io_type in self.io_type:
            require(io_type in IO_TYPES, "io_type", f"must be one of {', '.join(IO_TYPES)}")


@dataclass(frozen=True)
class Point:
    """One design: a combination of the axes."""

    weight_bits: int
    activation_bits: int
    reuse_factor: int
    strategy: str
    io_type: str

    @property
    def key(self) -> str:
        return (
            f"w{self.weight_bits}_a{self.activation_bits}_rf{self.reuse_factor}_"
            f"{self.strategy}_{self.io_type.removeprefix('io_')}"
        )


@dataclass(frozen=True)
class SweepSpec:
    name: str  # names the sweep in its outputs
    model: str  # the zoo config (architecture, quantizers, its training set's TPG and inputs)
    weights: str  # the trained weights every point is fine-tuned from (QKeras .h5)
    # the fine-tune's training set: a dataset config (.yaml, built into DIR/dataset.h5) or a
    # built dataset (.h5); its TPG, clustering and inputs must be the model's training set's
    dataset: str
    validation: str  # a study scenario: the fixed validation stream (its model/firmware unused)
    axes: Axes = field(default_factory=Axes)  # the design space: every combination is a point
    seed: int = 1  # the fine-tunes' and the builds' random events
    finetune_epochs: int = 3  # QAT epochs per point, from the weights above
    learning_rate: float = 1e-3  # the fine-tune's (Adam)
    rate_hz_per_apa: float = 1.0  # the physics figure: efficiency at this background rate
    part: str = "xcvu13p-flga2577-2-e"  # for fits and the report (from the shipped part table)
    clock_ns: float = 5.0  # the builds' target clock (latency and throughput)
    csim_events: int = 1000  # events compared in each point's C simulation
    synth: bool = False  # run HLS synthesis per point (the tool must be installed)

    def validate(self) -> None:
        require(self.finetune_epochs >= 0, "finetune_epochs", "must not be negative")
        require(self.learning_rate > 0, "learning_rate", "must be positive")
        require(self.rate_hz_per_apa > 0, "rate_hz_per_apa", "must be positive")
        require(self.clock_ns > 0, "clock_ns", "must be positive")
        require(self.csim_events >= 1, "csim_events", "must be at least 1")

    def dataset_file(self, folder: Path) -> Path:
        """The fine-tune set: the spec's .h5, or the one built from its config in ``folder``."""
        return Path(self.dataset) if self.dataset.endswith(".h5") else folder / "dataset.h5"

    def points(self) -> list[Point]:
        a = self.axes
        return [
            Point(*values)
            for values in itertools.product(
                a.weight_bits, a.activation_bits, a.reuse_factor, a.strategy, a.io_type
            )
        ]


def load_spec(path: str | Path) -> SweepSpec:
    try:
        return from_mapping(SweepSpec, load_yaml(path))
    except ConfigError as error:
        raise SweepError(f"{path}: {error}") from None


def point_config(config: ModelConfig, point: Point) -> ModelConfig:
    """The zoo config with the point's weight and activation bits."""
    layers = []
    for raw in config.layers:
        layer = dict(raw)
        kind = LayerType(layer["type"])
        if kind in (LayerType.DENSE, LayerType.CONV1D, LayerType.CONV2D):
            layer["bits"] = point.weight_bits
        elif kind is LayerType.RELU:
            layer["bits"] = point.activation_bits
            layer["integer"] = min(int(layer.get("integer", 0)), point.activation_bits - 1)
        layers.append(layer)
    return dataclasses.replace(config, layers=tuple(layers), name=f"{config.name}_{point.key}")


def valid_reuse_factor(n_in: int, n_out: int, reuse: int) -> bool:
    """hls4ml 1.3's rule for a Dense/Conv layer (FPGABackend._validate_reuse_factor): other
    values are silently replaced by the nearest valid one, so the sweep refuses them."""
    multiplier_limit = math.ceil(n_in * n_out / min(n_in, reuse))
    ok = multiplier_limit % n_out == 0 or reuse >= n_in
    ok = ok and (reuse % n_in == 0 or reuse < n_in)
    return ok and (n_in * n_out) % reuse == 0


def check(spec: SweepSpec, input_shapes: list[tuple[int, ...]]) -> ModelConfig:
    """Everything that can be checked before work starts; returns the model config."""
    from triggerml.compile.estimate import PARTS, part_resources

    for name in ("model", "weights", "dataset", "validation"):
        if not Path(getattr(spec, name)).is_file():
            raise SweepError(f"{name}: {getattr(spec, name)} not found")
    if not spec.dataset.endswith((".yaml", ".yml", ".h5")):
        raise SweepError(f"dataset: {spec.dataset} must be a dataset config (.yaml) or file (.h5)")
    if part_resources(spec.part) is None:
        raise SweepError(
            f"part: {spec.part} is not in the shipped part table (triggerml.compile.estimate."
            f"PARTS: {', '.join(PARTS)}): choose one of those"
        )
    if spec.synth:
        from triggerml.compile.synth import choose_tool

        choose_tool(None)  # no HLS tool: ToolNotFoundError (exit 3) naming what to install
    try:
        config = load_model_config(spec.model)
    except ConfigError as error:
        raise SweepError(f"model: {spec.model}: {error}") from None
    layers = _matmul_layers(config, input_shapes)
    for reuse in spec.axes.reuse_factor:
        for name, n_in, n_out in layers:
            if not valid_reuse_factor(n_in, n_out, reuse):
                valid = [
                    r for r in range(1, n_in * n_out + 1) if valid_reuse_factor(n_in, n_out, r)
                ]
                raise SweepError(
                    f"axes.reuse_factor: {reuse} does not divide layer {name} ({n_in} inputs × "
                    f"{n_out} outputs); valid for it: {', '.join(map(str, valid[:12]))}"
                    + (" …" if len(valid) > 12 else "")
                )
    return config


def _matmul_layers(
    config: ModelConfig, input_shapes: list[tuple[int, ...]]
) -> list[tuple[str, int, int]]:
    """(name, inputs per output, outputs) of every Dense/Conv layer, from the Keras model."""
    from triggerml.nn.zoo import build_model

    model = build_model(
        config,
        input_shapes[0],
        quantized=True,
        side_shape=input_shapes[1] if len(input_shapes) > 1 else None,
    )
    found = []
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        shape = tuple(int(d) for d in kernel.shape)
        found.append((layer.name, math.prod(shape[:-1]), shape[-1]))
    return found


def describe(spec: SweepSpec) -> dict[str, Any]:
    """The spec as the outputs record it."""
    from triggerml.config import to_mapping

    return to_mapping(spec)
