"""A cost estimate of a build before synthesis: per layer and in total, from the emulation
graph the build exported (the firmware's own types and weight mantissas) and its manifest.

This is a documented counting model, not a synthesis result, and is always labelled so.
It counts what hls4ml's io_parallel/io_stream templates instantiate:

- **Multiplications** per inference: the non-zero weights of each Dense/Conv layer, once per
  output pixel.  A weight that is a power of two (one non-zero digit in canonical signed
  digits, CSD) is a shift, not a multiplication.
- **Multipliers** in hardware: multiplications / reuse factor (io_parallel: every output
  pixel at once; io_stream: one pixel's kernel at a time).
- **DSP or LUT**: hls4ml's own rule (``VivadoDSPEstimator`` in hls4ml's DSP-aware pruning):
  weights narrower than 9 bits become LUT logic, wider ones take one DSP per multiplier (two
  when the operands exceed a DSP48E2's 27 × 18 bits).
- **LUTs**: a LUT multiplier by a constant is a sum of shifted copies of the input, one per
  non-zero CSD digit; every addition (those partial products, the accumulation of each
  output's terms, the bias) costs one LUT per bit of the accumulator (a LUT6 + CARRY8 per
  bit on UltraScale).  ReLU costs a LUT per output bit; a max-pool comparator one per bit.
- **BRAM / LUT-ROM**: a table activation (sigmoid, tanh, softmax) is one lookup per element;
  a table of more than 1 kbit sits in BRAM18s (one per two lookups: dual port), else LUT ROM
  (64 bits per LUT6).
- **FF**: one register per result bit of each layer stage that the latency model pipelines.
- **Latency and interval**: a Dense/Conv layer's adder tree takes ceil(log2(terms) /
  ADDER_LEVELS_PER_CYCLE) cycles (+1 when it uses DSPs), a table lookup 2 (BRAM read), ReLU
  and pooling 0 at the default 5 ns clock; the interval is the reuse factor (io_parallel) or
  pixels × reuse factor (io_stream).

Its error against real HLS reports (tests/fixtures/estimate/, numbers from hls4ml's own
synthesis baselines) is printed by ``triggerml bench estimate`` and stated beside every
estimate: :data:`ERROR_BAND`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.fixed import type_bits

DSP_MIN_WEIGHT_BITS = 9  # hls4ml VivadoDSPEstimator: narrower weights are LUT logic
DSP_PORTS = (27, 18)  # DSP48E2 multiplier A × B (UG579)
ADDER_LEVELS_PER_CYCLE = 4  # adder levels Vivado/Vitis HLS chains within a 5 ns cycle (≈)
# Calibrated on the five baselines (estimate_baselines.json), so their errors are in-sample:
DSP_GLUE_LUTS_PER_BIT = 1  # per DSP multiplier, per accumulator bit: alignment and output
TABLE_INDEX_LUTS_PER_BIT = 6  # per lookup, per input bit: scale, offset, clamp, select
TABLE_LATENCY_CYCLES = 3  # index arithmetic 1 + BRAM read 2
BRAM18_BITS = 18 * 1024
LUT_ROM_BITS = 64
TABLE_ACTIVATIONS = ("sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "softsign")
# median / worst relative error against the fixtures, per resource (bench estimate)
ERROR_BAND = (
    "against 5 real HLS reports of small 16-bit Dense models (Vitis HLS 2024.1), in-sample "
    "(the constants were calibrated on them): DSP ≤ 15 %, LUT median ≤ 10 % (worst ≤ 30 %), "
    "FF median ≤ 30 %, BRAM exact; none of them uses LUT multipliers (weights < 9 bits), so "
    "for those the LUT count is unvalidated — `triggerml bench estimate`"
)

# Part resources (AMD data sheets: DS890 UltraScale / UltraScale+ product tables).
PARTS: dict[str, dict[str, int]] = {
    # Virtex UltraScale+ VU13P (hls4ml's default Vitis part): DS890 table
    "xcvu13p": {"LUT": 1_728_000, "FF": 3_456_000, "DSP": 12_288, "BRAM_18K": 5_376},
    # Kintex UltraScale KU115 (hls4ml's default Vivado part): DS890 table
    "xcku115": {"LUT": 663_360, "FF": 1_326_720, "DSP": 5_520, "BRAM_18K": 4_320},
    # Zynq UltraScale+ ZU9EG (ZCU102): DS891 table
    "xczu9eg": {"LUT": 274_080, "FF": 548_160, "DSP": 2_520, "BRAM_18K": 1_824},
}


@dataclass
class LayerCost:
    name: str
    kind: str
    multiplications: int = 0  # per inference
    multipliers: int = 0  # in hardware (after reuse)
    weight_bits: int = 0
    input_bits: int = 0
    dsp: int = 0
    lut: int = 0
    ff: int = 0
    bram_18k: int = 0
    latency_cycles: int = 0


def csd_digits(mantissa: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Non-zero digits of each integer in canonical signed-digit form (NAF)."""
    x = np.abs(np.asarray(mantissa, dtype=np.int64))
    count = np.zeros(x.shape, dtype=np.int64)
    while np.any(x):
        odd = (x & 1) == 1
        # a digit ±1 where x is odd; −1 (then carry) when x ≡ 3 (mod 4)
        digit = np.where(odd, 2 - (x & 3), 0)
        count += odd
        x = (x - digit) >> 1
    return count


