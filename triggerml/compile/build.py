"""`triggerml build`: a trained model → an hls4ml HLS project, verified, with a manifest.

The build is an explicit list of named steps (:data:`STEPS`), each timed and given a verdict
in the manifest: load → convert → write → csim → manifest.  Everything is written into a
temporary folder beside DIR and renamed into place at the end, so a failed build leaves no
half-written DIR; ``manifest.json`` is written last.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.compile import model_file
from triggerml.compile.keras2 import hls4ml_sees_keras2, qkeras_custom_objects
from triggerml.config import require
from triggerml.fixed import cpp_spelling
from triggerml.io import atomic_dir, check_output_folder, now_iso, sha256_file, versions, write_json

SCHEMA_VERSION = 1
PROJECT_DIR = "hls_project"
EMULATION_DIR = "emulation"
TABLE_ACTIVATIONS = ("sigmoid", "softmax")
MAX_OUTPUT_BITS = 32  # wider output ports get a warning
WIDE_TABLE_INPUT_INTEGER_BITS = 8  # ±128: 16× the table range


class BuildWarning(UserWarning):
    """Something the user should know about a build that still succeeds."""


class Backend(StrEnum):
    VITIS = "Vitis"
    VIVADO = "Vivado"


class IoType(StrEnum):
    PARALLEL = "io_parallel"
    STREAM = "io_stream"


class Strategy(StrEnum):
    LATENCY = "Latency"
    RESOURCE = "Resource"


@dataclass(frozen=True)
class BuildConfig:
    """One build; ``Model`` and ``LayerName`` are hls4ml's own HLSConfig sections."""

    backend: Backend = Backend.VITIS
    io_type: IoType = IoType.PARALLEL
    strategy: Strategy = Strategy.LATENCY
    reuse_factor: int = 1
    part: str | None = None  # None: hls4ml's default for the backend
    clock_ns: float | None = None
    events: int = 1000  # events compared in the C simulation
    csim: bool = True
    input_precision: str = "ap_fixed<16,6>"  # for models without an input quantizer
    seed: int = 0  # random events when the model's dataset is not at hand
    Model: dict[str, Any] = field(default_factory=dict)
    LayerName: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, enum in (("backend", Backend), ("io_type", IoType), ("strategy", Strategy)):
            object.__setattr__(self, name, enum(getattr(self, name)))

    def validate(self) -> None:
        require(self.reuse_factor >= 1, "reuse_factor", "must be at least 1")
        require(self.events >= 1, "events", "must be at least 1")
        if self.clock_ns is not None:
            require(self.clock_ns > 0, "clock_ns", "must be positive")


def build_config_from(config: str | Path | None = None, **options: Any) -> BuildConfig:
    """A build's settings: ``config`` (build.yaml: options and hls4ml's sections), then
    each option given (None: not given) on top — what ``triggerml build`` runs."""
    from triggerml.config import UsageError, from_mapping, load_yaml, to_mapping

    for flag, kind in (("backend", Backend), ("io_type", IoType), ("strategy", Strategy)):
        value = options.get(flag)
        if value is not None and value not in {m.value for m in kind}:
            valid = ", ".join(m.value for m in kind)
            name = "--" + flag.replace("_", "-")
            raise UsageError(f"{name} must be one of {valid}, not {value!r}")
    reuse = options.get("reuse_factor")
    if reuse is not None and reuse < 1:
        raise UsageError(f"--reuse-factor must be at least 1, got {reuse}")
    base = from_mapping(BuildConfig, load_yaml(config) if config is not None else {})
    given = {key: value for key, value in options.items() if value is not None}
    return from_mapping(BuildConfig, {**to_mapping(base), **given})


