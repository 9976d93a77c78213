"""QONNX files for `triggerml build`: checks, the clean-up hls4ml's ONNX front end needs, and
the reference outputs the C simulation is compared with.

hls4ml converts QONNX after qonnx's ``cleanup_model``, ``ConvertToChannelsLastAndClean``,
``GemmToMatMul`` and ``cleanup_model`` again.  The reference is qonnx's own executor on the
file as given (onnxruntime cannot run ``Quant``); events are made in the firmware's
channels-last layout and transposed back when the file is channels first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.compile.model_file import ModelFileError

SUPPORTED_OPS = (
    "Quant",
    "MatMul",
    "Gemm",
    "Add",
    "Conv",
    "Relu",
    "Sigmoid",
    "Softmax",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Transpose",
    "Flatten",
    "Reshape",
    "BatchNormalization",
    "Identity",
)
TABLE_OPS = ("Sigmoid", "Softmax")


@dataclass
class OnnxSource:
    original: Any  # the ModelProto as given
    cleaned: Any  # the qonnx ModelWrapper hls4ml converts
    input_shape: tuple[int, ...]  # without batch, as the firmware takes it (channels last)
    to_original: tuple[int, ...] | None  # axes permutation back to the file's layout
    logits: str | None  # tensor feeding a final Sigmoid/Softmax
    input_precision: str | None  # of the first Quant on the input, as hls4ml spells it


def load(path: Path) -> OnnxSource:
    import onnx

    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as error:
        raise ModelFileError(f"{path} is not a readable ONNX model: {error}") from None
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ModelFileError(
            f"{path} has {len(inputs)} inputs and {len(graph.output)} outputs; triggerml "
            "builds single-input, single-output models"
        )
    unsupported = sorted({n.op_type for n in graph.node} - set(SUPPORTED_OPS))
    if unsupported:
        raise ModelFileError(
            f"{path}: unsupported ONNX operators {', '.join(unsupported)}; supported: "
            + ", ".join(SUPPORTED_OPS)
        )
    pools_1d = [
        n.name
        for n in graph.node
        if n.op_type in ("MaxPool", "AveragePool")
        and any(a.name == "kernel_shape" and len(a.ints) == 1 for a in n.attribute)
    ]
    if pools_1d:
        raise ModelFileError(
            f"{path}: 1D pooling ({', '.join(pools_1d)}) does not convert through hls4ml "
            "1.3's ONNX front end (it leaves the padding unset); build the QKeras model "
            "(.h5) instead"
        )
    if not any(n.op_type == "Quant" for n in graph.node):
        raise ModelFileError(
            f"{path} has no QONNX Quant nodes: export a quantized model "
            "(triggerml export-onnx MODEL.h5) — plain float ONNX is not built"
        )
    cleaned = _clean(model)
    original_shape = _shape(inputs[0])
    input_shape = _shape(cleaned.graph.input[0])
    to_original = None
    if original_shape != input_shape and len(original_shape) >= 2:
        # channels first in the file: the firmware takes (spatial..., C)
        if (*tuple(original_shape[1:]), original_shape[0]) != input_shape:
            raise ModelFileError(
                f"{path}: input shape {original_shape} became {input_shape} in the clean-up; "
                "expected a channels-first → channels-last change only"
            )
        rank = len(original_shape)
        to_original = (0, rank, *range(1, rank))
    last = graph.node[-1]
    logits = last.input[0] if last.op_type in TABLE_OPS else None
    return OnnxSource(
        model, cleaned, input_shape, to_original, logits, _input_precision(model, inputs[0].name)
    )


def _shape(value: Any) -> tuple[int, ...]:
    dims = value.type.tensor_type.shape.dim[1:]
    if any(d.dim_value <= 0 for d in dims):
        raise ModelFileError(f"input {value.name!r} needs fixed sizes beyond the batch axis")
    return tuple(int(d.dim_value) for d in dims)


def _clean(model: Any) -> Any:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    wrapper = cleanup_model(ModelWrapper(model))
    wrapper = wrapper.transform(ConvertToChannelsLastAndClean())
    wrapper = wrapper.transform(GemmToMatMul())
    return cleanup_model(wrapper)


def _input_precision(model: Any, input_name: str) -> str | None:
    """``fixed<W,I,RND_CONV,SAT>`` of a Quant applied to the input (possibly after a
    Transpose), so the firmware's input type is the quantizer's grid (ROUND = half even)."""
    from onnx import numpy_helper

    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    current = input_name
    for node in model.graph.node:
        if current not in node.input:
            continue
        if node.op_type == "Transpose":
            current = node.output[0]
            continue
        if node.op_type != "Quant" or node.input[0] != current:
            return None
        scale = float(values[node.input[1]])
        zero = float(values[node.input[2]])
        bits = int(values[node.input[3]])
        attrs = {a.name: a for a in node.attribute}
        signed = attrs["signed"].i if "signed" in attrs else 1
        narrow = attrs["narrow"].i if "narrow" in attrs else 0
        frac = -np.log2(scale)
        if zero != 0 or narrow or frac != round(frac):
            return None
        integer = bits - round(frac)
        kind = "fixed" if signed else "ufixed"
        return f"{kind}<{bits},{integer},RND_CONV,SAT>"
    return None


def reference(
    source: OnnxSource, x: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
    """Outputs and logits (before a final Sigmoid/Softmax) of the file as given."""
    from triggerml.compile.onnx_export import execute

    events = np.asarray(x)
    if source.to_original is not None:
        events = np.transpose(events, source.to_original)
    outputs = execute(source.original, events).reshape(len(x), -1)
    if source.logits is None:
        return outputs, None
    return outputs, execute(_with_output(source.original, source.logits), events).reshape(
        len(x), -1
    )


def _with_output(model: Any, tensor: str) -> Any:
    """The graph cut at ``tensor`` (made its only output)."""
    from onnx import ModelProto, TensorProto, helper

    cut = ModelProto()
    cut.CopyFrom(model)
    producer = {out: i for i, n in enumerate(cut.graph.node) for out in n.output}[tensor]
    del cut.graph.node[producer + 1 :]
    del cut.graph.output[:]
    cut.graph.output.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None))
    return cut
