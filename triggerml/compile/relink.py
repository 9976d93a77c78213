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


def verification_inputs(emulator: Any, events: int, seed: int) -> dict[str, list[Any]]:
    """Seeded test events for a C-sim comparison, one array per input: on each input's
    grid, off it, far outside its range (saturation and wrap-around), and zeros."""
    import numpy as np

    rng = np.random.default_rng(seed)
    grids = list(zip(emulator.input_types, emulator.input_shapes, strict=True))
    scales = [max(abs(grid.max_value), abs(grid.min_value)) for grid, _ in grids]
    return {
        "on-grid": [
            g.cast(rng.normal(0, s / 8, (events, *shape)))
            for (g, shape), s in zip(grids, scales, strict=True)
        ],
        "off-grid": [
            rng.normal(0, s / 8, (events, *shape))
            for (_, shape), s in zip(grids, scales, strict=True)
        ],
        "out-of-range": [
            rng.normal(0, s * 4, (events, *shape))
            for (_, shape), s in zip(grids, scales, strict=True)
        ],
        "zeros": [np.zeros((events, *shape)) for _, shape in grids],
    }


def compare_with_csim(emulator: Any, model: Any, xs: list[Any]) -> Any:
    """Events where the emulator's outputs differ from the C simulation's, per output
    column (every output side by side)."""
    import numpy as np

    given = xs[0] if len(xs) == 1 else xs
    predicted = emulator.predict(given)
    parts = predicted if isinstance(predicted, list) else [predicted]
    ours = np.hstack([p.reshape(len(p), -1) for p in parts])
    return np.sum(ours != csim_predict(model, given), axis=0)
