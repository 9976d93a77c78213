"""Build step ``csim``: the C simulation against QKeras (or qonnx's executor) on seeded
events, logits compared before a final table; the events and outputs are left where the HLS
tool's own test bench reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.compile.keras2 import hls4ml_sees_keras2
from triggerml.compile.state import (
    PROJECT_DIR,
    TABLE_ACTIVATIONS,
    BuildState,
    warn,
)
from triggerml.compile.steps.write import deterministic_stamp, stamp


def step_csim(state: BuildState) -> str:
    if not state.config.csim:
        return "skipped"
    xs = _events(state)
    state.events = xs
    if state.onnx is not None:
        return _csim_against_onnx(state, xs[0])
    import tf_keras

    n = len(xs[0])
    model_input = xs[0] if len(xs) == 1 else xs
    keras_parts = outputs_of(state.model.predict(model_input, verbose=0, batch_size=512), n)
    # trace() compiles the C simulation (with per-layer tracing, inert in synthesis)
    with hls4ml_sees_keras2(), deterministic_stamp(stamp(state)):
        contiguous = [np.ascontiguousarray(x, dtype=np.float64) for x in xs]
        y, trace = state.hls_model.trace(contiguous[0] if len(xs) == 1 else contiguous)
    csim_parts = outputs_of(y, n)
    keras_out, state.csim_outputs = np.hstack(keras_parts), np.hstack(csim_parts)
    y = state.csim_outputs
    # compared before a final sigmoid/softmax table: the logits (exact), per output
    logits = _logits_tensors(state)
    for k, tensor in enumerate(logits):
        if tensor is None:
            continue
        keras_parts[k] = (
            tf_keras.Model(state.model.inputs, tensor)
            .predict(model_input, verbose=0, batch_size=512)
            .reshape(n, -1)
            .astype(np.float64)
        )
        key = _trace_key(trace, tensor._keras_history.layer.name)
        csim_parts[k] = np.asarray(trace[key], dtype=np.float64).reshape(n, -1)
    per_output = [np.any(c != k, axis=1) for c, k in zip(csim_parts, keras_parts, strict=True)]
    mismatches = int(np.any(per_output, axis=0).sum())
    state.csim = {
        "events": n,
        "mismatches": mismatches,
        "max_abs_diff": float(np.abs(y - keras_out).max()),
        "emulator_mismatches": None,
        "reference": "QKeras",
        "output_table": any(tensor is not None for tensor in logits),
    }
    if len(per_output) > 1:  # several outputs: each one's verdict too
        state.csim["outputs"] = [
            {"name": name, "mismatches": int(bad.sum()), "emulator_mismatches": None}
            for name, bad in zip(state.hls_model.outputs, per_output, strict=True)
        ]
    _write_tb_data(state.work / PROJECT_DIR, xs, keras_out)
    if mismatches == 0:
        return "ok"
    if state.info is not None and not state.info.quantized:
        warn(
            state,
            f"C simulation differs from the float model on {mismatches} of {n} "
            "events, as fixed-point firmware of a float model must: train with "
            "QKeras quantizers for an exact build",
        )
        return "warn"
    overridden = config_precisions(state)
    if overridden:
        warn(
            state,
            f"C simulation differs from QKeras on {mismatches} of {n} events: build.yaml "
            f"sets {', '.join(overridden)}, so the firmware's arithmetic is not the model's "
            "(the emulator follows the firmware)",
        )
        return "warn"
    return "fail"


def config_precisions(state: BuildState) -> list[str]:
    """The LayerName precisions build.yaml sets (``layer.key``), as the user wrote them."""
    found = []
    for name, section in state.config.LayerName.items():
        precision = section.get("Precision")
        given = precision if isinstance(precision, dict) else {"result": precision}
        found += [f"{name}.{key}" for key, v in given.items() if isinstance(v, str) and v != "auto"]
    return found


def _csim_against_onnx(state: BuildState, x: npt.NDArray[np.float64]) -> str:
    """C simulation vs qonnx's executor on the QONNX file (logits before a final table)."""
    from triggerml.compile import onnx_import

    reference, reference_logits = onnx_import.reference(state.onnx, x)
    with hls4ml_sees_keras2(), deterministic_stamp(stamp(state)):
        y, trace = state.hls_model.trace(np.ascontiguousarray(x, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64).reshape(len(x), -1)
    state.csim_outputs = y
    if reference_logits is None:
        ours, theirs = y, reference
    else:
        key = [layer.name for layer in state.hls_model.get_layers()][-2]  # before the table
        ours = np.asarray(trace[key], dtype=np.float64).reshape(len(x), -1)
        theirs = reference_logits
    mismatches = int(np.any(ours != theirs, axis=1).sum())
    state.csim = {
        "events": len(x),
        "mismatches": mismatches,
        "max_abs_diff": float(np.abs(y - reference).max()),
        "emulator_mismatches": None,
        "reference": "qonnx",
        "output_table": reference_logits is not None,
    }
    _write_tb_data(state.work / PROJECT_DIR, [x], reference)
    return "ok" if mismatches == 0 else "fail"


def _logits_tensors(state: BuildState) -> list[Any]:
    """Per model output, the Keras tensor that feeds its final sigmoid/softmax (None: the
    output is not such a table) — the tensor of this graph: a layer reused by an inserted
    input quantizer has several outputs."""
    found: list[Any] = []
    for output in state.model.outputs:
        last, node_index, _ = output._keras_history
        activation = getattr(last, "activation", None)
        name = getattr(activation, "__name__", str(activation)).lower()
        is_table = (
            last.__class__.__name__ in ("Activation", "Softmax")
            and any(t in name for t in TABLE_ACTIVATIONS)
        ) or (last.__class__.__name__ == "Softmax")
        before = last.inbound_nodes[node_index].input_tensors
        is_input = before._keras_history.layer.__class__.__name__ == "InputLayer"
        found.append(before if is_table and not is_input else None)
    return found


def outputs_of(values: Any, n: int) -> list[npt.NDArray[np.float64]]:
    """A predictor's outputs as one (events, width) float64 array per output."""
    parts = values if isinstance(values, (list, tuple)) else [values]
    return [np.asarray(part, dtype=np.float64).reshape(n, -1) for part in parts]


def _trace_key(trace: dict[str, Any], keras_name: str) -> str:
    """hls4ml may fold a QActivation into the layer before it: find its trace."""
    if keras_name in trace:
        return keras_name
    keys = [k for k in trace if not k.endswith("_linear")]
    linear = [k for k in trace if k.endswith("_linear")]
    candidates = linear or keys
    return candidates[-1]


def _events(state: BuildState) -> list[npt.NDArray[np.float64]]:
    """Events for the C simulation, one array per input: random on each input's grid, plus
    out-of-range values (a tenth of the events, far outside)."""
    from triggerml.fixed import parse_type

    rng = np.random.default_rng(state.config.seed)
    n = state.config.events
    events = []
    for var, shape in zip(state.hls_model.get_input_variables(), state.input_shapes, strict=True):
        try:
            grid = parse_type(str(var.type.precision))
        except ValueError:
            grid = parse_type(state.config.input_precision)
        scale = max(abs(grid.max_value), abs(grid.min_value))
        x = rng.normal(0.0, scale / 8, (n, *shape))
        x[: n // 10] *= 12  # a tenth far out of range
        events.append(grid.cast(x) if n > 20 else x)
    return events


def _write_tb_data(
    project: Path, xs: list[npt.NDArray[np.float64]], y: npt.NDArray[np.float64]
) -> None:
    """The events and expected outputs where the HLS tool's own C simulation reads them
    (hls4ml's test bench reads every input from one line, in port order)."""
    tb = project / "tb_data"
    tb.mkdir(exist_ok=True)
    x = np.hstack([part.reshape(len(part), -1) for part in xs])
    np.savetxt(tb / "tb_input_features.dat", x, fmt="%.17g")
    np.savetxt(tb / "tb_output_predictions.dat", y.reshape(len(y), -1), fmt="%.17g")
