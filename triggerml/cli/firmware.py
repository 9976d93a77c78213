"""`triggerml` commands for firmware: build, synth, report, emulate, verify, export-onnx."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from triggerml.cli._app import (
    EXIT_FAILURE,
    Verbose,
    app,
    console,
    err_console,
    load_npy,
    log_beside,
)
from triggerml.config import UsageError
from triggerml.quiet import captured


@app.command("build")
def build_command(
    model: Annotated[Path, typer.Argument(help="QKeras .h5/.keras or QONNX .onnx model.")],
    out: Annotated[Path, typer.Option("--out", help="Build folder (replaced atomically).")],
    config: Annotated[
        Path | None, typer.Option(help="build.yaml: options + hls4ml sections.")
    ] = None,
    backend: Annotated[str | None, typer.Option(help="Vitis or Vivado (default: Vitis).")] = None,
    io_type: Annotated[
        str | None, typer.Option(help="io_parallel or io_stream (default: io_parallel).")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option(help="Latency or Resource (default: Latency).")
    ] = None,
    reuse_factor: Annotated[int | None, typer.Option(help="hls4ml reuse factor.")] = None,
    part: Annotated[str | None, typer.Option(help="FPGA part (default: hls4ml's).")] = None,
    clock_ns: Annotated[float | None, typer.Option(help="Clock period in ns.")] = None,
    events: Annotated[
        int | None, typer.Option(help="Events compared in C simulation (default: 1000).")
    ] = None,
    no_csim: Annotated[bool, typer.Option("--no-csim", help="Skip the C simulation.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace --out even if it is not a build.")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Model → hls4ml HLS project, C simulation compared with QKeras, manifest.json."""
    import warnings

    from rich.progress import Progress, SpinnerColumn, TextColumn

    from triggerml.compile.build import BuildWarning, build, build_config_from

    build_config = build_config_from(
        config,
        backend=backend,
        io_type=io_type,
        strategy=strategy,
        reuse_factor=reuse_factor,
        part=part,
        clock_ns=clock_ns,
        events=events,
        csim=False if no_csim else None,
    )
    with (
        captured(log_beside(out), (console, err_console), verbose),
        warnings.catch_warnings(record=True) as caught,
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=err_console, transient=True
        ) as progress,
    ):
        warnings.simplefilter("always", BuildWarning)
        task = progress.add_task("build")
        manifest = build(
            model,
            out,
            build_config,
            on_step=lambda name: progress.update(task, description=f"build: {name}"),
            force=force,
        )
    for warning in caught:
        if issubclass(warning.category, BuildWarning):
            err_console.print(f"warning: {warning.message}", markup=False, soft_wrap=True)
    _print_build(manifest, out)


def _print_build(manifest: dict, out: Path) -> None:
    """The steps' times and the C-sim verdict; exit 1 when the C simulation failed."""
    steps = ", ".join(
        f"{s['name']} skipped" if s["verdict"] == "skipped" else f"{s['name']} {s['seconds']:.1f} s"
        for s in manifest["steps"]
    )
    console.print(f"wrote {out}: {steps}")
    csim = manifest.get("csim")
    if csim is None:
        return
    reference = csim.get("reference", "QKeras")
    summary, table_note = csim_summary(csim)
    console.print(summary, markup=False)
    if table_note:
        err_console.print(f"warning: {table_note}", markup=False, soft_wrap=True)
    if any(step["verdict"] == "fail" for step in manifest["steps"]):
        err_console.print(
            f"error: C simulation differs from {reference} on {csim['mismatches']}"
            f" events: see {out}/manifest.json",
            markup=False,
        )
        raise typer.Exit(EXIT_FAILURE)


TABLE_DIFFERENCE_WARNING = 0.01  # outputs after a final lookup table this far off: say why