@dataclass
class BuildState:
    """What the steps hand to each other."""

    source: Path
    config: BuildConfig
    work: Path  # the temporary DIR
    final: Path
    model: Any = None
    info: model_file.ModelInfo | None = None
    hls_model: Any = None
    events: list[npt.NDArray[np.float64]] | None = None  # one array per input
    csim: dict[str, Any] | None = None
    csim_outputs: npt.NDArray[np.float64] | None = None  # every output, side by side
    onnx: Any = None  # onnx_import.OnnxSource for a QONNX source
    input_shapes: list[tuple[int, ...]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- steps ---------------------------------------------------------------------------------
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
        _warn(
            state,
            "the model has no QKeras quantizers: the firmware uses fixed-point "
            f"types ({state.config.input_precision} at the input) and will not "
            "match a float model exactly",
        )
    bare = _inputs_without_quantizer(model) if info.quantized else []
    if bare:
        model = _with_input_quantizers(model, bare, state.config.input_precision)
        _warn(
            state,
            f"no input quantizer after the Input ({', '.join(bare)}): one matching "
            f"{state.config.input_precision} was inserted so that the firmware's "
            "input type is explicit and the conversion exact",
        )
    state.model = model
    state.input_shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.inputs]
    return "ok"


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
        _merge(hls_config["Model"], config.Model)
        for name, section in config.LayerName.items():
            if name not in hls_config["LayerName"]:
                raise ValueError(
                    f"build config LayerName.{name}: no such layer; layers: "
                    f"{', '.join(hls_config['LayerName'])}"
                )
            _merge(hls_config["LayerName"][name], section)
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


def _check_output_widths(state: BuildState) -> None:
    """Warn on output ports wider than 32 bits: wider than any value a trigger decision
    needs, and a routing cost for whoever integrates the IP."""
    for var in state.hls_model.get_output_variables():
        width = int(var.type.precision.width)
        if width > MAX_OUTPUT_BITS:
            _warn(
                state,
                f"output port {var.name} is {_cpp_type(var.type.precision)} ({width} bits, "
                f"more than {MAX_OUTPUT_BITS}): quantize the last layer's output "
                "(QActivation(quantized_bits(...))) or set its result precision in build.yaml",
            )


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


def step_write(state: BuildState) -> str:
    with hls4ml_sees_keras2(), _deterministic_stamp(_stamp(state)):
        state.hls_model.write()
    _check_tables(state)  # precisions are final once the write flow has run
    _check_output_widths(state)
    return "ok"


def _stamp(state: BuildState) -> str:
    """hls4ml's project stamp, from the model file and the build config (reproducible)."""
    return hashlib.sha256(
        sha256_file(state.source).encode() + repr(dataclasses.asdict(state.config)).encode()
    ).hexdigest()


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
    keras_parts = _per_output(state.model.predict(model_input, verbose=0, batch_size=512), n)
    # trace() compiles the C simulation (with per-layer tracing, inert in synthesis)
    with hls4ml_sees_keras2(), _deterministic_stamp(_stamp(state)):
        contiguous = [np.ascontiguousarray(x, dtype=np.float64) for x in xs]
        y, trace = state.hls_model.trace(contiguous[0] if len(xs) == 1 else contiguous)
    csim_parts = _per_output(y, n)
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
        _warn(
            state,
            f"C simulation differs from the float model on {mismatches} of {n} "
            "events, as fixed-point firmware of a float model must: train with "
            "QKeras quantizers for an exact build",
        )
        return "warn"
    overridden = _config_precisions(state)
    if overridden:
        _warn(
            state,
            f"C simulation differs from QKeras on {mismatches} of {n} events: build.yaml "
            f"sets {', '.join(overridden)}, so the firmware's arithmetic is not the model's "
            "(the emulator follows the firmware)",
        )
        return "warn"
    return "fail"


def _config_precisions(state: BuildState) -> list[str]:
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
    with hls4ml_sees_keras2(), _deterministic_stamp(_stamp(state)):
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


def step_export(state: BuildState) -> str:
    """The emulation graph, from the final ModelGraph (the one that wrote the firmware)."""
    from triggerml.compile.export import ExportError, export_graph
    from triggerml.emulator import EmulationError, load_emulator

    try:
        export_graph(state.hls_model, state.work / EMULATION_DIR)
        load_emulator(state.work)  # refuses what it cannot reproduce exactly
    except (ExportError, EmulationError, ValueError) as error:
        shutil.rmtree(state.work / EMULATION_DIR, ignore_errors=True)
        hint = (
            " — hls4ml gave this (unquantized?) model accumulators wider than the emulator's "
            "62 bits: quantize it (QKeras quantizers) or set narrower precisions in build.yaml"
            if "outside 1..62" in str(error)
            else ""
        )
        _warn(state, f"no emulator for this model: {error}{hint}")
        return "skipped"
    return "ok"


