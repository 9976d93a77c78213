"""``triggerml sweep``: the whole sweep, resumable — the fine-tune dataset, the base build, the
recorded validation stream, every point as a task (in-process or on Dask, like studies),
then ``sweep.json``, ``sweep.csv``, the fronts and ``report.md`` (``sweep.json`` last).

A killed sweep resumes: the dataset and stream from their task files, the points from their
JSON files; a different spec in the same folder is refused (``--fresh`` starts over).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from triggerml import __version__
from triggerml.io import (
    atomic_path,
    check_output_folder,
    now_iso,
    sha256_file,
    versions,
    write_json,
)
from triggerml.parallel import run_tasks
from triggerml.sweep import pareto
from triggerml.sweep.point import RESOURCES, point_json, run_point
from triggerml.sweep.spec import Point, SweepError, SweepSpec, check, describe, load_spec
from triggerml.sweep.validation import ValidationStream, load_recorded, record
from triggerml.trigger.scenario import Resolved, StudyScenario, load_study, resolve

SCHEMA_VERSION = 1
SIGNAL = "electron_5_10_mev"  # the fronts' physics axis (SN νe-CC is in the table too)
WITHIN = 0.01  # "within 1 point of the best efficiency"

Progress = Callable[[str, int, int], None]


def is_sweep_folder(folder: Path) -> bool:
    return (folder / "spec.json").is_file() or (folder / "sweep.json").is_file()


def _scenario(spec: SweepSpec, folder: Path) -> StudyScenario:
    """The validation stream's scenario, through the swept model's base build."""
    return dataclasses.replace(
        load_study(spec.validation), model=spec.model, firmware=str(folder / "base")
    )


def _resolved(spec: SweepSpec, folder: Path) -> Resolved:
    try:
        return resolve(_scenario(spec, folder))
    except ValueError as error:
        raise SweepError(f"validation: {spec.validation}: {error}") from None


def load_stream(spec_path: str, folder: Path) -> ValidationStream:
    """The recorded stream of a sweep folder's ``validation/`` (for the point tasks)."""
    spec = load_spec(spec_path)
    return load_recorded(_resolved(spec, folder.parent), folder)


def _check_dataset(spec: SweepSpec, resolved: Resolved) -> None:
    """The fine-tune set must be made as the stream's inputs are (same TPG, clusters, input)."""
    if not spec.dataset.endswith((".yaml", ".yml")):
        return
    from triggerml.nn.dataset import load_config

    tuned = load_config(spec.dataset)
    ours = resolved.dataset
    for name in ("tpg", "clusters", "precut_adc_sum"):
        if getattr(tuned, name) != getattr(ours, name):
            raise SweepError(
                f"dataset: {spec.dataset} sets a different {name} than the model's training set "
                f"({spec.model} → its dataset): the fine-tune must see inputs built as the "
                "stream's are"
            )
    for kind in resolved.chain.inputs:
        if tuned.kinds().get(kind.kind.value) != kind:
            raise SweepError(
                f"dataset: {spec.dataset} builds {kind.kind.value} inputs differently from the "
                f"model's training set (or not at all): use the same input settings"
            )


def run_sweep(
    spec_path: str | Path,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    on_progress: Progress | None = None,
    fresh: bool = False,
    force: bool = False,
    part: str | None = None,
) -> dict[str, Any]:
    """Run (or resume) the sweep into ``out``; returns ``sweep.json``'s content.  ``part``
    replaces the spec's (fits and choices only; the builds keep the spec's)."""
    spec_path = Path(spec_path).resolve()
    spec = load_spec(spec_path)
    report_part = part or spec.part
    folder = Path(out).resolve()
    resolved = _resolved(spec, folder)
    shapes = [tuple(roi.shape) for roi in resolved.chain.inputs]
    check(dataclasses.replace(spec, part=report_part), shapes)
    _check_dataset(spec, resolved)
    check_output_folder(folder, is_sweep_folder, "a triggerml sweep", force)
    _stamp_folder(spec, folder, fresh)

    def progress(phase: str) -> Callable[[int, int], None]:
        return lambda done, total: on_progress(phase, done, total) if on_progress else None

    _make_dataset(spec, folder, workers, scheduler, progress("dataset"))
    progress("base build")(0, 1)
    reference = _base_build(spec, folder)
    progress("base build")(1, 1)
    stream = record(
        _scenario(spec, folder),
        folder / "base",
        folder / "validation",
        workers,
        scheduler,
        progress("validation stream"),
    )
    points = spec.points()
    _run_points(spec_path, folder, points, workers, scheduler, progress("points"))
    rows = [json.loads(point_json(folder, p).read_text()) for p in points]
    baseline_figures = stream.figures(None, spec.rate_hz_per_apa)
    return write_outputs(
        dataclasses.replace(spec, part=report_part),
        spec_path,
        folder,
        rows,
        reference,
        baseline_figures,
        stream,
    )


