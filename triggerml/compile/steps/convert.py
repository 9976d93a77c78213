"""Build step ``convert``: the model → an hls4ml ModelGraph, bit-exact for quantized models,
with build.yaml's hls4ml sections and precisions applied (and the hls4ml 1.3 traps handled:
read :mod:`triggerml.compile.keras2` before touching it)."""

from __future__ import annotations

from typing import Any

from triggerml.compile import model_file
from triggerml.compile.keras2 import hls4ml_sees_keras2
from triggerml.compile.state import (
    PROJECT_DIR,
    BuildConfig,
    BuildState,
    merge,
)


def step_convert(state: BuildState) -> str:
    config = state.config
    with hls4ml_sees_keras2() as hls4ml:
        if state.onnx is not None:
            hls_config = hls4ml.utils.config.config_from_onnx_model(
                state.onnx.cleaned, granularity="name", backend=config.backend.value
            )
            _set_onnx_input_precision(
                hls_config, state.onnx.cleaned.graph.input[0].name, state.onnx.input_precision
            )
        else:
            hls_config = hls4ml.utils.config_from_keras_model(
                state.model, granularity="name", backend=config.backend.value
            )
        hls_config["Model"]["Strategy"] = config.strategy.value
        hls_config["Model"]["ReuseFactor"] = config.reuse_factor
        merge(hls_config["Model"], config.Model)
        for name, section in config.LayerName.items():
            if name not in hls_config["LayerName"]:
                raise ValueError(
                    f"build config LayerName.{name}: no such layer; layers: "
                    f"{', '.join(hls_config['LayerName'])}"
                )
            merge(hls_config["LayerName"][name], section)
        for section in hls_config["LayerName"].values():
            section["Trace"] = True
        kwargs: dict[str, Any] = {}
        if config.part:
            kwargs["part"] = config.part
        if config.clock_ns:
            kwargs["clock_period"] = config.clock_ns
        if state.onnx is not None:
            state.hls_model = hls4ml.converters.convert_from_onnx_model(
                state.onnx.cleaned,
                hls_config=hls_config,
                output_dir=str(state.work / PROJECT_DIR),
                backend=config.backend.value,
                io_type=config.io_type.value,
                project_name="myproject",
                **kwargs,
            )
            return "ok"
        quantized = state.info is None or state.info.quantized
        if not quantized:  # a float model: the config's precisions, the input on its grid
            _float_model_precisions(hls_config, config)
            input_name = state.model.layers[0].name
            section = hls_config["LayerName"].setdefault(input_name, {})
            section.setdefault("Precision", {})
            if isinstance(section["Precision"], dict):
                section["Precision"].setdefault("result", config.input_precision)
        state.hls_model = hls4ml.converters.convert_from_keras_model(
            state.model,
            hls_config=hls_config,
            output_dir=str(state.work / PROJECT_DIR),
            backend=config.backend.value,
            io_type=config.io_type.value,
            # bit-exact type inference is for quantized models; a float model takes the
            # precisions of its config (hls4ml's default or the user's build.yaml), as
            # hls4ml itself builds it
            bit_exact=quantized,
            project_name="myproject",
            **kwargs,
        )
        if all(layer.class_name == "Input" for layer in state.hls_model.get_layers()):
            raise model_file.ModelFileError(
                "the model only quantizes its input: hls4ml's bit-exact conversion folds the "
                "quantizer into the input port, leaving no firmware to build — give the "
                "input that type instead (build.yaml LayerName.<input>.Precision)"
            )
        _narrow_table_outputs(state)
        _apply_result_precisions(state)
        _resize_keeps_its_input_type(state)
    return "ok"


def _resize_keeps_its_input_type(state: BuildState) -> None:
    """hls4ml's resize template reads and writes one ``data_T``: a Resize (UpSampling,
    nearest: a copy of its input's values) gets its input's type — the bit-exact pass
    would give it the inferred bits with default rounding and overflow modes, which do
    not compile."""
    for layer in state.hls_model.get_layers():
        if layer.class_name == "Resize":
            precision = layer.get_input_variable().type.precision
            layer.get_output_variable().type.precision = precision


