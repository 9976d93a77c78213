"""Model zoo definitions: YAML → QKeras (tf_keras) models that hls4ml converts exactly.

Every model starts with an input quantizer matching its dataset's fixed-point input type
(so hls4ml's ``bit_exact`` conversion applies), uses ``quantized_bits`` weights (alpha=1)
and ``quantized_relu`` activations, and ends with quantized logits → sigmoid, so the
sigmoid table sees a narrow type.  ``build_model(config, quantized=False)`` gives the
float twin used to measure the quantization gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from triggerml.config import ConfigError, from_mapping, load_yaml, require
from triggerml.tpg.roi import InputKind


class LayerType(StrEnum):
    CONV1D = "conv1d"
    CONV2D = "conv2d"
    DENSE = "dense"
    RELU = "relu"
    MAXPOOL1D = "maxpool1d"
    MAXPOOL2D = "maxpool2d"
    FLATTEN = "flatten"


LAYER_KEYS: dict[LayerType, set[str]] = {
    LayerType.CONV1D: {"filters", "kernel", "strides", "padding", "bits"},
    LayerType.CONV2D: {"filters", "kernel", "strides", "padding", "bits"},
    LayerType.DENSE: {"units", "bits"},
    LayerType.RELU: {"bits", "integer"},
    LayerType.MAXPOOL1D: {"pool"},
    LayerType.MAXPOOL2D: {"pool"},
    LayerType.FLATTEN: set(),
}


@dataclass(frozen=True)
class LayerSpec:
    type: LayerType
    filters: int = 0
    units: int = 0
    kernel: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    padding: str = "valid"
    pool: tuple[int, ...] = ()
    bits: int = 8
    integer: int = 0


def parse_layer(raw: Any, where: str) -> LayerSpec:
    if not isinstance(raw, dict) or "type" not in raw:
        raise ConfigError(f"{where}: each layer is a mapping with a 'type'")
    kind = raw["type"]
    try:
        layer_type = LayerType(kind)
    except ValueError:
        supported = ", ".join(t.value for t in LayerType)
        raise ConfigError(
            f"{where}: unsupported layer type {kind!r}; supported: {supported}"
        ) from None
    allowed = LAYER_KEYS[layer_type] | {"type"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: not a key of a {kind} layer; valid: "
            f"{', '.join(sorted(allowed))}"
        )
    spec = from_mapping(LayerSpec, raw, where)
    if layer_type in (LayerType.CONV1D, LayerType.CONV2D):
        require(spec.filters > 0, f"{where}.filters", "must be positive")
        require(bool(spec.kernel), f"{where}.kernel", "is required")
        require(spec.padding in ("valid", "same"), f"{where}.padding", "valid or same")
    if layer_type is LayerType.DENSE:
        require(spec.units > 0, f"{where}.units", "must be positive")
    if layer_type in (LayerType.MAXPOOL1D, LayerType.MAXPOOL2D):
        require(bool(spec.pool), f"{where}.pool", "is required")
    require(2 <= spec.bits <= 16, f"{where}.bits", "quantizer bits must be in 2..16")
    require(0 <= spec.integer < spec.bits, f"{where}.integer", "must be in 0..bits-1")
    return spec


@dataclass(frozen=True)
class Quantizer:
    bits: int = 12
    integer: int = 6  # excluding the sign bit, as QKeras counts

    def validate(self) -> None:
        require(2 <= self.bits <= 16, "bits", "must be in 2..16")
        require(0 <= self.integer < self.bits, "integer", "must be in 0..bits-1")

    @property
    def fixed_type(self) -> str:
        """The ap_fixed type on the quantizer's grid (saturating, round to nearest even)."""
        return f"ap_fixed<{self.bits},{self.integer + 1},AP_RND_CONV,AP_SAT>"


@dataclass(frozen=True)
class Training:
    seed: int = 1
    epochs: int = 40
    batch_size: int = 256
    learning_rate: float = 3e-3
    patience: int = 6
    float_epochs: int = 20  # the float twin, for the quantization gap
    # × the balanced class weight of backgrounds and noise: > 1 buys rejection with signal,
    # for a trigger that runs far out on the background tail (≈10⁻⁴ of all clusters)
    background_weight: float = 1.0
    # backgrounds with an ADC sum ≥ this (0: none) are hard: the ADC sum cannot reject them
    # near the working point; in dataset_hn2 ≈9 % of those above the pre-cut are ≥ 10,000
    hard_adc_sum: int = 0
    # × again for hard backgrounds: they would otherwise barely reach the loss, and the
    # model would learn the ADC sum rather than what the ADC sum misses
    hard_weight: float = 1.0

    def validate(self) -> None:
        require(self.epochs > 0, "epochs", "must be positive")
        require(self.background_weight > 0, "background_weight", "must be positive")
        require(self.hard_adc_sum >= 0, "hard_adc_sum", "must not be negative")
        require(self.hard_weight > 0, "hard_weight", "must be positive")
        require(self.batch_size > 0, "batch_size", "must be positive")
        require(self.learning_rate > 0, "learning_rate", "must be positive")