def part_resources(part: str | None) -> dict[str, int] | None:
    """The shipped table's row for a part name (``xcvu13p-flga2577-2-e`` → xcvu13p)."""
    if not part:
        return None
    for family, row in PARTS.items():
        if part.lower().startswith(family):
            return row
    return None


def estimate_build(folder: str | Path) -> dict[str, Any]:
    """The estimate of a build folder (manifest.json + emulation graph)."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    if not manifest.get("emulation_graph"):
        raise ValueError(
            f"{folder}: no emulation graph (the build has no emulator), so no estimate"
        )
    return estimate(manifest, (folder / manifest["emulation_graph"]).parent)


def build_cost(folder: str | Path, compute: bool = True) -> dict[str, Any] | None:
    """A build's cost per instance — from its HLS report (``report.json``) when it was
    synthesized, else from the estimate its manifest stores (made now, with ``compute``, for a
    build that stores none; None without).  ``resources``: {name: {used, available,
    percent}}; ``label`` says which source, with the estimate's error band."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    report_path = folder / "report.json"
    if report_path.is_file():
        report = json.loads(report_path.read_text())
        return {
            "source": "synthesis",
            "label": "report.json (HLS synthesis)",
            "tool": report.get("tool"),
            "part": report.get("part"),
            "clock_ns": manifest.get("clock_ns"),
            "resources": report.get("resources_vsynth") or report["resources"],
            "latency_cycles": report["latency_cycles"]["worst"],
            "interval_cycles": report["interval_cycles"]["max"],
            "multiplications": None,
        }
    stored = manifest.get("estimate")
    if not stored and not compute:
        return None
    return estimate_cost(stored or estimate_build(folder))


def estimate_cost(made: dict[str, Any]) -> dict[str, Any]:
    """An estimate (``manifest.json``'s ``estimate``) in :func:`build_cost`'s form."""
    return {
        "source": "estimate",
        "label": f"estimate (not synthesized; {made['error_band']})",
        "error_band": made["error_band"],
        "part": made.get("part"),
        "clock_ns": made.get("clock_ns"),
        "resources": made["resources"],
        "latency_cycles": made["latency_cycles"],
        "interval_cycles": made["interval_cycles"],
        "multiplications": made["multiplications"],
    }


