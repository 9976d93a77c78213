"""Simulate an APA stream into a raw-data file, and draw a slice of one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from triggerml.config import UsageError
from triggerml.detector.config import DetectorScenario
from triggerml.detector.display import draw_slice
from triggerml.detector.hdf5io import RawFileReader, RawFileWriter, ReadReport
from triggerml.detector.stream import ApaStream


def with_duration(scenario: DetectorScenario, seconds: float | None) -> DetectorScenario:
    if seconds is None:
        return scenario
    if seconds <= 0:
        raise UsageError(f"--seconds must be positive, got {seconds}")
    return dataclasses.replace(scenario, seconds=seconds)


def simulate_to_file(
    scenario: DetectorScenario,
    out: str | Path,
    apa: int = 0,
    on_slice: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Stream ``scenario.n_slices`` slices of APA ``apa`` into ``out``; (slices, events)."""
    events = 0
    with RawFileWriter(out, scenario, apa=apa) as writer:
        for slice_ in ApaStream(scenario, apa=apa):
            writer.write(slice_)
            events += slice_.truth.size
            if on_slice is not None:
                on_slice(slice_.index)
    return scenario.n_slices, events


def show_slice(
    path: str | Path, index: int, out: str | Path, scenario: DetectorScenario | None = None
) -> tuple[Path, ReadReport]:
    """Event display of slice ``index`` (0-based) of a raw-data file."""
    from triggerml.detector.config import Geometry

    with RawFileReader(path) as reader:
        records = reader.records()
        if not 0 <= index < len(records):
            raise UsageError(
                f"--slice {index} is out of range: {path} has {len(records)} "
                f"slices (0..{len(records) - 1})"
            )
        slice_ = reader.read_record(records[index], index)
        report = reader.report
    geometry = scenario.geometry if scenario is not None else Geometry()
    title = f"{Path(path).name} · slice {index} · tick {slice_.start_tick}"
    return draw_slice(slice_.adc, slice_.start_tick, slice_.truth, geometry, out, title), report
