"""QKeras → QONNX: standard ONNX operators plus QONNX ``Quant`` nodes.

The pip release of qonnx (1.0) no longer ships its Keras converter, and tf2onnx does not
know QKeras quantizers, so the supported layer set is written out here, one node pattern per
layer.  Layout: the graph input keeps the Keras layout (channels last, as the model and the
firmware take it); convolutions and pooling run channels first as ONNX defines them, with
``Transpose`` nodes where the layout changes (before a Flatten, Keras's order is restored).

``Quant(x, scale, zero_point, bit_width)`` with attributes ``signed``, ``narrow``,
``rounding_mode``: y = scale · (clip(round(x / scale + zp), min, max) − zp).  QKeras's
``quantized_bits(bits, integer, alpha=1)`` is signed with scale 2^−(bits−1−integer);
``quantized_relu(bits, integer)`` is ``Relu`` then an unsigned Quant with scale
2^−(bits−integer); both round half to even ("ROUND").  Weights are stored already quantized,
each behind its own Quant node (idempotent on them), so consumers read bit widths and scales
from the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

QONNX_DOMAIN = "qonnx.custom_op.general"
OPSET = 13


class OnnxExportError(ValueError):
    """A model this exporter cannot write (the message names the layer and the fix)."""


@dataclass(frozen=True)
class QuantSpec:
    bits: int
    scale: float
    signed: bool


def quant_spec(quantizer: Any, where: str) -> QuantSpec:
    """The Quant parameters of a QKeras quantized_bits / quantized_relu object."""
    name = type(quantizer).__name__
    alpha = getattr(quantizer, "alpha", None)
    if alpha not in (None, 1, 1.0):
        raise OnnxExportError(
            f"{where}: {name} with alpha={alpha!r} has a trained scale; export supports "
            "power-of-two quantizers with alpha=1"
        )
    bits, integer = int(quantizer.bits), int(quantizer.integer)
    if name == "quantized_bits":
        if not getattr(quantizer, "keep_negative", True) or getattr(quantizer, "symmetric", False):
            raise OnnxExportError(f"{where}: only signed, non-symmetric quantized_bits export")
        return QuantSpec(bits, 2.0 ** -(bits - 1 - integer), True)
    if name == "quantized_relu":
        if getattr(quantizer, "negative_slope", 0.0):
            raise OnnxExportError(f"{where}: leaky quantized_relu does not export")
        return QuantSpec(bits, 2.0 ** -(bits - integer), False)
    raise OnnxExportError(
        f"{where}: quantizer {name} does not export; supported: quantized_bits, quantized_relu"
    )


@dataclass
class _Graph:
    nodes: list[Any] = field(default_factory=list)
    initializers: list[Any] = field(default_factory=list)
    counter: int = 0

    def name(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}_{self.counter}"

    def constant(self, stem: str, value: npt.ArrayLike) -> str:
        from onnx import numpy_helper

        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], stem: str, **attrs: Any) -> str:
        from onnx import helper

        out = self.name(stem)
        domain = QONNX_DOMAIN if op == "Quant" else ""
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def quant(self, x: str, spec: QuantSpec, stem: str) -> str:
        return self.node(
            "Quant",
            [
                x,
                self.constant(f"{stem}_scale", spec.scale),
                self.constant(f"{stem}_zeropt", 0.0),
                self.constant(f"{stem}_bitwidth", float(spec.bits)),
            ],
            stem,
            signed=int(spec.signed),
            narrow=0,
            rounding_mode="ROUND",
        )


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same': the extra pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def export_qonnx(model: Any, out: str | Path | None = None) -> Any:
    """The QONNX ModelProto of a loaded QKeras model (saved to ``out`` when given)."""

    graph = _Graph()
    shape = [int(d) for d in model.input_shape[1:]]
    current = "x"
    channels_first = False
    spatial = len(shape) - 1  # 0 for vectors
    for layer in model.layers:
        kind = type(layer).__name__
        where = f"layer {layer.name!r} ({kind})"
        if kind in {"InputLayer", "Dropout"}:
            continue
        if kind == "QActivation":
            quantizer = layer.quantizer
            spec = quant_spec(quantizer, where)
            if not spec.signed:
                current = graph.node("Relu", [current], f"{layer.name}_relu")
            current = graph.quant(current, spec, layer.name)
            continue
        if kind in {"Activation", "ReLU"}:
            current = _activation(graph, layer, current, where)
            continue
        if kind in ("QConv1D", "QConv2D", "MaxPooling1D", "MaxPooling2D"):
            if not channels_first:
                perm = [0, spatial + 1, *range(1, spatial + 1)]
                current = graph.node("Transpose", [current], "to_channels_first", perm=perm)
                channels_first = True
            in_spatial = [int(d) for d in layer.input_shape[1:-1]]
            if kind.startswith("Q"):
                current = _conv(graph, layer, current, in_spatial, where)
            else:
                current = _max_pool(graph, layer, current, where)
            continue
        if kind in ("Flatten", "QDense"):
            if channels_first:
                perm = [0, *range(2, spatial + 2), 1]
                current = graph.node("Transpose", [current], "to_channels_last", perm=perm)
                channels_first = False
            if kind == "Flatten":
                current = graph.node("Flatten", [current], layer.name, axis=1)
                spatial = 0
            else:
                current = _dense(graph, layer, current, where)
            continue
        raise OnnxExportError(
            f"{where} does not export to QONNX; exported: QActivation (quantized_bits, "
            "quantized_relu), QDense, QConv1D, QConv2D, MaxPooling1D/2D, Flatten, Dropout, "
            "Activation (linear, relu, sigmoid, softmax)"
        )
    if channels_first:
        raise OnnxExportError("the model ends in a convolution or pooling: flatten it first")
    return _model_proto(graph, model, shape, current, out)


def _activation(graph: _Graph, layer: Any, current: str, where: str) -> str:
    """Activation (linear, relu, sigmoid, softmax) and ReLU layers."""
    kind = type(layer).__name__
    activation = "relu" if kind == "ReLU" else layer.get_config()["activation"]
    ops = {"linear": "", "relu": "Relu", "sigmoid": "Sigmoid", "softmax": "Softmax"}
    if activation not in ops:
        raise OnnxExportError(
            f"{where}: activation {activation!r} does not export; supported: " + ", ".join(ops)
        )
    if not ops[activation]:
        return current
    attrs = {"axis": -1} if activation == "softmax" else {}
    return graph.node(ops[activation], [current], layer.name, **attrs)


def _max_pool(graph: _Graph, layer: Any, current: str, where: str) -> str:
    pool = list(layer.pool_size)
    if layer.padding != "valid":
        raise OnnxExportError(f"{where}: only 'valid' pooling exports")
    return graph.node(
        "MaxPool",
        [current],
        layer.name,
        kernel_shape=pool,
        strides=list(layer.strides),
        pads=[0] * (2 * len(pool)),
        dilations=[1] * len(pool),
        ceil_mode=0,
    )


def _model_proto(
    graph: _Graph, model: Any, shape: list[int], current: str, out: str | Path | None
) -> Any:
    """The checked ModelProto of the graph's nodes (saved to ``out`` when given)."""
    from onnx import TensorProto, checker, helper

    output_shape = [int(d) for d in model.output_shape[1:]]
    onnx_model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            model.name or "model",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", *shape])],
            [helper.make_tensor_value_info(current, TensorProto.FLOAT, ["batch", *output_shape])],
            graph.initializers,
        ),
        producer_name="triggerml",
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(QONNX_DOMAIN, 1)],
    )
    onnx_model.ir_version = 8
    checker.check_model(onnx_model)
    if out is not None:
        from onnx import save

        from triggerml.io import atomic_path

        with atomic_path(out) as tmp:
            save(onnx_model, str(tmp))
    return onnx_model