def _stamp_folder(spec: SweepSpec, folder: Path, fresh: bool) -> None:
    """Write the stamp of what every result depends on (the spec and the files it names,
    byte for byte); a folder stamped otherwise is refused unless ``fresh`` empties it."""
    stamp = {
        "triggerml": __version__,
        "spec": describe(spec),
        "inputs": {
            name: sha256_file(getattr(spec, name))
            for name in ("model", "weights", "dataset", "validation")
        },
    }
    stamp_file = folder / "spec.json"
    if fresh and folder.is_dir():
        for name in ("points", "validation", "base", "dataset.h5", "spec.json", "sweep.json"):
            path = folder / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    if stamp_file.is_file() and json.loads(stamp_file.read_text()) != stamp:
        raise SweepError(
            f"{folder} holds a different sweep (the spec or a file it names changed): choose "
            "another --out, or --fresh to start over"
        )
    folder.mkdir(parents=True, exist_ok=True)
    write_json(stamp_file, stamp)


def _run_points(
    spec_path: Path,
    folder: Path,
    points: list[Point],
    workers: int | None,
    scheduler: str | None,
    on_progress: Callable[[int, int], None],
) -> None:
    """Every point without its JSON, as tasks (in-process or on Dask)."""
    done = [sum(point_json(folder, p).is_file() for p in points)]
    on_progress(done[0], len(points))

    def finished(_key: str) -> None:
        done[0] += 1
        on_progress(done[0], len(points))

    run_tasks(
        functools.partial(run_point, str(spec_path), str(folder)),
        [p for p in points if not point_json(folder, p).is_file()],
        lambda point: f"triggerml-sweep-{point.key}",
        workers,
        scheduler,
        finished,
    )


def _make_dataset(
    spec: SweepSpec,
    folder: Path,
    workers: int | None,
    scheduler: str | None,
    on_task: Callable[[int, int], None],
) -> None:
    target = spec.dataset_file(folder)
    if target.is_file():
        return
    from triggerml.nn.dataset import build_dataset, load_config

    build_dataset(load_config(spec.dataset), target, on_task, workers, scheduler)


def _base_build(spec: SweepSpec, folder: Path) -> dict[str, Any]:
    """The zoo model as trained (its own bits, no fine-tune), latency, reuse 1: the firmware
    the stream is recorded through, and the sweep's reference row."""
    base = folder / "base"
    if not (base / "manifest.json").is_file():
        import warnings

        from triggerml.compile.build import BuildConfig, BuildWarning, build

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BuildWarning)
            build(
                spec.weights,
                base,
                BuildConfig(
                    part=spec.part, clock_ns=spec.clock_ns, events=spec.csim_events, seed=spec.seed
                ),
                force=True,
            )
    manifest = json.loads((base / "manifest.json").read_text())
    from triggerml.sweep.point import cost

    csim = manifest.get("csim") or {}
    return {
        "weights": spec.weights,
        "weights_sha256": sha256_file(spec.weights),
        **cost(base, manifest, synthesize=False),
        "csim_mismatches": csim.get("mismatches"),
        "emulator_mismatches": csim.get("emulator_mismatches"),
    }


def write_outputs(
    spec: SweepSpec,
    spec_path: Path,
    folder: Path,
    rows: list[dict[str, Any]],
    reference: dict[str, Any],
    baseline_figures: dict[str, Any],
    stream: ValidationStream,
) -> dict[str, Any]:
    """sweep.csv, the fronts, report.md, then sweep.json."""
    for key, _, _ in pareto.FRONTS:
        on = pareto.front(
            [pareto.cost_of(r, key) for r in rows],
            [pareto.value_of(r, SIGNAL) for r in rows],
            [pareto.cost_of(r, pareto.TIEBREAK[key]) for r in rows],
        )
        for row, flag in zip(rows, on, strict=True):
            row.setdefault("pareto_by", {})[key] = bool(flag)
    for row in rows:
        row["pareto"] = row["pareto_by"]["LUT"]
    adc = baseline_figures["adc_sum"]
    reference = {**reference, "efficiency": baseline_figures["ml"]["efficiency"]}
    plots = {}
    for key, label, name in pareto.FRONTS:
        plots[key] = pareto.plot_front(
            rows,
            key,
            label,
            SIGNAL,
            adc["efficiency"][SIGNAL],
            f"{spec.name}: {SIGNAL} at {spec.rate_hz_per_apa:g} Hz per APA "
            f"({_exposure(stream)} APA-s reporting)",
            folder / name,
        ).name
    summary = {
        "schema_version": SCHEMA_VERSION,
        "name": spec.name,
        "model": spec.model,
        "signal": SIGNAL,
        "rate_hz_per_apa": spec.rate_hz_per_apa,
        "part": spec.part,
        "validation": {"scenario": spec.validation, **stream.exposure()},
        "adc_sum": adc,
        "reference": reference,
        "points": rows,
        "choices": choices(rows, spec.part, adc["efficiency"][SIGNAL]),
        "plots": plots,
        "spec": describe(spec),
        "spec_sha256": sha256_file(spec_path),
        "versions": versions(),
        "created": now_iso(),
    }
    write_csv(folder / "sweep.csv", rows)
    from triggerml.sweep.report import write as write_report

    write_report(folder / "report.md", summary)
    write_json(folder / "sweep.json", summary)
    return summary