def csim_summary(csim: dict[str, Any]) -> tuple[str, str | None]:
    """The build's C-simulation line, and a warning when the outputs after a final lookup
    table (sigmoid, softmax) differ visibly from the reference although the logits agree:
    that difference is the table's resolution, not a conversion error."""
    reference = csim.get("reference", "QKeras")
    table = bool(csim.get("output_table"))
    compared = "logit" if table else "output"
    where = "after the output table" if table else "on the outputs"
    line = (
        f"C simulation vs {reference} on {csim['events']} events: {csim['mismatches']} "
        f"{compared} mismatches, max |Δ| {where} {csim['max_abs_diff']:.3g}"
    )
    warning = None
    if table and csim["mismatches"] == 0 and csim["max_abs_diff"] > TABLE_DIFFERENCE_WARNING:
        warning = (
            f"the outputs after the final lookup table differ from {reference} by up to "
            f"{csim['max_abs_diff']:.3g} although every logit agrees: that is the table's "
            "resolution (table_size, table_t) — compare logits (Emulator.predict(logits=True)) "
            "or give the table more entries or bits in build.yaml's LayerName section"
        )
    return line, warning


@app.command()
def synth(
    build_dir: Annotated[Path, typer.Argument(help="A build folder (or an HLS project).")],
    tool: Annotated[str | None, typer.Option(help="vitis-run, vitis_hls or vivado_hls.")] = None,
    csim: Annotated[bool, typer.Option("--csim", help="Also the tool's C simulation.")] = False,
    cosim: Annotated[bool, typer.Option("--cosim", help="Also C/RTL co-simulation.")] = False,
    export: Annotated[bool, typer.Option("--export", help="Also export the IP.")] = False,
    vsynth: Annotated[bool, typer.Option("--vsynth", help="Also Vivado synthesis.")] = False,
) -> None:
    """Run Vivado/Vitis HLS on the project and write report.json."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from triggerml.compile.synth import SynthOptions, run
    from triggerml.toolchain import HLS_TOOLS

    if tool is not None and tool not in HLS_TOOLS:
        raise UsageError(f"--tool must be one of {', '.join(HLS_TOOLS)}, not {tool!r}")
    options = SynthOptions(csim=csim, cosim=cosim, export=export, vsynth=vsynth)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err_console, transient=True
    ) as progress:
        task = progress.add_task("synthesis")
        run(
            build_dir,
            tool,
            options,
            on_line=lambda line: progress.update(task, description=line[:100]),
        )
    _print_report(build_dir)


@app.command()
def report(
    build_dir: Annotated[
        Path,
        typer.Argument(
            help="A synthesized build folder, or an HLS project synthesized elsewhere "
            "(its csynth reports are parsed into report.json)."
        ),
    ],
    rate: Annotated[
        float | None,
        typer.Option(
            help="Inferences/s one APA needs (clusters_per_s_per_apa of a study): "
            "does the firmware keep up, and with how many instances?"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print report.json itself.")] = False,
    estimate: Annotated[
        bool,
        typer.Option(
            "--estimate",
            help="Print the build's cost estimate before synthesis (a documented counting "
            "model with its measured error band), not a synthesis report.",
        ),
    ] = False,
) -> None:
    """Print report.json as a table: latency, interval, resources against the part."""
    from triggerml.compile.synth import load_report

    if estimate:
        _print_estimate(build_dir, as_json)
    elif rate is None or (build_dir / "report.json").is_file():
        if as_json:
            import json

            print(json.dumps(load_report(build_dir), indent=2))
        else:
            _print_report(build_dir)
    if rate is not None:
        from triggerml.trigger.budget import firmware_budget

        budget = firmware_budget(build_dir, rate)
        verdict = "keeps up" if budget["keeps_up"] else "does NOT keep up"
        console.print(
            f"{rate:.4g} inferences/s per APA at II = {budget['interval_cycles']} cycles × "
            f"{budget['clock_ns']} ns ({budget['inferences_per_s_per_instance']:.3g}/s per "
            f"instance): {budget['instances_per_apa']} instance(s) per APA {verdict} "
            f"({budget['source']})",
            markup=False,
        )


def _resources_table(title: str, rows: dict[str, dict[str, Any]], digits: int) -> Table:
    """resource · used · available · % of the part, for a report or an estimate."""
    table = Table(title=title)
    for column in ("resource", "used", "available", "%"):
        table.add_column(column, justify="right")
    for name, row in rows.items():
        percent = "—" if row["percent"] is None else f"{row['percent']:.{digits}f}"
        table.add_row(name, str(row["used"]), str(row["available"]), percent)
    return table


def _print_estimate(build_dir: Path, as_json: bool) -> None:
    import json

    from triggerml.compile.estimate import estimate_build

    manifest_path = build_dir / "manifest.json"
    if not manifest_path.is_file():
        raise UsageError(f"{build_dir}: no manifest.json: build the model with triggerml build")
    data = json.loads(manifest_path.read_text()).get("estimate") or estimate_build(build_dir)
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table(title=f"{build_dir} · {data['source']} · {data['part']}")
    for column in ("layer", "kind", "mult.", "DSP", "LUT", "FF", "BRAM18", "cycles"):
        table.add_column(column, justify="right")
    for row in data["layers"]:
        if any(row[k] for k in ("multiplications", "dsp", "lut", "ff", "bram_18k")):
            table.add_row(
                row["name"],
                row["kind"],
                str(row["multiplications"]),
                str(row["dsp"]),
                str(row["lut"]),
                str(row["ff"]),
                str(row["bram_18k"]),
                str(row["latency_cycles"]),
            )
    console.print(table)
    console.print(_resources_table("total (estimate)", data["resources"], digits=3))
    console.print(
        f"latency ≈ {data['latency_cycles']} cycles, interval {data['interval_cycles']} "
        f"at {data['clock_ns']} ns; error band: {data['error_band']}",
        markup=False,
    )


def _print_report(build_dir: Path) -> None:
    from triggerml.compile.synth import load_report

    data = load_report(build_dir)
    clock = data["clock_ns"]
    latency, interval = data["latency_cycles"], data["interval_cycles"]
    ns = data["latency_ns"]
    version = f" {data['tool_version']}" if data.get("tool_version") else ""
    top = f" · top {data['top']}" if data.get("top") else ""
    summary = Table(title=f"{build_dir} · {data['tool']}{version} · {data['part']}{top}")
    summary.add_column("quantity")
    summary.add_column("value", justify="right")
    summary.add_row("clock target / estimated (ns)", f"{clock['target']} / {clock['estimated']}")
    summary.add_row("latency (cycles, best–worst)", f"{latency['best']}–{latency['worst']}")
    summary.add_row("latency (ns, best–worst)", f"{ns['best']}–{ns['worst']}")
    summary.add_row("interval (cycles, min–max)", f"{interval['min']}–{interval['max']}")
    console.print(summary)
    for key, title in (
        ("resources", "C synthesis estimate"),
        ("resources_vsynth", "Vivado synthesis"),
    ):
        if key not in data:
            continue
        console.print(_resources_table(title, data[key], digits=2))
    for warning in data.get("warnings", []):
        err_console.print(f"warning: {warning}", markup=False)
    verdict = "[green]fits[/green]" if data["fits"] else "[red]does not fit[/red]"
    console.print(f"{verdict} the part {data['part']}")


@app.command()
def emulate(
    build_dir: Annotated[Path, typer.Argument(help="A build folder.")],
    inputs: Annotated[
        list[str],
        typer.Option(
            "--input",
            help="X.npy of shape (N, *input shape) (`inputs[0].shape` in DIR/manifest.json); "
            "a model with several inputs: NAME=X.npy once per input.",
        ),
    ],
    output_path: Annotated[
        Path, typer.Option("--output", help="Y.npy to write (several outputs: Y.npz, by name).")
    ],
) -> None:
    """Bit-exact firmware outputs for X, without hls4ml, TensorFlow or a compiler."""
    import numpy as np

    from triggerml.emulator import load_emulator
    from triggerml.io import atomic_path

    if not output_path.parent.is_dir():
        raise UsageError(f"--output: folder {output_path.parent} does not exist; create it first")
    emulator = load_emulator(build_dir)
    several = len(emulator.output_names) > 1
    if several != (output_path.suffix == ".npz"):
        raise UsageError(
            f"--output: the model has {len(emulator.output_names)} output(s): write "
            + ("Y.npz (one array per output)" if several else "Y.npy")
        )
    y = emulator.predict(_emulator_inputs(emulator, inputs))
    outputs = dict(zip(emulator.output_names, y if several else [y], strict=True))
    with atomic_path(output_path) as tmp, open(tmp, "wb") as handle:
        if several:
            np.savez(handle, **outputs)
        else:
            np.save(handle, y)
    shapes = ", ".join(f"{name} {v.shape[1]}" for name, v in outputs.items())
    n = next(iter(outputs.values())).shape[0]
    console.print(f"wrote {output_path}: {n} events × outputs ({shapes})")


def _emulator_inputs(emulator: Any, options: list[str]) -> dict[str, Any]:
    """--input values (X.npy, or NAME=X.npy per input) as arrays by input name, checked."""
    names = emulator.input_names
    if len(options) == 1 and "=" not in options[0] and len(names) == 1:
        options = [f"{names[0]}={options[0]}"]
    given: dict[str, Any] = {}
    for option in options:
        name, sep, path = option.partition("=")
        if not sep or name not in names:
            raise UsageError(
                f"--input {option}: give NAME=X.npy once per input; inputs: {', '.join(names)}"
            )
        given[name] = load_npy(Path(path), f"--input {name}")
    missing = [name for name in names if name not in given]
    if missing:
        raise UsageError(f"--input: no array for {', '.join(missing)} (NAME=X.npy)")
    emulator.check_inputs(given)
    return given


@app.command()
def verify(
    build_dir: Annotated[Path, typer.Argument(help="A build folder.")],
    events: Annotated[int, typer.Option(help="Events per input kind.")] = 500,
    data: Annotated[Path | None, typer.Option(help="X.npy of real events to add.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated events.")] = 1,
) -> None:
    """Re-link the HLS project and compare its C simulation with the emulator, bit for bit."""
    from triggerml.compile.relink import compare_with_csim, link_project, verification_inputs
    from triggerml.emulator import load_emulator

    emulator = load_emulator(build_dir)
    kinds = verification_inputs(emulator, events, seed)
    if data is not None:
        if len(emulator.input_names) > 1:
            raise UsageError("--data: real events are taken for single-input models only")
        kinds["data"] = [emulator.check_shape(load_npy(data, "--data"))[:events]]
    model = link_project(build_dir)
    failed = False
    for name, xs in kinds.items():
        per_output = compare_with_csim(emulator, model, xs)
        console.print(
            f"{name}: {len(xs[0])} events, mismatching events per output {per_output.tolist()}"
        )
        failed |= bool(per_output.any())
    if failed:
        raise typer.Exit(EXIT_FAILURE)


@app.command("export-onnx")
def export_onnx(
    model: Annotated[Path, typer.Argument(help="QKeras .h5/.keras model.")],
    out: Annotated[Path, typer.Option("--out", help="ONNX file to write.")],
    qcdq: Annotated[
        bool,
        typer.Option("--qcdq", help="QuantizeLinear/Clip/DequantizeLinear form (≤ 8 bits)."),
    ] = False,
) -> None:
    """QKeras → QONNX (ONNX + Quant nodes), or its QCDQ form that onnxruntime runs."""
    from triggerml.compile import model_file
    from triggerml.compile.keras2 import load_qkeras_model
    from triggerml.compile.onnx_export import export_qonnx, to_qcdq

    model_file.check_supported(model_file.read_architecture(model))
    graph = export_qonnx(load_qkeras_model(str(model)))
    if qcdq:
        graph = to_qcdq(graph)
    from onnx import save

    from triggerml.io import atomic_path

    with atomic_path(out) as tmp:
        save(graph, str(tmp))
    ops = sorted({node.op_type for node in graph.graph.node})
    console.print(f"wrote {out}: {len(graph.graph.node)} nodes ({', '.join(ops)})")
