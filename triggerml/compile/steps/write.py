"""Build step ``write``: hls4ml writes the HLS project (with a reproducible stamp); the final
types are checked (lookup tables fed wide types, output ports over 32 bits)."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid

import numpy as np

from triggerml.compile.keras2 import hls4ml_sees_keras2
from triggerml.compile.state import (
    MAX_OUTPUT_BITS,
    TABLE_ACTIVATIONS,
    WIDE_TABLE_INPUT_INTEGER_BITS,
    BuildState,
    cpp_type,
    warn,
)
from triggerml.io import sha256_file


def step_write(state: BuildState) -> str:
    with hls4ml_sees_keras2(), deterministic_stamp(stamp(state)):
        state.hls_model.write()
    _check_tables(state)  # precisions are final once the write flow has run
    _check_output_widths(state)
    return "ok"


def stamp(state: BuildState) -> str:
    """hls4ml's project stamp, from the model file and the build config (reproducible)."""
    return hashlib.sha256(
        sha256_file(state.source).encode() + repr(dataclasses.asdict(state.config)).encode()
    ).hexdigest()


class deterministic_stamp:
    """hls4ml names the compiled library with a random stamp: derive it from the model."""

    def __init__(self, seed: str) -> None:
        self.seed = seed

    def __enter__(self) -> None:
        from hls4ml.model import graph
        from hls4ml.model.optimizer.passes import stamp

        self._saved = (stamp.uuid.uuid4, graph.uuid.uuid4)
        value = uuid.UUID(self.seed[:32])
        stamp.uuid.uuid4 = graph.uuid.uuid4 = lambda: value

    def __exit__(self, *exc: object) -> None:
        from hls4ml.model import graph
        from hls4ml.model.optimizer.passes import stamp

        stamp.uuid.uuid4, graph.uuid.uuid4 = self._saved


def _check_tables(state: BuildState) -> None:
    """Warn when a sigmoid/softmax lookup table is fed a type wider than its table range."""
    for layer in state.hls_model.get_layers():
        activation = str(layer.get_attr("activation") or "").lower()
        if layer.class_name not in ("Activation", "Softmax") or activation not in (
            *TABLE_ACTIVATIONS,
            "softmax",
        ):
            continue
        shape = list(layer.get_output_variable().shape)
        if activation == "softmax" and len(shape) > 1 and state.config.io_type == "io_parallel":
            warn(
                state,
                f"softmax layer {layer.name!r} on a {'×'.join(map(str, shape))} tensor: "
                f"hls4ml's io_parallel softmax normalizes over all {int(np.prod(shape))} "
                "values, Keras over the last axis of each position (io_stream does that); "
                "flatten first or build with --io-type io_stream",
            )
        precision = layer.get_input_variable().type.precision
        integer = getattr(precision, "integer", 0)
        if integer >= WIDE_TABLE_INPUT_INTEGER_BITS:
            warn(
                state,
                f"{activation} layer {layer.name!r} is fed {cpp_type(precision)} "
                f"(values up to ±{2 ** (integer - 1)}), far wider than its lookup "
                "table's ±8: hls4ml's tables may then return constants; quantize "
                "its input first (QActivation(quantized_bits(12, 5)))",
            )


def _check_output_widths(state: BuildState) -> None:
    """Warn on output ports wider than 32 bits: wider than any value a trigger decision
    needs, and a routing cost for whoever integrates the IP."""
    for var in state.hls_model.get_output_variables():
        width = int(var.type.precision.width)
        if width > MAX_OUTPUT_BITS:
            warn(
                state,
                f"output port {var.name} is {cpp_type(var.type.precision)} ({width} bits, "
                f"more than {MAX_OUTPUT_BITS}): quantize the last layer's output "
                "(QActivation(quantized_bits(...))) or set its result precision in build.yaml",
            )
