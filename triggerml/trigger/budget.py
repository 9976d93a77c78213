"""Firmware budget: how many instances of a model's firmware one APA needs to score every
cluster in real time, and what they cost — from the HLS report when synthesized, else the
build's cost estimate (triggerml.compile.estimate, stated as such)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def firmware_budget(firmware: str | Path, inference_rate_hz: float) -> dict[str, Any]:
    from triggerml.compile.estimate import build_cost, estimate_cost

    folder = Path(firmware)
    manifest = json.loads((folder / "manifest.json").read_text())
    clock_ns = float(manifest["clock_ns"])
    interval = None
    resources = None
    source = "estimate (not synthesized)"
    cost = build_cost(folder, compute=False)
    if (cost is None or cost["interval_cycles"] is None) and manifest.get("estimate"):
        cost = estimate_cost(manifest["estimate"])  # a report without an interval
    if cost is not None and cost["interval_cycles"] is not None:
        interval = int(cost["interval_cycles"])
        resources = cost["resources"]
        source = cost["label"]
    if interval is None:
        # io_parallel pipelines at II = reuse factor; io_stream takes about one input pixel
        # per cycle (conservative)
        interval = int(manifest["reuse_factor"])
        if manifest["io_type"] == "io_stream":
            interval *= int(np.prod(manifest["inputs"][0]["shape"][:-1]))
        source = "estimate (not synthesized)"
    capacity = 1e9 / (clock_ns * interval)
    instances = max(1, math.ceil(inference_rate_hz / capacity))
    total = None
    if resources:
        total = {
            name: {
                "used": row["used"] * instances if row["used"] is not None else None,
                "available": row["available"],
                "percent": row["percent"] * instances if row["percent"] is not None else None,
            }
            for name, row in resources.items()
        }
    return {
        "inference_rate_hz_per_apa": inference_rate_hz,
        "interval_cycles": interval,
        "clock_ns": clock_ns,
        "inferences_per_s_per_instance": capacity,
        "instances_per_apa": instances,
        "keeps_up": inference_rate_hz <= capacity * instances,
        "source": source,
        "resources_per_instance": resources,
        "resources_per_apa": total,
    }