def _exposure(stream: ValidationStream) -> str:
    reporting = stream.exposure()["apa_seconds_by_half"]["reporting"]
    return f"{sum(reporting.values()):.3g}"


def choices(rows: list[dict[str, Any]], part: str, adc: dict[str, Any]) -> dict[str, Any]:
    """The best point (of equal efficiencies, the fewest LUTs), the cheapest (LUTs) within 1
    point of it, the best that fits the part, the cheapest that keeps the ML trigger's gain
    over the ADC sum."""
    from triggerml.compile.estimate import part_resources

    valid = [r for r in rows if r["efficiency"][SIGNAL]["value"] is not None]
    if not valid:
        return {"best": None, "cheapest_within_1pt": None, "fits_part": None, "keeps_gain": None}

    def better(r: dict[str, Any]) -> tuple[float, float]:
        """Higher efficiency; of equal ones, fewer LUTs."""
        return (r["efficiency"][SIGNAL]["value"], -(r["cost"]["LUT"] or 0))

    best = max(valid, key=better)
    top = best["efficiency"][SIGNAL]["value"]
    near = [r for r in valid if r["efficiency"][SIGNAL]["value"] >= top - WITHIN]
    available = part_resources(part) or {}
    fitting = [
        r
        for r in valid
        if all(
            r["cost"].get(name) is None or r["cost"][name] <= available.get(name, float("inf"))
            for name in RESOURCES
        )
    ]
    gain = [r for r in valid if adc.get("value") is not None and _gain(r, adc) > 0]

    def cheapest(candidates: list[dict[str, Any]]) -> str | None:
        if not candidates:
            return None
        return min(candidates, key=lambda r: (r["cost"]["LUT"] or 0, r["cost"]["DSP"] or 0))["key"]

    return {
        "best": best["key"],
        "cheapest_within_1pt": cheapest(near),
        "fits_part": (max(fitting, key=better)["key"] if fitting else None),
        "keeps_gain": cheapest(gain),
    }


def _gain(row: dict[str, Any], adc: dict[str, Any]) -> float:
    return float(row["efficiency"][SIGNAL]["value"] - adc["value"])


CSV_COLUMNS = (
    "key",
    "weight_bits",
    "activation_bits",
    "reuse_factor",
    "strategy",
    "io_type",
    "rate_hz_per_apa",
)


def write_csv(target: Path, rows: list[dict[str, Any]]) -> Path:
    """One row per point: axes, efficiencies with intervals, cost, verdicts, front flags."""
    signals = list(rows[0]["efficiency"]) if rows else []
    header = [
        *CSV_COLUMNS,
        *(f"{s}_{k}" for s in signals for k in ("efficiency", "lo", "hi")),
        "measured_rate_hz_per_apa",
        "rate_limit",
        "cost_source",
        *RESOURCES,
        "latency_cycles",
        "interval_cycles",
        "csim_mismatches",
        "emulator_mismatches",
        *(f"pareto_{k}" for k, _, _ in pareto.FRONTS),
    ]
    with atomic_path(target) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for r in rows:
            writer.writerow(
                [
                    *(r[c] for c in CSV_COLUMNS),
                    *(r["efficiency"][s][k] for s in signals for k in ("value", "lo", "hi")),
                    r["measured_rate_hz_per_apa"]["value"],
                    r["rate_limit"],
                    r["cost"]["source"],
                    *(r["cost"][name] for name in RESOURCES),
                    r["latency_cycles"],
                    r["interval_cycles"],
                    r["csim_mismatches"],
                    r["emulator_mismatches"],
                    *(r["pareto_by"][k] for k, _, _ in pareto.FRONTS),
                ]
            )
    return target