def estimate(manifest: dict[str, Any], emulation_dir: Path) -> dict[str, Any]:
    """The estimate of a build from its manifest and its emulation folder (graph.json and
    weights.npz): what `triggerml build` stores as the manifest's ``estimate``."""
    graph = json.loads((emulation_dir / "graph.json").read_text())
    with np.load(emulation_dir / "weights.npz") as data:
        weights = {key: data[key] for key in data.files}
    reuse = int(manifest.get("reuse_factor") or 1)
    stream = manifest.get("io_type") == "io_stream"
    producer = {out: layer for layer in graph["layers"] for out in layer.get("outputs", [])}
    layers = [_layer_cost(layer, weights, reuse, stream, producer) for layer in graph["layers"]]
    total = {
        key: sum(getattr(cost, key) for cost in layers)
        for key in ("multiplications", "multipliers", "dsp", "lut", "ff", "bram_18k")
    }
    latency = sum(cost.latency_cycles for cost in layers)
    interval = reuse
    if stream:
        first = manifest["inputs"][0]["shape"]
        interval *= int(np.prod(first[:-1])) if len(first) > 1 else 1
    part = manifest.get("part")
    available = part_resources(part)
    resources = {
        name: {
            "used": total[key],
            "available": available.get(name) if available else None,
            "percent": 100 * total[key] / available[name] if available else None,
        }
        for name, key in (("LUT", "lut"), ("FF", "ff"), ("DSP", "dsp"), ("BRAM_18K", "bram_18k"))
    }
    return {
        "source": "estimate (not synthesized)",
        "model": "triggerml.compile.estimate",
        "error_band": ERROR_BAND,
        "part": part,
        "clock_ns": manifest.get("clock_ns"),
        "latency_cycles": latency,
        "interval_cycles": interval,
        "multiplications": total["multiplications"],
        "multipliers": total["multipliers"],
        "resources": resources,
        "layers": [asdict(cost) for cost in layers],
    }


def _input_bits(layer: dict[str, Any], producer: dict[str, dict[str, Any]]) -> int:
    """Width of the layer's input: the result type of the layer that produces it."""
    source = producer.get(layer["inputs"][0]) if layer.get("inputs") else None
    return type_bits(source["result_t"] if source else layer["result_t"])


def _layer_cost(
    layer: dict[str, Any],
    weights: dict[str, npt.NDArray[np.int64]],
    reuse: int,
    stream: bool,
    producer: dict[str, dict[str, Any]],
) -> LayerCost:
    kind = layer["class"]
    cost = LayerCost(layer["name"], kind)
    result = type_bits(layer["result_t"])
    elements = int(np.prod(layer.get("shape", [1])))
    if kind in ("Dense", "Conv1D", "Conv2D", "PointwiseConv1D", "PointwiseConv2D"):
        _matmul_cost(cost, layer, weights, reuse, stream, _input_bits(layer, producer), result)
    elif kind == "Activation" and layer.get("activation") in TABLE_ACTIVATIONS:
        bits = int(layer.get("table_size", 1024)) * type_bits(layer["table_t"])
        lookups = elements if not stream else int(layer.get("shape", [1])[-1])
        if bits > 1024:
            cost.bram_18k = math.ceil(lookups / 2) * math.ceil(bits / BRAM18_BITS)
        else:
            cost.lut = lookups * math.ceil(bits / LUT_ROM_BITS)
        cost.lut += lookups * TABLE_INDEX_LUTS_PER_BIT * _input_bits(layer, producer)
        cost.latency_cycles = TABLE_LATENCY_CYCLES
        cost.ff = cost.latency_cycles * elements * result
    elif kind == "Activation" and layer.get("activation") == "relu":
        cost.lut = elements * result
    elif kind.startswith("Pooling") and "Max" in str(layer.get("pool_op", "Max")):
        window = int(layer.get("pool_height", 1)) * int(layer.get("pool_width", 1))
        cost.lut = elements * (window - 1) * result
    return cost