def step_verify(state: BuildState) -> str:
    """Emulator vs C simulation on the same events: must be equal bit for bit."""
    if (
        state.csim_outputs is None
        or state.events is None
        or not (state.work / EMULATION_DIR / "graph.json").exists()
    ):
        return "skipped"
    from triggerml.emulator import EmulationError, load_emulator

    try:
        predicted = load_emulator(state.work).predict(
            state.events[0] if len(state.events) == 1 else state.events
        )
    except (EmulationError, ValueError) as error:
        shutil.rmtree(state.work / EMULATION_DIR, ignore_errors=True)
        _warn(state, f"no emulator for this model: {error}")
        return "skipped"
    emulated = _per_output(predicted, len(state.events[0]))
    widths = np.cumsum([0, *(part.shape[1] for part in emulated)])
    bad = [
        np.any(part != state.csim_outputs[:, lo:hi], axis=1)
        for part, lo, hi in zip(emulated, widths[:-1], widths[1:], strict=True)
    ]
    mismatches = int(np.any(bad, axis=0).sum())
    assert state.csim is not None
    state.csim["emulator_mismatches"] = mismatches
    for record, wrong in zip(state.csim.get("outputs", []), bad, strict=False):
        record["emulator_mismatches"] = int(wrong.sum())
    return "ok" if mismatches == 0 else "fail"


STEPS: tuple[tuple[str, Callable[[BuildState], str]], ...] = (
    ("load", step_load),
    ("convert", step_convert),
    ("write", step_write),
    ("csim", step_csim),
    ("export", step_export),
    ("verify", step_verify),
)