def _quantized_weights(
    layer: Any, where: str
) -> tuple[npt.NDArray, npt.NDArray, QuantSpec, QuantSpec]:
    kernel_q, bias_q = layer.get_quantizers()
    if kernel_q is None or bias_q is None:
        raise OnnxExportError(f"{where}: give it kernel and bias quantizers to export")
    kernel, bias = (np.asarray(w) for w in layer.get_weights())
    kernel = np.asarray(kernel_q(kernel.astype(np.float32)))
    bias = np.asarray(bias_q(bias.astype(np.float32)))
    return (
        kernel,
        bias,
        quant_spec(kernel_q, where + " kernel"),
        quant_spec(bias_q, where + " bias"),
    )


def _dense(graph: _Graph, layer: Any, x: str, where: str) -> str:
    kernel, bias, kspec, bspec = _quantized_weights(layer, where)
    w = graph.quant(graph.constant(f"{layer.name}_kernel", kernel), kspec, f"{layer.name}_kq")
    b = graph.quant(graph.constant(f"{layer.name}_bias", bias), bspec, f"{layer.name}_bq")
    product = graph.node("MatMul", [x, w], f"{layer.name}_matmul")
    return graph.node("Add", [product, b], layer.name)


def _conv(graph: _Graph, layer: Any, x: str, in_spatial: list[int], where: str) -> str:
    kernel, bias, kspec, bspec = _quantized_weights(layer, where)
    dims = kernel.ndim - 2
    # Keras (k..., C, F) → ONNX (F, C, k...)
    onnx_kernel = np.transpose(kernel, (dims + 1, dims, *range(dims)))
    sizes = list(kernel.shape[:dims])
    strides = [int(s) for s in layer.strides]
    if tuple(int(d) for d in layer.dilation_rate) != (1,) * dims:
        raise OnnxExportError(f"{where}: dilated convolutions do not export")
    if layer.padding == "same":
        pairs = [_same_pads(n, k, s) for n, k, s in zip(in_spatial, sizes, strides, strict=True)]
        pads = [p[0] for p in pairs] + [p[1] for p in pairs]
    elif layer.padding == "valid":
        pads = [0] * (2 * dims)
    else:
        raise OnnxExportError(f"{where}: padding {layer.padding!r} does not export")
    w = graph.quant(graph.constant(f"{layer.name}_kernel", onnx_kernel), kspec, f"{layer.name}_kq")
    b = graph.quant(graph.constant(f"{layer.name}_bias", bias), bspec, f"{layer.name}_bq")
    return graph.node(
        "Conv",
        [x, w, b],
        layer.name,
        kernel_shape=sizes,
        strides=strides,
        pads=pads,
        dilations=[1] * dims,
        group=1,
    )


