"""Export the final hls4ml ModelGraph as an emulation graph: JSON + int64 mantissas (.npz).

Reading the ModelGraph is compile's job (DESIGN.md §3): the emulator loads these files with
numpy alone.  Weights are taken from the written project's ``firmware/weights/*.txt`` — the
text the C simulation itself parses (decimal → fixed point, exactly, with the weight type's
quantization) — so the emulator holds exactly the firmware's numbers.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from triggerml.fixed import FixedType, cpp_spelling, decimal_to_mantissa, parse_type
from triggerml.io import atomic_path

GRAPH_SCHEMA = 1
GRAPH_FILE = "graph.json"
WEIGHTS_FILE = "weights.npz"


class ExportError(ValueError):
    """The ModelGraph holds something the emulator cannot reproduce exactly."""


def _type(precision: Any) -> str:
    """A precision in C++ spelling."""
    return cpp_spelling(precision)


def _attr_type(layer: Any, name: str) -> str | None:
    value = layer.get_attr(name)
    if value is None:
        return None
    return _type(getattr(value, "precision", value))


def _read_weights(project: Path, variable: str, ftype: FixedType, size: int) -> np.ndarray:
    path = project / "firmware" / "weights" / f"{variable}.txt"
    if not path.is_file():
        raise ExportError(f"weights file {path} missing: was the project written?")
    tokens = [t for t in path.read_text().strip().split(",") if t.strip()]
    if len(tokens) != size:
        raise ExportError(f"{path}: {len(tokens)} values, expected {size}")
    return np.array([decimal_to_mantissa(t, ftype) for t in tokens], dtype=np.int64)


def export_graph(hls_model: Any, out_dir: str | Path) -> Path:
    """Write ``graph.json`` and ``weights.npz`` describing the firmware's arithmetic."""
    out_dir = Path(out_dir)
    project = Path(hls_model.config.get_output_dir())
    io_type = hls_model.config.get_config_value("IOType")
    if io_type not in ("io_parallel", "io_stream"):
        raise ExportError(f"io type {io_type} is not emulated")
    strategy = str(
        hls_model.config.get_config_value("Model", {}).get("Strategy", "Latency")
        if isinstance(hls_model.config.get_config_value("Model"), dict)
        else "Latency"
    )
    layers: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    for layer in hls_model.get_layers():
        record = _layer(layer, project, arrays)
        layers.append(record)
    graph = {
        "schema_version": GRAPH_SCHEMA,
        "io_type": io_type,
        "strategy": strategy,
        "inputs": [_producer(hls_model, name) for name in hls_model.inputs],  # port order
        "outputs": [_producer(hls_model, name) for name in hls_model.outputs],
        "layers": layers,
        "weights_sha256": None,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / WEIGHTS_FILE) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    graph["weights_sha256"] = hashlib.sha256((out_dir / WEIGHTS_FILE).read_bytes()).hexdigest()
    with atomic_path(out_dir / GRAPH_FILE) as tmp:
        tmp.write_text(json.dumps(graph, indent=1) + "\n")
    return out_dir / GRAPH_FILE


def _producer(hls_model: Any, port: str) -> str:
    """The layer a model port comes from (ONNX names ports by tensor, not by layer)."""
    for layer in hls_model.get_layers():
        if port == layer.name or port in layer.outputs:
            return str(layer.name)
    raise ExportError(f"no layer writes the model's port {port!r}")


SPATIAL_ATTRS = (
    "stride_height",
    "stride_width",
    "pad_top",
    "pad_bottom",
    "pad_left",
    "pad_right",
    "in_height",
    "in_width",
    "out_height",
    "out_width",
    "n_filt",
)
CONV_ATTRS = ("filt_height", "filt_width", "n_chan", *SPATIAL_ATTRS)
POOL_ATTRS = ("pool_height", "pool_width", "n_in", "n_out", *SPATIAL_ATTRS)


def _int_attrs(layer: Any, keys: tuple[str, ...]) -> dict[str, int]:
    values = {key: layer.get_attr(key) for key in keys}
    return {key: int(value) for key, value in values.items() if value is not None}


Arrays = dict[str, np.ndarray]


def _layer(layer: Any, project: Path, arrays: Arrays) -> dict[str, Any]:
    """A layer's emulation-graph record (its weights into ``arrays``), by its hls4ml class
    through :data:`EXPORTERS`."""
    out_var = layer.get_output_variable()
    record: dict[str, Any] = {
        "name": layer.name,
        "class": layer.class_name,
        "inputs": list(layer.inputs),
        "outputs": list(layer.outputs),  # what readers name (a Clone has several)
        "result_t": _type(out_var.type.precision),
        "shape": [int(d) for d in out_var.shape],
    }
    exporter = EXPORTERS.get(layer.class_name)
    if exporter is None or (
        layer.class_name == "ParametrizedActivation"
        and str(layer.get_attr("activation")).lower() != "elu"
    ):
        raise ExportError(
            f"layer {layer.name!r} ({layer.class_name}) is not emulated yet; emulated: "
            + ", ".join(EXPORTERS)
            + " (activations: linear, relu, sigmoid, softmax, elu, hard sigmoid/tanh; "
            "merges: add, subtract, multiply, average, maximum, minimum)"
        )
    exporter(layer, record, project, arrays)
    return record


