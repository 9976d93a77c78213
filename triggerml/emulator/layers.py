"""What the emulator knows of each layer kind, in one place per kind: how its step is prepared
from the emulation graph (weights, types, tables) and how it runs (its kernel).

A kind is a :class:`LayerKind` subclass registered in :data:`KINDS` under the hls4ml class
names it handles; the emulator looks every graph layer up there, and the list of emulated
layers in its error messages is this table's keys.  Adding a layer kind: write its
kernel in ``kernels/`` (checked bit for bit against hls4ml's C simulation), a subclass
here, and one registry line (README, "Extending").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from triggerml.emulator import kernels
from triggerml.emulator.kernels import Tensor
from triggerml.fixed import MAX_WIDTH, FixedType, parse_type, type_fields

MERGE_OPS = ("add", "subtract", "multiply", "average", "maximum", "minimum")
ACTIVATIONS = ("linear", "relu", "sigmoid", "softmax", "hard_tanh", "hard_sigmoid", "elu")
TABLE_ACTIVATIONS = ("sigmoid", "softmax")


class EmulationError(ValueError):
    """A graph or an input the emulator cannot use; the message says what to fix."""


@dataclass
class Step:
    """One graph layer, prepared: its record and what its kernel needs."""

    layer: dict[str, Any]
    result_t: FixedType | None  # None: a type wider than int64 that holds the input exactly
    weight: npt.NDArray[np.int64] | None = None
    bias: npt.NDArray[np.int64] | None = None
    weight_t: FixedType | None = None
    bias_t: FixedType | None = None
    accum_t: FixedType | None = None
    table: npt.NDArray[np.int64] | None = None
    table_t: FixedType | None = None
    softmax: kernels.SoftmaxTables | None = None
    relu_t: FixedType | None = None  # a following ReLU fused into this layer's last pass
    pool: kernels.FusedPool | None = None  # a following max pooling, fused likewise
    fused: bool = False  # done by the layer before
    aliases: tuple[str, ...] = ()  # fused layers whose output this step's output is

    def require(self, *names: str) -> tuple[Any, ...]:
        """Prepared fields a kernel needs (set by its kind's ``prepare``)."""
        values = tuple(getattr(self, name) for name in names)
        missing = [n for n, v in zip(names, values, strict=True) if v is None]
        if missing:
            raise EmulationError(f"layer {self.layer['name']!r}: {', '.join(missing)} not set")
        return values


@dataclass(frozen=True)
class Context:
    """What preparing a step may read besides its own record."""

    weights: dict[str, npt.NDArray[np.int64]]
    current: FixedType | None  # the type of the layer's (first) input
    io_type: str
    where: str  # "graph.json: layer 'name'" for error messages


def result_type(
    text: str, source: FixedType | None, where: str, values: npt.NDArray[np.int64] | None = None
) -> FixedType | None:
    """The result type — or None when it is wider than int64 but holds every value the
    layer can produce exactly (``values``: those values' mantissas, when known)."""
    try:
        return parse_type(text)
    except ValueError:
        try:
            wide = type_fields(text)
        except ValueError:
            wide = None
        if wide is None or source is None:
            raise EmulationError(f"{where}: type {text!r} is not emulated") from None
        width = wide[1]
        if width > MAX_WIDTH and kernels.is_exact_identity(source, wide):
            return None
        if width > MAX_WIDTH and values is not None and kernels.holds_values(source, values, wide):
            return None
        raise EmulationError(
            f"{where}: type {text} is wider than {MAX_WIDTH} bits and does "
            "not hold its input exactly"
        ) from None


def _weights(ctx: Context, layer: dict[str, Any], *names: str) -> list[npt.NDArray[np.int64]]:
    try:
        return [ctx.weights[f"{layer['name']}/{name}"] for name in names]
    except KeyError:
        raise EmulationError(f"{ctx.where}: weights missing from weights.npz") from None


class LayerKind:
    """A layer kind: prepare its step, then run it.  Defaults: no weights, the result cast
    from the input's type, an identity kernel reshaped to the layer's shape and cast."""

    inputs: ClassVar[int] = 1  # tensors the kernel reads (2: merges)

    def prepare(self, step: Step, ctx: Context) -> FixedType | None:
        """Fill the step's weights, types and tables; the type its result is cast from."""
        return ctx.current

    def result(self, step: Step, source: FixedType | None, where: str) -> FixedType | None:
        return result_type(step.layer["result_t"], source, where, step.table)

    def apply(self, step: Step, xs: list[Tensor]) -> Tensor:
        x = xs[0]
        out = Tensor(x.mantissa.reshape(len(x.mantissa), *step.layer["shape"]), x.ftype)
        return kernels.cast(out, step.result_t)


class InputKind(LayerKind):
    def result(self, step: Step, source: FixedType | None, where: str) -> FixedType | None:
        return parse_type(step.layer["result_t"])


class MergeKind(LayerKind):
    """Add, Subtract, Multiply, Average, Maximum, Minimum (hls4ml's Merge) and Concatenate."""

    inputs = 2

    def prepare(self, step: Step, ctx: Context) -> FixedType | None:
        layer = step.layer
        if layer["class"] == "Merge" and layer.get("op") not in MERGE_OPS:
            raise EmulationError(
                f"{ctx.where}: merge {layer.get('op')!r} is not emulated; emulated: "
                + ", ".join(MERGE_OPS)
            )
        if len(layer.get("inputs", [])) != 2:
            raise EmulationError(f"{ctx.where}: a merge of two inputs is emulated")
        return ctx.current

    def result(self, step: Step, source: FixedType | None, where: str) -> FixedType | None:
        return parse_type(step.layer["result_t"])

    def apply(self, step: Step, xs: list[Tensor]) -> Tensor:
        (result_t,) = step.require("result_t")
        return kernels.merge(step.layer, xs[0], xs[1], result_t)


class MatmulKind(LayerKind):
    """Dense, Conv1D, Conv2D: products summed in the accumulator type, then cast (a ReLU or
    a max pooling right after may be fused into the final pass)."""

    def prepare(self, step: Step, ctx: Context) -> FixedType | None:
        layer = step.layer
        step.weight, step.bias = _weights(ctx, layer, "weight", "bias")
        if layer.get("weights_transposed"):
            n_out = int(step.bias.size)
            step.weight = step.weight.reshape(n_out, -1).T.reshape(-1).copy()
        step.weight_t = parse_type(layer["weight_t"])
        step.bias_t = parse_type(layer["bias_t"])
        step.accum_t = parse_type(layer["accum_t"])
        return step.accum_t

    def apply(self, step: Step, xs: list[Tensor]) -> Tensor:
        x = xs[0]
        weight, bias, weight_t, bias_t, accum_t = step.require(
            "weight", "bias", "weight_t", "bias_t", "accum_t"
        )
        affine = kernels.Affine(weight, weight_t, bias, bias_t, accum_t, step.result_t, step.relu_t)
        layer = step.layer
        if layer["class"] == "Dense":
            out = kernels.dense(x, affine)
            return Tensor(out.mantissa.reshape(len(x.mantissa), *layer["shape"]), out.ftype)
        return kernels.conv(x, layer, affine, step.pool)


class BatchNormKind(LayerKind):
    def prepare(self, step: Step, ctx: Context) -> FixedType | None:
        layer = step.layer
        step.weight, step.bias = _weights(ctx, layer, "scale", "bias")
        step.weight_t = parse_type(layer["scale_t"])
        step.bias_t = parse_type(layer["bias_t"])
        return ctx.current

    def apply(self, step: Step, xs: list[Tensor]) -> Tensor:
        weight, bias, weight_t, bias_t = step.require("weight", "bias", "weight_t", "bias_t")
        n_filt = int(step.layer.get("n_filt", -1))
        return kernels.batchnorm(xs[0], weight, weight_t, bias, bias_t, n_filt, step.result_t)


class ActivationKind(LayerKind):
    """relu, linear, hard_tanh, hard_sigmoid (slope and shift), and the table activations
    sigmoid, softmax and elu (tables built as hls4ml builds them)."""

    def prepare(self, step: Step, ctx: Context) -> FixedType | None:
        layer = step.layer
        activation = layer["activation"]
        if activation not in ACTIVATIONS:
            raise EmulationError(
                f"{ctx.where}: activation {activation!r} is not emulated; "
                f"emulated: {', '.join(ACTIVATIONS)}"
            )
        if activation in ("hard_tanh", "hard_sigmoid"):
            step.weight_t = parse_type(layer["slope_t"])  # slope and shift
            step.bias_t = parse_type(layer["shift_t"])
        if activation == "softmax":
            if ctx.current is None:
                raise EmulationError(f"{ctx.where}: softmax is emulated on a fixed-point input")
            try:
                step.softmax = kernels.SoftmaxTables.build(layer, ctx.current, ctx.io_type)
            except ValueError as error:
                raise EmulationError(f"{ctx.where}: {error}") from None
        if activation in ("sigmoid", "elu"):
            step.table_t = parse_type(layer["table_t"])
            build = kernels.sigmoid_table if activation == "sigmoid" else kernels.elu_table
            step.table = build(int(layer["table_size"]), step.table_t)
        if activation == "elu":
            step.weight_t = parse_type(layer["param_t"])  # alpha, as the C++ literal
            step.weight = step.weight_t.mantissa(np.array([layer["alpha"]]))
        return step.table_t if step.table_t is not None else ctx.current

    def apply(self, step: Step, xs: list[Tensor]) -> Tensor:
        x = xs[0]
        activation = step.layer["activation"]
        if activation == "relu":
            return kernels.relu(x, step.result_t)
        if activation in ("hard_tanh", "hard_sigmoid"):
            slope_t, shift_t = step.require("weight_t", "bias_t")
            return kernels.hard_activation(x, step.layer, slope_t, shift_t, step.result_t)
        if activation == "softmax":
            softmax, result_t = step.require("softmax", "result_t")
            return kernels.softmax(x, softmax, result_t)
        if activation == "sigmoid":
            table, table_t = step.require("table", "table_t")
            return kernels.sigmoid(x, table, table_t, step.result_t)
        if activation == "elu":
            table, table_t, alpha, alpha_t = step.require("table", "table_t", "weight", "weight_t")
            return kernels.elu(x, table, table_t, Tensor(alpha, alpha_t), step.result_t)
        return kernels.cast(x, step.result_t)


class PoolingKind(LayerKind):
    """Pooling1D/2D and GlobalPooling1D/2D (max or average, the sum in accum_t)."""

    def prepare(self, step: Step, ctx: Context) -> FixedType | None:
        accum = step.layer.get("accum_t")
        step.accum_t = parse_type(accum) if accum else None
        return ctx.current

    def apply(self, step: Step, xs: list[Tensor]) -> Tensor:
        if step.layer["class"].startswith("Global"):
            return kernels.global_pool(xs[0], step.layer, step.accum_t, step.result_t)
        return kernels.pool(xs[0], step.layer, step.accum_t, step.result_t)


class ResizeKind(LayerKind):
    """UpSampling1D/2D (hls4ml's Resize), nearest neighbour."""

    def prepare(self, step: Step, ctx: Context) -> FixedType | None:
        if step.layer.get("algorithm") != "nearest":
            raise EmulationError(
                f"{ctx.where}: resize {step.layer.get('algorithm')!r} is not emulated; "
                "emulated: nearest"
            )
        return ctx.current

    def apply(self, step: Step, xs: list[Tensor]) -> Tensor:
        return kernels.cast(kernels.resize_nearest(xs[0], step.layer), step.result_t)


class ZeroPaddingKind(LayerKind):
    def apply(self, step: Step, xs: list[Tensor]) -> Tensor:
        return kernels.cast(kernels.zero_pad(xs[0], step.layer), step.result_t)


_MATMUL, _POOLING = MatmulKind(), PoolingKind()
_RESHAPE = LayerKind()  # Reshape, Flatten, Clone: the values as they are, in the new shape
_MERGE = MergeKind()

# hls4ml class name → its kind, in the order the supported list is printed
KINDS: dict[str, LayerKind] = {
    "Input": InputKind(),
    "Dense": _MATMUL,
    "Conv1D": _MATMUL,
    "Conv2D": _MATMUL,
    "Activation": ActivationKind(),
    "Pooling1D": _POOLING,
    "Pooling2D": _POOLING,
    "Reshape": _RESHAPE,
    "Flatten": _RESHAPE,
    "ZeroPadding1D": ZeroPaddingKind(),
    "ZeroPadding2D": ZeroPaddingKind(),
    "Resize": ResizeKind(),
    "BatchNormalization": BatchNormKind(),
    "GlobalPooling1D": _POOLING,
    "GlobalPooling2D": _POOLING,
    "Merge": _MERGE,
    "Concatenate": _MERGE,
    "Clone": _RESHAPE,
}