def execute(model: Any, x: npt.NDArray) -> npt.NDArray[np.float64]:
    """Run a QONNX graph with qonnx's reference executor (onnxruntime has no Quant)."""
    from onnx import ModelProto
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    x = np.asarray(x, dtype=np.float32)
    fixed = ModelProto()
    fixed.CopyFrom(model)
    fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_value = len(x)  # sizes needed
    for value in fixed.graph.output:  # inferred again from the input
        value.type.tensor_type.ClearField("shape")
    del fixed.graph.value_info[:]
    wrapper = ModelWrapper(fixed).transform(InferShapes())
    name_in = wrapper.graph.input[0].name
    name_out = wrapper.graph.output[0].name
    return np.asarray(execute_onnx(wrapper, {name_in: x})[name_out], dtype=np.float64)


QCDQ_MAX_BITS = 8


def to_qcdq(model: Any) -> Any:
    """The same graph in QuantizeLinear → Clip → DequantizeLinear form (plain ONNX that
    onnxruntime runs).  Every Quant must be ≤ 8 bits: int8/uint8 hold the values."""
    from onnx import numpy_helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.qonnx_to_qcdq import QuantToQCDQ

    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    wide = [
        f"{node.name} ({int(values[node.input[3]])} bits)"
        for node in model.graph.node
        if node.op_type == "Quant" and float(values[node.input[3]]) > QCDQ_MAX_BITS
    ]
    if wide:
        raise OnnxExportError(
            f"QCDQ holds at most {QCDQ_MAX_BITS}-bit quantizers; wider: {', '.join(wide)}; "
            "use the QONNX form (Quant nodes) or requantize those layers"
        )
    converted = ModelWrapper(model).transform(QuantToQCDQ())
    left = [n.name for n in converted.graph.node if n.op_type == "Quant"]
    if left:
        raise OnnxExportError(f"Quant nodes {', '.join(left)} could not become QCDQ")
    return converted.model