@dataclass(frozen=True)
class ModelConfig:
    name: str  # the model's name: its files are models/<name>.h5, .json, .md
    input: str  # dataset input kind: roi2d, waveform, tp_features, tp_features_uvx
    dataset: str = "models/dataset.yaml"  # the training set's config (triggerml dataset)
    description: str = ""  # one line for the model card
    input_quantizer: Quantizer = field(default_factory=Quantizer)
    layers: tuple[Any, ...] = ()
    logit_quantizer: Quantizer = field(default_factory=lambda: Quantizer(12, 5))
    training: Training = field(default_factory=Training)
    # a side input (a second input kind of the same training set, e.g. the TP features
    # beside a 2D window): quantized by its own input quantizer and concatenated with the
    # (flat) output of layers[merge_after]; the layers after it see both
    side_input: str | None = None
    side_input_quantizer: Quantizer = field(default_factory=Quantizer)
    merge_after: int = -1

    def validate(self) -> None:
        kinds = [kind.value for kind in InputKind]
        require(self.input in kinds, "input", f"must be one of {', '.join(kinds)}")
        require(bool(self.layers), "layers", "list at least one layer")
        if self.side_input is not None:
            require(self.side_input in kinds, "side_input", f"must be one of {', '.join(kinds)}")
            require(self.side_input != self.input, "side_input", "must differ from input")
            require(
                0 <= self.merge_after < len(self.layers) - 1,
                "merge_after",
                f"the index of a layer before the last (0–{len(self.layers) - 2})",
            )

    @property
    def inputs(self) -> list[str]:
        """The input kinds, in the firmware's port order."""
        return [self.input] if self.side_input is None else [self.input, self.side_input]

    def layer_specs(self) -> list[LayerSpec]:
        return [parse_layer(raw, f"layers[{i}]") for i, raw in enumerate(self.layers)]


def load_model_config(path: str | Path) -> ModelConfig:
    config = from_mapping(ModelConfig, load_yaml(path))
    config.layer_specs()  # validate every layer now, with its position in the message
    return config


def build_model(
    config: ModelConfig,
    input_shape: tuple[int, ...],
    quantized: bool = True,
    side_shape: tuple[int, ...] | None = None,
) -> Any:
    """The tf_keras model; layer names are stable (hls4ml per-layer config uses them).
    A model with a side input takes ``[x, side]``."""
    import tf_keras as keras
    from qkeras import QActivation, QConv1D, QConv2D, QDense, quantized_bits, quantized_relu

    def quantize(tensor: Any, q: Quantizer, name: str) -> Any:
        """An input on its grid (QActivation(quantized_bits)); the float twin takes it as is."""
        if not quantized:
            return tensor
        return QActivation(quantized_bits(q.bits, q.integer, alpha=1), name=name)(tensor)

    inputs = keras.Input(input_shape, name="x")
    x = quantize(inputs, config.input_quantizer, "input_quant")
    side = None
    if config.side_input is not None:
        if side_shape is None:
            raise ValueError(f"model {config.name} has a side input: give its shape")
        side = keras.Input(side_shape, name="side")
        side_x = quantize(side, config.side_input_quantizer, "side_quant")
    for index, spec in enumerate(config.layer_specs()):
        name = f"{spec.type.value}_{index}"
        weights = quantized_bits(spec.bits, 0, alpha=1)
        if spec.type in (LayerType.CONV1D, LayerType.CONV2D):
            dims = 1 if spec.type is LayerType.CONV1D else 2
            kernel = tuple(spec.kernel) * (dims // len(spec.kernel))
            strides = tuple(spec.strides) or (1,) * dims
            if quantized:
                layer = (QConv1D if dims == 1 else QConv2D)(
                    spec.filters,
                    kernel,
                    strides=strides,
                    padding=spec.padding,
                    kernel_quantizer=weights,
                    bias_quantizer=weights,
                    name=name,
                )
            else:
                layer = (keras.layers.Conv1D if dims == 1 else keras.layers.Conv2D)(
                    spec.filters, kernel, strides=strides, padding=spec.padding, name=name
                )
        elif spec.type is LayerType.DENSE:
            layer = (
                QDense(spec.units, kernel_quantizer=weights, bias_quantizer=weights, name=name)
                if quantized
                else keras.layers.Dense(spec.units, name=name)
            )
        elif spec.type is LayerType.RELU:
            layer = (
                QActivation(quantized_relu(spec.bits, spec.integer), name=name)
                if quantized
                else keras.layers.ReLU(name=name)
            )
        elif spec.type is LayerType.MAXPOOL1D:
            layer = keras.layers.MaxPooling1D(tuple(spec.pool), name=name)
        elif spec.type is LayerType.MAXPOOL2D:
            layer = keras.layers.MaxPooling2D(tuple(spec.pool), name=name)
        else:
            layer = keras.layers.Flatten(name=name)
        x = layer(x)
        if side is not None and index == config.merge_after:
            if len(x.shape) != 2:
                raise ValueError(
                    f"model {config.name}: layers[{index}] gives shape {tuple(x.shape[1:])}; "
                    "the side input joins a flat output (merge_after a flatten or dense)"
                )
            x = keras.layers.Concatenate(name="merge_side")([x, side_x])
    lq = config.logit_quantizer
    if quantized:
        x = QActivation(quantized_bits(lq.bits, lq.integer, alpha=1), name="logits")(x)
    else:
        x = keras.layers.Activation("linear", name="logits")(x)
    outputs = keras.layers.Activation("sigmoid", name="score")(x)
    return keras.Model(inputs if side is None else [inputs, side], outputs, name=config.name)


def count_multiplications(model: Any) -> int:
    """Multiplications per inference in conv and dense layers (hls4ml's n_in × n_out)."""
    total = 0
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        out_shape = layer.output_shape
        positions = 1
        for dim in out_shape[1:-1]:
            positions *= int(dim)
        weights = 1
        for dim in kernel.shape:
            weights *= int(dim)
        total += positions * weights
    return total