def _matmul_cost(
    cost: LayerCost,
    layer: dict[str, Any],
    weights: dict[str, npt.NDArray[np.int64]],
    reuse: int,
    stream: bool,
    input_bits: int,
    result: int,
) -> None:
    weight_bits = type_bits(layer["weight_t"])
    accum = type_bits(layer.get("accum_t") or layer["result_t"])
    shape = [int(n) for n in layer["weight_shape"]]
    mantissa = weights[f"{layer['name']}/weight"].reshape(shape)
    n_out = shape[-1]
    columns = mantissa.reshape(-1, n_out)  # kernel taps × outputs
    digits = csd_digits(columns)
    multiply = digits > 1  # zeros vanish, powers of two are shifts
    pixels = int(np.prod(layer["shape"][:-1])) if len(layer["shape"]) > 1 else 1
    per_pixel = int(multiply.sum())
    cost.multiplications = per_pixel * pixels
    instances = per_pixel if stream else per_pixel * pixels
    cost.multipliers = math.ceil(instances / reuse)
    cost.weight_bits, cost.input_bits = weight_bits, input_bits
    copies = 1 if stream else pixels
    if weight_bits >= DSP_MIN_WEIGHT_BITS:
        wide = input_bits > DSP_PORTS[0] or weight_bits > DSP_PORTS[1]
        cost.dsp = cost.multipliers * (2 if wide else 1)
        cost.lut += cost.multipliers * DSP_GLUE_LUTS_PER_BIT * accum
        terms = (digits > 0).sum(axis=0) + 1  # products (and shifts) and the bias
    else:
        terms = digits.sum(axis=0) + 1  # every CSD digit is a shifted addend
    adders = int(np.maximum(terms - 1, 0).sum()) * copies
    cost.lut += math.ceil(adders * accum / reuse)
    # a short sum (and a DSP product) fits in one 5 ns cycle: no register
    cost.latency_cycles = math.floor(math.log2(max(int(terms.max()), 1)) / ADDER_LEVELS_PER_CYCLE)
    cost.ff = cost.latency_cycles * int(np.prod(layer["shape"])) * result // max(reuse, 1)


BASELINES = Path(__file__).with_name("estimate_baselines.json")
RESOURCE_KEYS = ("DSP", "LUT", "FF", "BRAM_18K")


def _baseline_model(spec: dict[str, Any], seed: int) -> Any:
    """The Keras model of one baseline case (hls4ml's test_keras_api), seeded weights."""
    import tf_keras

    initializer: Any = (
        tf_keras.initializers.RandomUniform(minval=1, maxval=10, seed=seed)
        if spec["kernel"] == "uniform_1_10"
        else tf_keras.initializers.LecunUniform(seed=seed)
    )
    return tf_keras.Sequential(
        [
            tf_keras.layers.InputLayer(input_shape=(spec["inputs"],)),
            tf_keras.layers.Dense(
                spec["dense"], kernel_initializer=initializer, use_bias=spec["bias"]
            ),
            tf_keras.layers.Activation(spec["activation"]),
        ]
    )


def validate(workdir: str | Path, seed: int = 0) -> dict[str, Any]:
    """Build each baseline model (no C simulation), estimate it, and compare with the real
    HLS numbers: per case the estimate and the report, per resource the median and worst
    relative error |estimate − report| / report (cases with a report of 0 are compared
    absolutely and left out of the ratios)."""
    from triggerml.compile.build import BuildConfig, build

    workdir = Path(workdir)
    cases = json.loads(BASELINES.read_text())["cases"]
    rows = []
    for case in cases:
        model = _baseline_model(case["model"], seed)
        path = workdir / f"{case['name']}.h5"
        model.save(path)
        out = workdir / case["name"]
        manifest = build(path, out, BuildConfig(csim=False, io_type=case["io_type"]))
        if not manifest.get("emulation_graph"):
            rows.append({"name": case["name"], "skipped": "not exported (no emulator)"})
            continue
        estimate = estimate_build(out)
        got = {key: estimate["resources"][key]["used"] for key in RESOURCE_KEYS}
        got["latency_cycles"] = estimate["latency_cycles"]
        got["interval_cycles"] = estimate["interval_cycles"]
        rows.append({"name": case["name"], "estimate": got, "report": case["report"]})
    errors: dict[str, dict[str, float]] = {}
    for key in RESOURCE_KEYS:
        ratios = [
            abs(row["estimate"][key] - row["report"][key]) / row["report"][key]
            for row in rows
            if "report" in row and row["report"][key]
        ]
        if ratios:
            errors[key] = {"median": float(np.median(ratios)), "worst": float(max(ratios))}
    return {"cases": rows, "relative_error": errors}
