"""The build's manifest (written last) and the final touches on the project folder (paths
pointing at the final DIR, a deterministic Keras archive)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from triggerml.compile.state import (
    EMULATION_DIR,
    PROJECT_DIR,
    SCHEMA_VERSION,
    BuildState,
    cpp_type,
)
from triggerml.compile.steps.csim import config_precisions
from triggerml.io import now_iso, sha256_file, versions


def manifest_of(state: BuildState) -> dict[str, Any]:
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
        "precision": cpp_type(var.type.precision),
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
    given = [key.split(".", 1)[1] for key in config_precisions(state) if key.split(".")[0] == name]
    if not given:
        return rest
    return f"config: {', '.join(given)}; {rest}: the others"


def _layer_record(layer: Any) -> dict[str, Any]:
    def typed(attr: str) -> str | None:
        var = layer.get_attr(attr)
        return None if var is None else cpp_type(getattr(var, "precision", var))

    result_t = cpp_type(layer.get_output_variable().type.precision)
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
        "weight_t": None if weight is None else cpp_type(weight.type.precision),
        "bias_t": (
            None
            if layer.weights.get("bias") is None
            else cpp_type(layer.weights["bias"].type.precision)
        ),
        "reuse_factor": layer.get_attr("reuse_factor"),
        "multiplications": multiplications,
    }


def finalize_paths(state: BuildState) -> None:
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
