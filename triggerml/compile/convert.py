"""QKeras model → hls4ml ModelGraph, exactly: granularity 'name', bit_exact conversion.

``bit_exact=True`` keeps every QActivation(quantized_bits) as the result type of the layer
before it (with default settings hls4ml 1.3 silently drops it) — the models must start
with an input quantizer for it to apply, as every zoo model does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triggerml.compile.keras2 import hls4ml_sees_keras2


def convert_keras(
    model: Any,
    output_dir: str | Path,
    backend: str = "Vitis",
    io_type: str = "io_parallel",
    trace: bool = False,
    compile_csim: bool = True,
) -> Any:
    """Convert (and by default compile the C simulation of) a QKeras model."""
    with hls4ml_sees_keras2() as hls4ml:
        config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
        if trace:
            for layer in config["LayerName"].values():
                layer["Trace"] = True
        hls_model = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=config,
            output_dir=str(output_dir),
            backend=backend,
            io_type=io_type,
            bit_exact=True,
        )
        if compile_csim:
            hls_model.compile()
    return hls_model


def logits_layer(hls_model: Any) -> str:
    """Name of the last layer before the output activation (its trace holds the logits)."""
    names = [layer.name for layer in hls_model.get_layers()]
    return names[-2]


def csim_trace(
    hls_model: Any, x: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], dict[str, Any]]:
    """C-simulation outputs and per-layer traces (float64 entry point)."""
    with hls4ml_sees_keras2():
        y, trace = hls_model.trace(np.ascontiguousarray(x, dtype=np.float64))
    return np.asarray(y, dtype=np.float64), trace