def _apply_result_precisions(state: BuildState) -> None:
    """build.yaml's ``LayerName.<layer>.Precision`` types are the firmware's: ``result`` is
    the layer's output type, ``accum``, ``weight``, ``bias`` (and any other ``<key>_t`` the
    layer has) its internal ones — the bit-exact flow would otherwise replace them with the
    types it infers from the quantizers. (Later layers keep their inferred types; C
    simulation and emulator follow the types as written.)"""
    layers = {layer.name: layer for layer in state.hls_model.get_layers()}
    backend = state.hls_model.config.backend
    for name, section in state.config.LayerName.items():
        precision = section.get("Precision")
        given = precision if isinstance(precision, dict) else {"result": precision}
        if name not in layers:
            continue
        layer = layers[name]
        for key, value in given.items():
            if not isinstance(value, str) or value == "auto":
                continue
            converted = backend.convert_precision_string(value)
            if key == "result":
                _set_output_type(layer, converted)
            elif key in layer.weights:
                layer.weights[key].update_precision(_ap_type(converted))
            elif hasattr(layer.get_attr(f"{key}_t"), "precision"):
                layer.get_attr(f"{key}_t").precision = _ap_type(converted)
            else:
                raise ValueError(
                    f"build config LayerName.{name}.Precision.{key}: layer {name} "
                    f"({layer.class_name}) has no {key} type; it has result"
                    + "".join(f", {w}" for w in layer.weights)
                    + "".join(
                        f", {a[:-2]}"
                        for a, v in layer.attributes.items()
                        if a.endswith("_t") and hasattr(v, "precision")
                    )
                )


def _ap_type(precision: Any) -> Any:
    from hls4ml.backends.fpga.fpga_types import APTypeConverter

    return APTypeConverter().convert(precision)


def _set_output_type(layer: Any, precision: Any) -> None:
    """Give a converted layer's output (and so its result_t, the same type object) this
    precision, marked trusted so that hls4ml's bit-exact pass keeps it."""
    from hls4ml.backends.fpga.fpga_types import APTypeConverter

    layer.get_output_variable().type.precision = APTypeConverter().convert(precision)
    layer.attributes["trusted"] = True


def _narrow_table_outputs(state: BuildState) -> None:
    """An output port no wider than its values: hls4ml's bit-exact flow gives a sigmoid
    ``ap_ufixed<127,1>`` (126 fractional bits), but its values are entries of the lookup
    table — in [0, 1] with the table type's fractional bits — so ``ap_ufixed<F+1,1>`` holds
    every one exactly (same values, a port an integrator can route)."""
    from hls4ml.model.types import FixedPrecisionType

    outputs = {var.name for var in state.hls_model.get_output_variables()}
    for layer in state.hls_model.get_layers():
        variable = layer.get_output_variable()
        activation = str(layer.get_attr("activation") or "").lower()
        if variable.name not in outputs or layer.class_name != "Activation":
            continue
        if activation != "sigmoid" or layer.get_attr("table_t") is None:
            continue
        table = layer.get_attr("table_t").precision
        fractional = int(table.width) - int(table.integer)
        current = variable.type.precision
        if fractional + 1 >= int(current.width):
            continue
        _set_output_type(layer, FixedPrecisionType(fractional + 1, 1, signed=False))


def _float_model_precisions(hls_config: dict[str, Any], config: BuildConfig) -> None:
    """A float model is built with the precisions of its config, as hls4ml builds it with
    ``granularity='model'``: every type hls4ml left to inference ('auto') becomes the model
    default (``Model.Precision``, hls4ml's ``fixed<16,6>`` unless build.yaml says), except
    where build.yaml's LayerName section sets it."""
    default = hls_config["Model"].get("Precision", "fixed<16,6>")
    if isinstance(default, dict):
        default = default.get("default", "fixed<16,6>")
    for name, section in hls_config["LayerName"].items():
        given = config.LayerName.get(name, {}).get("Precision", {})
        precision = section.get("Precision")
        if isinstance(precision, dict):
            for key, value in precision.items():
                if value == "auto" and key not in (given if isinstance(given, dict) else {}):
                    precision[key] = default
        elif precision == "auto" and not given:
            section["Precision"] = default


def _set_onnx_input_precision(
    hls_config: dict[str, Any], input_name: str, precision: str | None
) -> None:
    """The firmware input on the first quantizer's grid (not hls4ml's default type, which
    would wrap values the quantizer saturates)."""
    if precision is not None and input_name in hls_config["LayerName"]:
        hls_config["LayerName"][input_name]["Precision"] = {"result": precision}
