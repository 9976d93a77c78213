"""Build step ``load``: the model file (QKeras .h5/.keras or QONNX), checked before any
TensorFlow work; a quantized model without an input quantizer gets one (the firmware's input
type explicit, the conversion exact)."""

from __future__ import annotations

from typing import Any

from triggerml.compile import model_file
from triggerml.compile.keras2 import qkeras_custom_objects
from triggerml.compile.state import (
    BuildState,
    warn,
)


def step_load(state: BuildState) -> str:
    if state.source.suffix.lower() == ".onnx":
        if not state.source.is_file():
            raise model_file.ModelFileError(f"{state.source} not found")
        from triggerml.compile import onnx_import

        state.onnx = onnx_import.load(state.source)
        state.input_shapes = [state.onnx.input_shape]
        return "ok"
    info = model_file.read_architecture(state.source)
    model_file.check_supported(info)
    state.info = info
    import tf_keras

    try:
        model = tf_keras.models.load_model(
            state.source, custom_objects=qkeras_custom_objects(), compile=False, safe_mode=True
        )
    except TypeError:  # older loaders take no safe_mode
        model = tf_keras.models.load_model(
            state.source, custom_objects=qkeras_custom_objects(), compile=False
        )
    except Exception as error:
        raise model_file.ModelFileError(
            f"{state.source} could not be loaded as a QKeras model: {error}"
        ) from None
    if not info.quantized:
        warn(
            state,
            "the model has no QKeras quantizers: the firmware uses fixed-point "
            f"types ({state.config.input_precision} at the input) and will not "
            "match a float model exactly",
        )
    bare = _inputs_without_quantizer(model) if info.quantized else []
    if bare:
        model = _with_input_quantizers(model, bare, state.config.input_precision)
        warn(
            state,
            f"no input quantizer after the Input ({', '.join(bare)}): one matching "
            f"{state.config.input_precision} was inserted so that the firmware's "
            "input type is explicit and the conversion exact",
        )
    state.model = model
    state.input_shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.inputs]
    return "ok"


def _inputs_without_quantizer(model: Any) -> list[str]:
    """Inputs not read by a QActivation(quantized_bits) alone (bit-exact conversion takes the
    input type from it)."""
    bare = []
    outputs = {tensor._keras_history.layer.name for tensor in model.outputs}
    for tensor in model.inputs:
        layer = tensor._keras_history.layer
        readers = [node.outbound_layer for node in layer.outbound_nodes]
        if (
            len(readers) != 1
            or readers[0].__class__.__name__ != "QActivation"
            # a quantizer that is the model's output is the model, not its input's type
            # (hls4ml would fold it into the input and write the port twice)
            or readers[0].name in outputs
        ):
            bare.append(layer.name)
            continue
        activation = readers[0].get_config().get("activation")
        name = activation.get("class_name", "") if isinstance(activation, dict) else activation
        if not str(name).startswith("quantized_bits"):
            bare.append(layer.name)
    return bare


def _with_input_quantizers(model: Any, bare: list[str], precision: str) -> Any:
    """The same graph with QActivation(quantized_bits) on the grid of ``precision`` after
    each Input named in ``bare`` (same layers, same weights)."""
    import tf_keras
    from qkeras import QActivation, quantized_bits

    from triggerml.fixed import parse_type

    ftype = parse_type(precision)
    integer = ftype.integer - (1 if ftype.signed else 0)
    layers = [layer for layer in model.layers if layer.__class__.__name__ != "InputLayer"]
    if any(len(layer.inbound_nodes) != 1 for layer in layers):
        raise model_file.ModelFileError(
            "the model has no input quantizer and reuses a layer at several places: add "
            "QActivation(quantized_bits(...)) right after its Input yourself"
        )
    tensors: dict[int, Any] = {}  # id of an old Keras tensor → its new tensor
    inputs = []
    for old in model.inputs:
        name = old._keras_history.layer.name
        new = tf_keras.Input(old.shape[1:], name=name)
        inputs.append(new)
        quant_name = "input_quant" if len(model.inputs) == 1 else f"{name}_quant"
        tensors[id(old)] = (
            QActivation(
                quantized_bits(ftype.width, integer, alpha=1, keep_negative=ftype.signed),
                name=quant_name,
            )(new)
            if name in bare
            else new
        )
    for layer in layers:  # Keras lists a functional model's layers in topological order
        node = layer.inbound_nodes[0]
        old_in = node.input_tensors
        new_in = (
            [tensors[id(t)] for t in old_in] if isinstance(old_in, list) else tensors[id(old_in)]
        )
        out = layer(new_in)
        old_out = node.output_tensors
        for o, t in zip(
            old_out if isinstance(old_out, list) else [old_out],
            out if isinstance(out, list) else [out],
            strict=True,
        ):
            tensors[id(o)] = t
    outputs = [tensors[id(t)] for t in model.outputs]
    return tf_keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=model.name)
