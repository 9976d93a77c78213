"""Re-link a written hls4ml project for C simulation (hls4ml's link_existing_project)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from triggerml.compile.keras2 import hls4ml_sees_keras2


def link_project(build_dir: str | Path) -> Any:
    """The C-simulation model of ``DIR/hls_project``, compiled and ready to predict."""
    import json

    build_dir = Path(build_dir).resolve()
    manifest = json.loads((build_dir / "manifest.json").read_text())
    project = build_dir / manifest["hls_project"]
    with hls4ml_sees_keras2() as hls4ml:
        model = hls4ml.converters.link_existing_project(str(project))
        # hls4ml_config.yml stores OutputDir as an absolute path: use the folder linked
        model.config.config["OutputDir"] = str(project)
        model.compile()
    return model


def csim_predict(model: Any, x: Any) -> Any:
    """The C simulation's outputs (all outputs side by side) for ``x``: an array, or a list
    of arrays for a model with several inputs."""
    import numpy as np

    xs = x if isinstance(x, list) else [x]
    contiguous = [np.ascontiguousarray(part, dtype=np.float64) for part in xs]
    with hls4ml_sees_keras2():
        y = model.predict(contiguous if isinstance(x, list) else contiguous[0])
    parts = y if isinstance(y, list) else [y]
    return np.hstack([np.asarray(p, dtype=np.float64).reshape(len(xs[0]), -1) for p in parts])