# --- the runner ----------------------------------------------------------------------------
def build(
    source: str | Path,
    out: str | Path,
    config: BuildConfig | None = None,
    on_step: Callable[[str], None] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Run every step into a temporary folder, then move it to ``out``; returns the manifest.

    ``out`` is replaced only when it is missing, empty or an earlier build (``force``: any
    folder), checked before any work."""
    source = Path(source)
    config = config or BuildConfig()
    final = Path(out).resolve()
    check_output_folder(final, is_build_folder, "a triggerml build", force)
    with atomic_dir(final, fixed_name=True) as work:
        state = BuildState(source, config, work, final)
        for name, step in STEPS:
            if on_step is not None:
                on_step(name)
            started = time.perf_counter()
            verdict = step(state)
            state.steps.append(
                {
                    "name": name,
                    "seconds": round(time.perf_counter() - started, 3),
                    "verdict": verdict,
                }
            )
        _finalize_paths(state)
        manifest = _manifest(state)
        write_json(work / "manifest.json", manifest)
    return manifest


def is_build_folder(folder: Path) -> bool:
    """Does ``folder`` hold a build (a manifest naming its HLS project)?"""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "hls_project" in manifest


def _manifest(state: BuildState) -> dict[str, Any]:
    hls = state.hls_model
    config = state.config
    inputs = [_port(var) for var in hls.get_input_variables()]
    outputs = [_port(var) for var in hls.get_output_variables()]
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "hls_project": PROJECT_DIR,
        "emulation_graph": (
            f"{EMULATION_DIR}/graph.json"
            if (state.work / EMULATION_DIR / "graph.json").exists()
            else None
        ),
        "backend": config.backend.value,
        "io_type": config.io_type.value,
        "strategy": config.strategy.value,
        "reuse_factor": config.reuse_factor,
        "part": hls.config.get_config_value("Part"),
        "clock_ns": float(hls.config.get_config_value("ClockPeriod")),
        "inputs": inputs,
        "outputs": outputs,
        "layers": [
            {**_layer_record(layer), "types_from": _types_from(state, layer.name)}
            for layer in hls.get_layers()
        ],
        "source": {"path": str(state.source), "sha256": sha256_file(state.source)},
        "versions": {
            k: v
            for k, v in versions().items()
            if k in ("triggerml", "hls4ml", "qkeras", "tensorflow", "numpy")
        },
        "warnings": state.warnings,
        "steps": state.steps,
        "created": now_iso(),
    }
    if state.csim is not None:
        manifest["csim"] = state.csim
    if manifest["emulation_graph"]:
        from triggerml.compile.estimate import estimate

        manifest["estimate"] = estimate(manifest, state.work / EMULATION_DIR)
    return manifest


def _port(var: Any) -> dict[str, Any]:
    return {
        "name": var.name,
        "shape": [int(d) for d in var.shape],
        "precision": _cpp_type(var.type.precision),
    }


def _types_from(state: BuildState, name: str) -> str:
    """Where a layer's types came from: build.yaml's LayerName section (``config: <the
    types it sets>``), the model's quantizers through hls4ml's bit-exact inference
    (``quantizers``; ONNX Quant nodes too), or the config's model default for a float model
    (``config default``); a layer with some types from each says both."""
    rest = (
        "quantizers"
        if state.onnx is not None or (state.info is not None and state.info.quantized)
        else "config default"
    )
    given = [key.split(".", 1)[1] for key in _config_precisions(state) if key.split(".")[0] == name]
    if not given:
        return rest
    return f"config: {', '.join(given)}; {rest}: the others"


def _cpp_type(precision: Any) -> str:
    return cpp_spelling(precision)


def _layer_record(layer: Any) -> dict[str, Any]:
    def typed(attr: str) -> str | None:
        var = layer.get_attr(attr)
        return None if var is None else _cpp_type(getattr(var, "precision", var))

    result_t = _cpp_type(layer.get_output_variable().type.precision)
    weight = layer.weights.get("weight") if hasattr(layer, "weights") else None
    n_out = int(np.prod(layer.get_output_variable().shape))
    multiplications = None
    if weight is not None and layer.class_name in ("Dense", "Conv1D", "Conv2D"):
        kernel = int(np.prod(weight.shape))
        positions = n_out // int(layer.get_attr("n_out") or layer.get_attr("n_filt") or 1)
        multiplications = kernel * max(positions, 1)
    return {
        "name": layer.name,
        "class": layer.class_name,
        "result_t": result_t,
        "accum_t": typed("accum_t"),
        "weight_t": None if weight is None else _cpp_type(weight.type.precision),
        "bias_t": (
            None
            if layer.weights.get("bias") is None
            else _cpp_type(layer.weights["bias"].type.precision)
        ),
        "reuse_factor": layer.get_attr("reuse_factor"),
        "multiplications": multiplications,
    }


# --- helpers -------------------------------------------------------------------------------
def _warn(state: BuildState, message: str) -> None:
    state.warnings.append(message)
    warnings.warn(message, BuildWarning, stacklevel=3)


def _merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


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
            _warn(
                state,
                f"softmax layer {layer.name!r} on a {'×'.join(map(str, shape))} tensor: "
                f"hls4ml's io_parallel softmax normalizes over all {int(np.prod(shape))} "
                "values, Keras over the last axis of each position (io_stream does that); "
                "flatten first or build with --io-type io_stream",
            )
        precision = layer.get_input_variable().type.precision
        integer = getattr(precision, "integer", 0)
        if integer >= WIDE_TABLE_INPUT_INTEGER_BITS:
            _warn(
                state,
                f"{activation} layer {layer.name!r} is fed {_cpp_type(precision)} "
                f"(values up to ±{2 ** (integer - 1)}), far wider than its lookup "
                "table's ±8: hls4ml's tables may then return constants; quantize "
                "its input first (QActivation(quantized_bits(12, 5)))",
            )


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


def _per_output(values: Any, n: int) -> list[npt.NDArray[np.float64]]:
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


class _deterministic_stamp:
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


def _finalize_paths(state: BuildState) -> None:
    """Point hls4ml_config.yml at the final DIR and make the saved Keras archive
    deterministic (hls4ml stores it with the time of saving)."""
    project = state.work / PROJECT_DIR
    config_file = project / "hls4ml_config.yml"
    if config_file.exists():
        text = config_file.read_text()
        config_file.write_text(text.replace(str(state.work), str(state.final)))
    archive = project / "keras_model.keras"
    if archive.exists():
        _normalize_keras_archive(archive)
    for leftover in project.glob("*.tar.gz"):
        leftover.unlink()
    shutil.rmtree(project / "__pycache__", ignore_errors=True)


def _renumber_shared_ids(node: Any, seen: dict[int, int]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "shared_object_id" and isinstance(value, int):
                out[key] = seen.setdefault(value, len(seen) + 1)
            else:
                out[key] = _renumber_shared_ids(value, seen)
        return out
    if isinstance(node, list):
        return [_renumber_shared_ids(item, seen) for item in node]
    return node


def _normalize_keras_archive(path: Path) -> None:
    import json
    import zipfile

    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, raw in sorted(entries):
            data = raw
            if name == "metadata.json":
                meta = json.loads(raw)
                meta.pop("date_saved", None)
                data = json.dumps(meta, sort_keys=True).encode()
            elif name == "config.json":  # shared_object_id is a Python id(): renumber
                data = json.dumps(_renumber_shared_ids(json.loads(raw), {})).encode()
            target.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    tmp.replace(path)
