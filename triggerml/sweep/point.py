"""One design point: fine-tune the zoo model at the point's bits (QAT, seeded, from the
trained weights), build it with the point's strategy, reuse factor and I/O type (C-sim and
emulator verdicts), cost it (synthesis when asked and a tool is present, else the estimate,
marked as such) and judge its emulated firmware on the recorded validation stream.

Each point writes ``DIR/points/<key>/`` (weights, build) and last ``DIR/points/<key>.json``:
a sweep that is killed resumes from the points whose JSON exists.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from pathlib import Path
from typing import Any

from triggerml.io import atomic_path, write_json
from triggerml.sweep.spec import Point, SweepSpec, point_config
from triggerml.sweep.validation import ValidationStream

RESOURCES = ("LUT", "FF", "DSP", "BRAM_18K")


def point_json(folder: Path, point: Point) -> Path:
    return folder / "points" / f"{point.key}.json"


def fine_tune(spec: SweepSpec, point: Point, dataset: Path, target: Path) -> dict[str, Any]:
    """The point's QKeras model, fine-tuned from the spec's weights; saved to ``target``."""
    from triggerml.nn.dataset import load_dataset
    from triggerml.nn.train import _deterministic, _fit
    from triggerml.nn.zoo import build_model, load_model_config

    base = load_model_config(spec.model)
    config = point_config(base, point)
    config = dataclasses.replace(
        config,
        training=dataclasses.replace(
            config.training,
            learning_rate=spec.learning_rate,
            epochs=max(spec.finetune_epochs, 1),
        ),
    )
    data = load_dataset(dataset, config.input, config.side_input)
    _deterministic(spec.seed)
    model = build_model(
        config,
        tuple(data.x.shape[1:]),
        quantized=True,
        side_shape=None if data.side is None else tuple(data.side.shape[1:]),
    )
    # the same layers at any bits: the trained weights load into the point's quantizers (in
    # order; a model of another architecture is an error, not silently skipped layers)
    model.load_weights(spec.weights)
    started = time.perf_counter()
    history: dict[str, list[float]] = {}
    if spec.finetune_epochs > 0:
        history = _fit(model, data, config, "fine-tune", spec.finetune_epochs, None)
    seconds = time.perf_counter() - started
    with atomic_path(target) as tmp:
        model.save(tmp, save_format="h5")
    return {
        "epochs": spec.finetune_epochs,
        "seconds": seconds,
        "val_loss": history["val_loss"][-1] if history.get("val_loss") else None,
    }


def build_point(spec: SweepSpec, point: Point, weights: Path, out: Path) -> dict[str, Any]:
    """``triggerml build`` of the fine-tuned model at the point's settings: the manifest."""
    from triggerml.compile.build import BuildConfig, BuildWarning, IoType, Strategy, build

    config = BuildConfig(
        strategy=Strategy(point.strategy.capitalize()),
        reuse_factor=point.reuse_factor,
        io_type=IoType(point.io_type),
        part=spec.part,
        clock_ns=spec.clock_ns,
        events=spec.csim_events,
        seed=spec.seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BuildWarning)  # recorded in the manifest's warnings
        return build(weights, out, config, force=True)


def cost(build_dir: Path, manifest: dict[str, Any], synthesize: bool) -> dict[str, Any]:
    """``cost`` (resources per instance and their source), ``latency_cycles`` and
    ``interval_cycles``: from the HLS report when synthesized, else from the estimate."""
    from triggerml.compile.estimate import build_cost

    if synthesize:
        from triggerml.compile.synth import run

        run(build_dir)  # writes report.json, which build_cost reads
    found = build_cost(build_dir)
    assert found is not None
    extra = (
        {"tool": found["tool"]}
        if found["source"] == "synthesis"
        else {"error_band": found["error_band"]}
    )
    return {
        "cost": {
            "source": found["source"],
            **{name: (found["resources"].get(name) or {}).get("used") for name in RESOURCES},
            **extra,
        },
        "latency_cycles": found["latency_cycles"],
        "interval_cycles": found["interval_cycles"],
    }


@functools.lru_cache(maxsize=2)
def _stream(spec_path: str, folder: str) -> ValidationStream:
    """The recorded stream, loaded once per worker process."""
    from triggerml.sweep.run import load_stream

    return load_stream(spec_path, Path(folder))


def run_point(spec_path: str, folder: str, point: Point) -> str:
    """One point, end to end (arguments picklable for Dask); skipped if its JSON exists."""
    from triggerml.emulator import load_emulator
    from triggerml.sweep.spec import load_spec

    root = Path(folder)
    target = point_json(root, point)
    if target.is_file():
        return point.key
    spec = load_spec(spec_path)
    work = root / "points" / point.key
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tuned = fine_tune(spec, point, spec.dataset_file(root), work / "model.h5")
    build_started = time.perf_counter()
    manifest = build_point(spec, point, work / "model.h5", work / "build")
    build_seconds = time.perf_counter() - build_started
    csim = manifest.get("csim") or {}
    emulator = load_emulator(work / "build")
    stream = _stream(spec_path, str(root / "validation"))
    figures = stream.figures(emulator, spec.rate_hz_per_apa)
    row = {
        **dataclasses.asdict(point),
        "key": point.key,
        "efficiency": figures["ml"]["efficiency"],
        "rate_hz_per_apa": spec.rate_hz_per_apa,
        "measured_rate_hz_per_apa": figures["ml"]["measured_rate_hz_per_apa"],
        "rate_limit": figures["ml"]["limit"],
        "adc_sum_efficiency": figures["adc_sum"]["efficiency"],
        **cost(work / "build", manifest, spec.synth),
        "csim_mismatches": csim.get("mismatches"),
        "emulator_mismatches": csim.get("emulator_mismatches"),
        "csim_events": csim.get("events"),
        "build_warnings": manifest.get("warnings", []),
        "fine_tune": tuned,
        "seconds": {
            "fine_tune": tuned["seconds"],
            "build": build_seconds,
            "total": time.perf_counter() - started,
        },
        "weights_sha256": manifest["source"]["sha256"],
    }
    write_json(target, row)
    return point.key
