"""Build steps ``export`` and ``verify``: the emulation graph from the final ModelGraph, and
the emulator against the C simulation on the same events — equal bit for bit."""

from __future__ import annotations

import shutil

import numpy as np

from triggerml.compile.state import (
    EMULATION_DIR,
    BuildState,
    warn,
)
from triggerml.compile.steps.csim import outputs_of


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
        warn(state, f"no emulator for this model: {error}{hint}")
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
        warn(state, f"no emulator for this model: {error}")
        return "skipped"
    emulated = outputs_of(predicted, len(state.events[0]))
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