def _as_is(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    """Input, Reshape, Flatten, Clone (io_stream's copies for branches): shape and type."""


def _matmul(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    """Dense, Conv1D/2D (and the pointwise 1×1 convolutions: the same arithmetic)."""
    kind = record["class"] = layer.class_name.replace("Pointwise", "")
    if kind != layer.class_name:
        record["hls_class"] = layer.class_name
    weight = layer.weights["weight"]
    bias = layer.weights["bias"]
    weight_t = parse_type(_type(weight.type.precision))
    bias_t = parse_type(_type(bias.type.precision))
    n_weights = int(np.prod(weight.shape))
    record.update(
        accum_t=_attr_type(layer, "accum_t"),
        weight_t=str(weight_t),
        bias_t=str(bias_t),
        weight_shape=[int(d) for d in weight.shape],
        strategy=str(layer.get_attr("strategy") or "latency"),
        # the Resource strategy stores weights transposed: (n_out, …) first
        weights_transposed=bool(layer.get_attr("_weights_transposed") or False),
    )
    arrays[f"{layer.name}/weight"] = _read_weights(project, weight.name, weight_t, n_weights)
    arrays[f"{layer.name}/bias"] = _read_weights(
        project, bias.name, bias_t, int(np.prod(bias.shape))
    )
    record["input_shape"] = [int(d) for d in layer.get_input_variable().shape]
    if kind != "Dense":
        record.update(_int_attrs(layer, CONV_ATTRS))


def _hard_activation(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    """quantized_tanh / quantized_sigmoid in hls4ml: slope and shift."""
    record["class"] = "Activation"
    record["activation"] = str(layer.get_attr("activation")).lower()
    for name in ("slope", "shift"):
        record[name] = float(layer.get_attr(name))
        record[f"{name}_t"] = _attr_type(layer, f"{name}_t") or cpp_spelling(
            layer.get_attr(f"{name}_prec")
        )


def _softmax(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    record["class"] = "Activation"
    record["activation"] = "softmax"
    record.update(_softmax_config(layer, project))


def _activation(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    record["activation"] = str(layer.get_attr("activation")).lower()
    record["table_t"] = _attr_type(layer, "table_t")
    record["table_size"] = layer.get_attr("table_size")


def _elu(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    """hls4ml's ParametrizedActivation, ELU only (checked by the caller)."""
    record["class"] = "Activation"
    record["activation"] = "elu"
    record["table_t"] = _attr_type(layer, "table_t")
    record["table_size"] = layer.get_attr("table_size")
    record["alpha"] = float(layer.get_attr("activ_param"))  # the C++ literal passed
    record["param_t"] = _attr_type(layer, "param_t")


def _batchnorm(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    scale, bias = layer.weights["scale"], layer.weights["bias"]
    scale_t = parse_type(_type(scale.type.precision))
    bias_t = parse_type(_type(bias.type.precision))
    record.update(
        scale_t=str(scale_t), bias_t=str(bias_t), n_filt=int(layer.get_attr("n_filt") or -1)
    )
    arrays[f"{layer.name}/scale"] = _read_weights(
        project, scale.name, scale_t, int(np.prod(scale.shape))
    )
    arrays[f"{layer.name}/bias"] = _read_weights(
        project, bias.name, bias_t, int(np.prod(bias.shape))
    )


def _global_pooling(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    record["pool_op"] = str(layer.get_attr("pool_op"))
    record["accum_t"] = _attr_type(layer, "accum_t")
    record["input_shape"] = [int(d) for d in layer.get_input_variable().shape]


def _pooling(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    record["pool_op"] = str(layer.get_attr("pool_op"))
    record["accum_t"] = _attr_type(layer, "accum_t")
    record["count_pad"] = bool(layer.get_attr("count_pad") or False)
    record.update(_int_attrs(layer, POOL_ATTRS))
    if layer.class_name == "Pooling1D":  # hls4ml calls the widths n_in / n_out here
        record.setdefault("in_width", record.get("n_in"))
        record.setdefault("out_width", record.get("n_out"))
    record["input_shape"] = [int(d) for d in layer.get_input_variable().shape]


def _merge(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    record["op"] = str(layer.get_attr("op") or layer.class_name).lower()
    record["axis"] = int(layer.get_attr("axis") if layer.get_attr("axis") is not None else -1)
    record["input_shapes"] = [
        [int(d) for d in layer.get_input_variable(name).shape] for name in layer.inputs
    ]


def _resize(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    """UpSampling1D/2D."""
    record["algorithm"] = str(layer.get_attr("algorithm"))
    record.update(_int_attrs(layer, ("in_height", "in_width", "out_height", "out_width", "n_chan")))


def _zero_padding(layer: Any, record: dict[str, Any], project: Path, arrays: Arrays) -> None:
    """io_stream makes convolutions' padding explicit."""
    record.update(_int_attrs(layer, ("pad_top", "pad_bottom", "pad_left", "pad_right")))
    record["input_shape"] = [int(d) for d in layer.get_input_variable().shape]


# hls4ml class → its record (the emulator's kinds: triggerml.emulator.layers.KINDS)
EXPORTERS: dict[str, Any] = {
    "Input": _as_is,
    "Dense": _matmul,
    "Conv1D": _matmul,
    "Conv2D": _matmul,
    "PointwiseConv1D": _matmul,
    "PointwiseConv2D": _matmul,
    "Activation": _activation,
    "HardActivation": _hard_activation,
    "Softmax": _softmax,
    "ParametrizedActivation": _elu,
    "BatchNormalization": _batchnorm,
    "Pooling1D": _pooling,
    "Pooling2D": _pooling,
    "GlobalPooling1D": _global_pooling,
    "GlobalPooling2D": _global_pooling,
    "Reshape": _as_is,
    "Flatten": _as_is,
    "Clone": _as_is,
    "ZeroPadding1D": _zero_padding,
    "ZeroPadding2D": _zero_padding,
    "Resize": _resize,
    "Merge": _merge,
    "Concatenate": _merge,
}


SOFTMAX_FIELDS = ("exp_table_size", "inv_table_size", "n_slice", "n_inner", "n_outer")
ACTIV_CONFIG_TABLE_T = "ap_fixed<18,8,AP_TRN,AP_WRAP>"  # nnet::activ_config's defaults
ACTIV_CONFIG_TABLE_SIZE = 1024
SOFTMAX_TYPES = ("exp_table_t", "inv_table_t", "accum_t", "inv_inp_t", "inp_norm_t")


def _softmax_config(layer: Any, project: Path) -> dict[str, Any]:
    """The softmax config struct as the C simulation compiles it (parameters.h), with its
    typedef names resolved to C++ types (defines.h / parameters.h)."""
    import re

    firmware = project / "firmware"
    sources = [(firmware / name).read_text() for name in ("parameters.h", "defines.h")]
    text = "\n".join(sources)
    name = f"softmax_config{layer.index}"
    match = re.search(r"struct\s+" + name + r"\s*:[^{]*\{(.*?)\n\};", text, re.S)
    if match is None:
        raise ExportError(f"softmax layer {layer.name!r}: {name} not found in parameters.h")
    body = match.group(1)

    def value(field: str) -> str:
        found = re.search(r"\b" + field + r"\s*=\s*([^;]+);", body)
        if found is None:
            raise ExportError(f"softmax layer {layer.name!r}: {field} not in {name}")
        return found.group(1).strip()

    def resolve(type_name: str) -> str:
        for _ in range(8):
            if type_name.startswith(("ap_", "fixed", "ufixed")):
                return cpp_spelling(parse_type(type_name))
            typedef = re.search(r"typedef\s+(.+?)\s+" + re.escape(type_name) + r"\s*;", text)
            if typedef is None:
                raise ExportError(f"softmax layer {layer.name!r}: type {type_name} not found")
            type_name = typedef.group(1).strip()
        raise ExportError(f"softmax layer {layer.name!r}: typedef chain of {type_name} too long")

    config: dict[str, Any] = {f: int(value(f)) for f in SOFTMAX_FIELDS}
    config["implementation"] = value("implementation").split("::")[-1]
    config["exp_scale"] = float(value("exp_scale"))
    for field in SOFTMAX_TYPES:
        found = re.search(r"typedef\s+(.+?)\s+" + field + r"\s*;", body)
        if found is None:
            raise ExportError(f"softmax layer {layer.name!r}: {field} not in {name}")
        config[field] = resolve(found.group(1).strip())
    # softmax_legacy's tables use table_t and (io_stream) table_size, which the config
    # inherits from nnet::activ_config unless it sets them
    found = re.search(r"typedef\s+(.+?)\s+table_t\s*;", body)
    config["table_t"] = resolve(found.group(1).strip()) if found else ACTIV_CONFIG_TABLE_T
    size = re.search(r"\btable_size\s*=\s*([^;]+);", body)
    config["table_size"] = int(size.group(1)) if size else ACTIV_CONFIG_TABLE_SIZE
    return config
