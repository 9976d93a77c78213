"""The ``triggerml`` command line (typer + rich).

Errors reach the user as one line on stderr and a non-zero exit code; ``--debug`` (before the
command) shows the traceback instead.
"""

from __future__ import annotations

import importlib.metadata
import platform
import signal
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from triggerml import __version__
from triggerml.config import UsageError
from triggerml.quiet import captured
from triggerml.toolchain import ToolNotFoundError, find_cxx, hls_tools

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from triggerml.bench import BenchResult

EXIT_FAILURE = 1
EXIT_USAGE = 2  # click's usage-error code, also ours for a refused request
EXIT_TOOL_MISSING = 3  # a vendor tool, or a package of an extra not installed

# optional packages (pyproject.toml's extras): a command importing one that is missing says
# which extra to install
EXTRA_OF_MODULE = {
    **dict.fromkeys(("tensorflow", "tf_keras", "keras", "qkeras", "hls4ml"), "build"),
    **dict.fromkeys(("onnx", "qonnx", "onnxruntime"), "onnx"),
    **dict.fromkeys(("dask", "distributed"), "dask"),
}


def _click_style_help() -> None:
    """typer 0.29 prints every flag as `--force <bool>` and a required argument as `{model}`
    in usage lines; click's own conventions (a bare flag, `MODEL`) are what users read
    everywhere else, so the help uses those (patched on typer's parameter classes)."""
    from typer.core import TyperArgument, TyperOption

    def usage_name(self: TyperArgument) -> str:
        name = self.display_name_raw.upper()
        name = name if self.required else f"[{name}]"
        return name if self.nargs == 1 else f"{name}..."

    shown_type = TyperOption.display_type_rich

    def option_type(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown_type(self, ctx)

    TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
    TyperOption.display_type_rich = option_type  # type: ignore[method-assign]


_click_style_help()

app = typer.Typer(
    name="triggerml",
    help="Quantized NNs for DUNE triggers: training → hls4ml firmware → bit-exact emulation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True)

VERSIONED_PACKAGES = (
    "tensorflow",
    "tf_keras",
    "qkeras",
    "hls4ml",
    "onnx",
    "numpy",
    "numba",
    "h5py",
)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"triggerml {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    """triggerml command line."""


def package_version(name: str) -> str | None:
    """Installed version of a distribution, read from metadata (no import)."""
    try:
        return importlib.metadata.version(name.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return None


@app.command()
def info() -> None:
    """Versions of the stack, and which compilers and HLS tools this machine has."""
    table = Table(title=f"triggerml {__version__}", show_header=True)
    table.add_column("component")
    table.add_column("status")
    table.add_row("python", platform.python_version())
    for name in VERSIONED_PACKAGES:
        found = package_version(name)
        table.add_row(name, found or "[red]not installed[/red]")
    try:
        table.add_row("g++", find_cxx())
    except ToolNotFoundError:
        table.add_row("g++", "[red]not found[/red] (needed for C simulation and verify-*)")
    for tool in hls_tools():
        env = f"{tool.env_var}={tool.env_value}" if tool.env_value else f"{tool.env_var} unset"
        status = tool.path if tool.found else f"[yellow]not found[/yellow] (PATH; {env})"
        table.add_row(tool.name, status)
    console.print(table)
    if not any(tool.found for tool in hls_tools()):
        console.print(
            "No Xilinx HLS tool found: `triggerml synth` needs vitis_hls/vitis-run (set "
            "XILINX_HLS) or vivado_hls (set XILINX_VIVADO); build, C simulation and "
            "emulation work without them."
        )


@app.command("verify-fixed")
def verify_fixed(
    seed: Annotated[int, typer.Option(help="Seed of the random part of the sweep.")] = 20261124,
) -> None:
    """Compare triggerml.fixed with the ap_types headers compiled by g++ (exit 0 iff equal)."""
    from triggerml.fixed_check import run_check

    with console.status("compiling the ap_types checker with g++ and sweeping values…"):
        report = run_check(seed=seed)
    console.print(
        f"fixed point vs C++ ap_types: {report.types} types, {report.cases:,} conversions, "
        f"{report.mismatches} mismatches"
    )
    for example in report.examples:
        console.print(f"  {example}")
    if report.mismatches:
        raise typer.Exit(EXIT_FAILURE)


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (or a study with `detector:`).")],
    out: Annotated[Path, typer.Option("--out", help="Raw-data HDF5 file to write.")],
    seconds: Annotated[float | None, typer.Option(help="Override the stream length.")] = None,
    apa: Annotated[int, typer.Option(min=0, help="APA number (seeds its random streams).")] = 0,
) -> None:
    """Simulate one APA's readout into a DUNE-DAQ-layout HDF5 file, truth alongside."""
    from rich.progress import Progress

    from triggerml.detector.config import load_scenario
    from triggerml.detector.simulate import simulate_to_file, with_duration

    config = with_duration(load_scenario(str(scenario)), seconds)
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder: give the HDF5 file to write, e.g. {out}/raw.h5")
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task(f"simulating APA {apa}", total=config.n_slices)
        n_slices, events = simulate_to_file(
            config, out, apa, on_slice=lambda _: progress.advance(task)
        )
    ticks = n_slices * config.slice_ticks
    console.print(
        f"wrote {out}: {n_slices} slices × {config.slice_ticks} ticks "
        f"({ticks * config.readout.tick_ns * 1e-9:.3f} s), {events} events"
    )


@app.command()
def show(
    raw_file: Annotated[Path, typer.Argument(help="Raw-data HDF5 file.")],
    slice_index: Annotated[int, typer.Option("--slice", help="Slice number (0-based).")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="PNG to write.")] = None,
) -> None:
    """Event display of one slice: channel × tick per plane, truth boxes on collection."""
    from triggerml.detector.simulate import show_slice

    target = out or raw_file.with_name(f"{raw_file.stem}_slice{slice_index}.png")
    png, report = show_slice(raw_file, slice_index, target)
    console.print(f"wrote {png}")
    for message in report.messages:
        err_console.print(f"warning: {message}", markup=False)


@app.command()
def sources(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (or a study with `detector:`).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for sources.json and sources.png.")],
    seconds: Annotated[
        float, typer.Option(help="Exposure per source and APA kind (rare sources run longer).")
    ] = 1.0,
    events: Annotated[
        int, typer.Option(help="At least this many decays/captures/photons per source.")
    ] = 2000,
    force: Annotated[
        bool, typer.Option("--force", help="Write into --out even if it holds other files.")
    ] = False,
) -> None:
    """Every background source alone in a central and an outer APA: rates, visible energy."""
    from rich.progress import Progress
    from rich.table import Table

    from triggerml.config import UsageError
    from triggerml.detector.catalogue import SOURCES
    from triggerml.detector.config import load_scenario
    from triggerml.detector.survey import THRESHOLDS_MEV, survey, write
    from triggerml.io import check_output_folder

    if seconds <= 0:
        raise UsageError(f"--seconds must be positive, got {seconds}")
    if events < 1:
        raise UsageError(f"--events must be at least 1, got {events}")
    config = load_scenario(str(scenario))
    check_output_folder(
        out, lambda folder: (folder / "sources.json").is_file(), "a sources survey", force
    )
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("sources", total=len(SOURCES) + 1)  # + pile-up
        document = survey(
            config,
            seconds,
            events,
            on_step=lambda name: progress.update(task, advance=1, description=f"sources: {name}"),
        )
    write(document, out)
    table = Table(title=f"backgrounds per APA ({config.name}): central / outer, Hz")
    for column in (
        "source",
        "location",
        "activity",
        "rate",
        *(f"≥{t} MeV" for t in THRESHOLDS_MEV),
    ):
        table.add_column(column, justify="left" if column in ("source", "location") else "right")
    for record in document["sources"]:
        rate = record["rate_hz_per_apa"]
        visible = record["rate_visible_above_mev"]
        table.add_row(
            record["name"],
            record["location"],
            f"{record['activity']:.3g} {record['activity_unit']}",
            f"{rate['central']:.3g} / {rate['outer']:.3g}",
            *(
                f"{visible[str(t)]['central']:.2g} / {visible[str(t)]['outer']:.2g}"
                for t in THRESHOLDS_MEV
            ),
        )
        for isotope, split in record.get("by_isotope", {}).items():
            above = split["rate_visible_above_mev"]
            table.add_row(
                f"  on {isotope}",
                "",
                "",
                f"{split['events']['central']} / {split['events']['outer']} ev.",
                *(
                    f"{above[str(t)]['central']['value']:.2g} / "
                    f"{above[str(t)]['outer']['value']:.2g}"
                    for t in THRESHOLDS_MEV
                ),
            )
    pileup = document["pileup"]["rate_visible_above_mev"]
    table.add_row(
        "pile-up",
        "all",
        "",
        "",
        *(
            f"{pileup[str(t)]['central']:.2g} / {pileup[str(t)]['outer']:.2g}"
            for t in THRESHOLDS_MEV
        ),
    )
    console.print(table)
    module = document["module"]
    sn = document["sn_nue_cc"]
    console.print(
        f"SN νe-CC at 10 kpc per module: {sn['events_per_module_10kpc']:.0f} from flux × "
        f"cross section × argon nuclei; cited {sn['cited_events_per_module_10kpc']:.0f} "
        f"({sn['cited_source']})"
    )
    console.print(
        f"module: {module['active_mass_t']:.0f} t active in {module['apas']['central']} central "
        f"+ {module['apas']['outer']} outer APAs; wrote {out / 'sources.json'}, "
        f"{out / 'sources.png'}"
    )


def _advance(progress: Progress, task: TaskID, done: int) -> None:
    progress.update(task, completed=done)


@app.command("verify-decision")
def verify_decision(
    clusters: Annotated[int, typer.Option(help="Random clusters per decision.")] = 2000,
    frac_bits: Annotated[int, typer.Option(help="Fractional bits of the model's logit.")] = 6,
    precut: Annotated[int, typer.Option(help="ADC-sum pre-cut of the chain.")] = 6000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20261129,
) -> None:
    """Compile firmware/trigger with g++ and compare its decision (ML, ADC sum, combined)
    with the Python rule the studies use, cluster for cluster."""
    from triggerml.trigger.decision import verify

    if clusters < 1:
        raise UsageError(f"--clusters must be at least 1, got {clusters}")
    result = verify(clusters, seed, frac_bits, precut)
    console.print(
        f"{result.decisions} decisions × {clusters} clusters: {result.mismatches} "
        "differing decisions (Python vs C++)"
    )
    if result.mismatches:
        raise typer.Exit(EXIT_FAILURE)


@app.command("verify-tpg")
def verify_tpg(
    seconds: Annotated[
        float, typer.Option(help="Stream length (one APA's collection plane).")
    ] = 0.02,
    mode: Annotated[str, typer.Option(help="fir, dunedaq or all.")] = "all",
    config: Annotated[Path | None, typer.Option(help="TPG config YAML (overrides --mode).")] = None,
    distance_kpc: Annotated[float, typer.Option(help="Supernova distance in the stream.")] = 0.5,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 11,
) -> None:
    """Compile firmware/tpg with g++ and compare it with the Python TPG, hit for hit."""
    from rich.progress import Progress

    from triggerml.config import from_mapping, load_yaml
    from triggerml.tpg.config import TpgConfig, TpgMode
    from triggerml.tpg.verify import verify

    if config is not None:
        configs = [from_mapping(TpgConfig, load_yaml(config))]
    elif mode == "all":
        configs = [TpgConfig(), TpgConfig(mode=TpgMode.DUNEDAQ)]
    elif mode in ("fir", "dunedaq"):
        configs = [TpgConfig(mode=TpgMode(mode))]
    else:
        raise typer.BadParameter(f"--mode must be fir, dunedaq or all, not {mode!r}")
    failed = False
    for cfg in configs:
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task(f"TPG {cfg.mode.value}: Python vs C++", total=None)
            result = verify(
                cfg,
                seconds,
                seed=seed,
                distance_kpc=distance_kpc,
                on_block=partial(_advance, progress, task),
            )
        console.print(
            f"{result.mode}: {result.blocks} blocks, {result.samples:,} samples, "
            f"{result.hits_python:,} hits (Python) vs {result.hits_cpp:,} (C++): "
            f"{result.differing} differing hits"
        )
        failed |= result.differing > 0
    if failed:
        raise typer.Exit(EXIT_FAILURE)


@app.command("tpg-efficiency")
def tpg_efficiency(
    out: Annotated[Path, typer.Option("--out", help="PNG to write.")] = Path(
        "results/tpg_efficiency.png"
    ),
    seconds: Annotated[float, typer.Option(help="Stream length simulated.")] = 0.2,
    mode: Annotated[str, typer.Option(help="TPG mode: fir or dunedaq.")] = "fir",
    threshold: Annotated[int | None, typer.Option(help="Absolute threshold (ADC).")] = None,
) -> None:
    """Plot TPG hit efficiency vs deposited energy for single electrons."""
    from rich.progress import Progress

    from triggerml.config import from_mapping
    from triggerml.tpg.config import TpgConfig
    from triggerml.tpg.efficiency import measure, plot

    settings: dict[str, object] = {"mode": mode}
    if threshold is not None:
        settings.update(threshold=threshold, threshold_mode="absolute")
    config = from_mapping(TpgConfig, settings)
    energies = (0.04, 0.07, 0.1, 0.14, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 4.0, 8.0, 15.0, 30.0)
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("simulating single electrons", total=None)
        curve = measure(
            energies, config, seconds=seconds, on_slice=partial(_advance, progress, task)
        )
    label = f"TPG {config.mode.value}" + (
        f", threshold {config.threshold} ADC" if threshold is not None else ""
    )
    plot(curve, out, f"{label}: single electrons, one APA")
    lo, hi = curve.interval
    for e0, e1, n, k, low, high in zip(
        curve.bin_edges[:-1], curve.bin_edges[1:], curve.events, curve.found, lo, hi, strict=True
    ):
        if n:
            console.print(
                f"{e0:5.2f}–{e1:5.2f} MeV: {k:4d}/{n:4d} = {k / n:.3f} [{low:.3f}, {high:.3f}]"
            )
    console.print(f"wrote {out}")


@app.command()
def dataset(
    config_path: Annotated[Path, typer.Argument(help="Dataset YAML (models/dataset.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="HDF5 file to write.")],
    seconds: Annotated[float | None, typer.Option(help="Override the stream length.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Run the tasks on a local Dask cluster of N workers.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Run the tasks on this Dask scheduler (tcp://host:port).")
    ] = None,
) -> None:
    """Simulate, find hits, cluster and label: a training set for every input kind.
    Resumable: a rerun after a kill does only the tasks that had not finished."""
    import dataclasses

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from triggerml.nn.dataset import build_dataset, load_config, plan

    if workers is not None and scheduler is not None:
        raise typer.BadParameter("give --workers or --scheduler, not both")
    if workers is not None and workers < 1:
        raise typer.BadParameter("--workers must be at least 1")
    config = load_config(config_path)
    if seconds is not None:
        config = dataclasses.replace(
            config, detector=dataclasses.replace(config.detector, seconds=seconds)
        )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("dataset tasks", total=len(plan(config)))
        counts = build_dataset(
            config,
            out,
            on_task=lambda done, _total: progress.update(task, completed=done),
            workers=workers,
            scheduler=scheduler,
        )
    console.print(f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command()
def train(
    model_yaml: Annotated[Path, typer.Argument(help="Zoo model YAML (models/<name>.yaml).")],
    out: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    data: Annotated[Path | None, typer.Option(help="Dataset HDF5 (made if missing).")] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", help="Show TensorFlow/hls4ml messages (default: in OUT.log beside OUT)."
        ),
    ] = False,
) -> None:
    """Quantization-aware training with QKeras; writes weights, history and model card."""
    from rich.progress import BarColumn, Progress, TextColumn

    from triggerml.nn.dataset import build_dataset, load_config
    from triggerml.nn.train import train as run_training
    from triggerml.nn.zoo import load_model_config

    config = load_model_config(model_yaml)
    out_dir = out or Path("results") / "train" / config.name
    data_path = data or Path("results") / "datasets" / f"{Path(config.dataset).stem}.h5"
    if not data_path.exists():
        console.print(f"{data_path} not found: building it from {config.dataset}")
        build_dataset(load_config(config.dataset), data_path)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} epochs {task.fields[loss]}"),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def on_epoch(phase: str, epoch: int, total: int, logs: dict[str, float]) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(f"{config.name} {phase}", total=total, loss="")
            loss = f"val_loss {logs.get('val_loss', float('nan')):.4f}"
            progress.update(tasks[phase], completed=epoch, loss=loss)

        with captured(_log_beside(out_dir), (console, err_console), verbose):
            card = run_training(config, out_dir, data_path, on_epoch)
    m = card["metrics"]
    console.print(
        f"{config.name}: AUC {m['roc_auc']:.4f}, signal efficiency "
        f"{m['signal_efficiency_at_background_rejection']['0.999']:.3f} at 99.9 % background "
        f"rejection, {card['parameters']} parameters, {card['multiplications']} "
        f"multiplications; float twin AUC {card['float_twin']['roc_auc']:.4f}; wrote {out_dir}"
    )


@app.command()
def card(
    card_json: Annotated[Path, typer.Argument(help="Model card JSON (models/<name>.json).")],
    study: Annotated[
        Path, typer.Option("--study", help="Study folder of this model (its summary.json).")
    ],
) -> None:
    """Add the operating point measured on a validation stream (a study of this model) to
    its card: efficiency at 0.1 and 1 Hz per APA with intervals and the exposure behind it."""
    import json

    from triggerml.io import atomic_path, write_json
    from triggerml.nn.card import validation
    from triggerml.nn.train import card_markdown

    summary_path = study / "summary.json"
    for path, what in ((card_json, "model card"), (summary_path, "study summary")):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: give an existing {what}")
    model_card = json.loads(card_json.read_text())
    model_card["validation"] = validation(
        model_card, json.loads(summary_path.read_text()), summary_path
    )
    write_json(card_json, model_card)
    markdown = card_json.with_suffix(".md")
    with atomic_path(markdown) as tmp:
        tmp.write_text(card_markdown(model_card))
    console.print(f"wrote {card_json} and {markdown}")


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
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", help="Show TensorFlow/hls4ml messages (default: in OUT.log beside OUT)."
        ),
    ] = False,
) -> None:
    """Model → hls4ml HLS project, C simulation compared with QKeras, manifest.json."""
    import dataclasses
    import warnings

    from rich.progress import Progress, SpinnerColumn, TextColumn

    from triggerml.compile.build import Backend, BuildConfig, BuildWarning, IoType, Strategy, build
    from triggerml.config import from_mapping, load_yaml

    for flag, value, kind in (
        ("--backend", backend, Backend),
        ("--io-type", io_type, IoType),
        ("--strategy", strategy, Strategy),
    ):
        if value is not None and value not in {m.value for m in kind}:
            valid = ", ".join(m.value for m in kind)
            raise UsageError(f"{flag} must be one of {valid}, not {value!r}")
    if reuse_factor is not None and reuse_factor < 1:
        raise UsageError(f"--reuse-factor must be at least 1, got {reuse_factor}")

    settings = load_yaml(config) if config is not None else {}
    base = from_mapping(BuildConfig, settings)
    overrides = {
        key: value
        for key, value in {
            "backend": backend,
            "io_type": io_type,
            "strategy": strategy,
            "reuse_factor": reuse_factor,
            "part": part,
            "clock_ns": clock_ns,
            "events": events,
        }.items()
        if value is not None
    }
    if no_csim:
        overrides["csim"] = False
    build_config = from_mapping(BuildConfig, {**_as_settings(base), **overrides})
    with (
        captured(_log_beside(out), (console, err_console), verbose),
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
    _ = dataclasses
    steps = ", ".join(
        f"{s['name']} skipped" if s["verdict"] == "skipped" else f"{s['name']} {s['seconds']:.1f} s"
        for s in manifest["steps"]
    )
    console.print(f"wrote {out}: {steps}")
    csim = manifest.get("csim")
    if csim is not None:
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
        given[name] = _load_npy(Path(path), f"--input {name}")
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
    import numpy as np

    from triggerml.compile.relink import csim_predict, link_project
    from triggerml.emulator import load_emulator

    emulator = load_emulator(build_dir)
    rng = np.random.default_rng(seed)
    grids = list(zip(emulator.input_types, emulator.input_shapes, strict=True))
    scales = [max(abs(grid.max_value), abs(grid.min_value)) for grid, _ in grids]
    kinds = {  # one array per input
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
    if data is not None:
        if len(grids) > 1:
            raise UsageError("--data: real events are taken for single-input models only")
        kinds["data"] = [emulator.check_shape(_load_npy(data, "--data"))[:events]]
    model = link_project(build_dir)
    failed = False
    for name, xs in kinds.items():
        given = xs[0] if len(xs) == 1 else xs
        predicted = emulator.predict(given)
        parts = predicted if isinstance(predicted, list) else [predicted]
        ours = np.hstack([p.reshape(len(p), -1) for p in parts])
        per_output = np.sum(ours != csim_predict(model, given), axis=0)
        console.print(
            f"{name}: {len(xs[0])} events, mismatching events per output {per_output.tolist()}"
        )
        failed |= bool(per_output.any())
    if failed:
        raise typer.Exit(EXIT_FAILURE)


def _load_npy(path: Path, option: str) -> Any:
    """An array saved with np.save, or a one-line error naming the option."""
    import numpy as np

    if not path.is_file():
        raise UsageError(f"{option}: {path} not found")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise UsageError(
            f"{option}: {path} is not a .npy array (write it with numpy.save)"
        ) from None


def _log_beside(out: Path) -> Path:
    """Where a command's third-party messages go: OUT.log beside its output folder."""
    return out.parent / f"{out.name}.log"


def _as_settings(config: object) -> dict[str, object]:
    from triggerml.config import to_mapping

    mapping = to_mapping(config)
    assert isinstance(mapping, dict)
    return mapping


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


@app.command()
def study(
    scenario_path: Annotated[Path, typer.Argument(help="Study scenario (emulation/<name>.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="Study folder (resumed if it exists).")],
    workers: Annotated[
        int | None, typer.Option(help="Run tasks on a local Dask cluster of N workers.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Run tasks on an existing Dask scheduler (ADDRESS).")
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Discard earlier task results in DIR.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into --out even if it is not a study.")
    ] = False,
) -> None:
    """Trigger study: readout → TPG → clusters → firmware emulator → efficiencies, reach."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from triggerml.trigger.report import headline
    from triggerml.trigger.scenario import load_study
    from triggerml.trigger.study import run_study

    if workers is not None and scheduler is not None:
        raise typer.BadParameter("give --workers or --scheduler, not both")
    if workers is not None and workers < 1:
        raise typer.BadParameter("--workers must be at least 1")
    scenario = load_study(scenario_path)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        bar = progress.add_task(f"study {scenario.name}: tasks", total=None)
        summary = run_study(
            scenario,
            out,
            workers,
            scheduler,
            on_progress=lambda done, total: progress.update(bar, completed=done, total=total),
            fresh=fresh,
            force=force,
        )
    for line in headline(summary):
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {out / 'summary.json'}, {out / 'report.md'} and plots in {out}")


bench_app = typer.Typer(
    help="Throughput benchmarks, as ratios to a reference run alongside.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")


@bench_app.command("fixed")
def bench_fixed_command(
    values: Annotated[int, typer.Option(help="Doubles converted per repeat.")] = 1_000_000,
    type_string: Annotated[str, typer.Option("--type", help="Target type.")] = (
        "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """Fixed-point conversion of doubles, against np.copy of the same bytes."""
    import json

    from triggerml.bench import bench_fixed
    from triggerml.fixed import parse_type

    parse_type(type_string)  # a bad type is a one-line error before any timing
    result = bench_fixed(values, type_string)
    _print_bench(result)
    if as_json:
        print(json.dumps(result.as_dict()))


@bench_app.command("sim")
def bench_sim_command(
    slices: Annotated[int, typer.Option(help="Slices timed.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """Background streaming of one APA, against np.copy of the same bytes."""
    import json

    from triggerml.bench import bench_sim

    result = bench_sim(slices)
    _print_bench(result)
    if as_json:
        print(json.dumps(result.as_dict()))


@bench_app.command("tpg")
def bench_tpg_command(
    mode: Annotated[str, typer.Option(help="TPG mode: fir or dunedaq.")] = "fir",
    blocks: Annotated[int, typer.Option(help="Blocks of 960 × 4096 samples timed.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """Python TPG on the collection plane, against np.copy of the same bytes."""
    import json

    from triggerml.bench import bench_tpg

    if mode not in ("fir", "dunedaq"):
        raise typer.BadParameter(f"--mode must be fir or dunedaq, not {mode!r}")
    result = bench_tpg(mode, blocks)
    _print_bench(result)
    real_time = 960 * 1e9 / 512.0
    console.print(
        f"one APA's collection plane in real time needs {real_time:.3g} samples/s: "
        f"{result.throughput / real_time:.2f}× real time per core"
    )
    if as_json:
        print(json.dumps(result.as_dict()))


@bench_app.command("emulator")
def bench_emulator_command(
    build_dir: Annotated[Path, typer.Argument(help="A build folder.")],
    events: Annotated[int, typer.Option(help="Events for the emulator and QKeras.")] = 10000,
    csim_events: Annotated[int, typer.Option(help="Events for the (slow) C simulation.")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """Emulator events/s (one thread and all cores) vs hls4ml C-sim and QKeras predict."""
    import json

    from triggerml.bench import bench_emulator

    results = bench_emulator(str(build_dir), events, csim_events)
    for result in results:
        console.print(
            f"{result['name']} ({result['threads']} thread(s)): {result['throughput']:,.0f} "
            f"events/s; C-sim {result['reference_throughput']:,.0f} → ratio "
            f"{result['ratio']:.1f}; QKeras {result['qkeras_throughput']:,.0f} → ratio "
            f"{result['ratio_qkeras']:.2f}"
        )
    if as_json:
        print(json.dumps(results[-1]))


@bench_app.command("startup")
def bench_startup_command(
    build_dir: Annotated[Path, typer.Argument(help="A build folder.")],
    events: Annotated[int, typer.Option(help="Events to emulate per run.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """Start-up of `triggerml emulate` in a new process: cold (kernel cache empty) vs warm."""
    import json

    from triggerml.bench import bench_startup

    result = bench_startup(str(build_dir), events)
    console.print(
        f"{result['name']}: emulate {events} events in a new process — cold "
        f"{result['cold_seconds']:.2f} s (kernels compiled), warm {result['warm_seconds']:.2f} s "
        f"(kernel cache), ratio {result['ratio_cold_to_warm']:.1f}; python + numba import "
        f"alone {result['interpreter_seconds']:.2f} s"
    )
    if as_json:
        print(json.dumps(result))


@bench_app.command("estimate")
def bench_estimate_command(
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """The cost estimate against real HLS reports: hls4ml's test models rebuilt, estimated
    and compared with the numbers Vitis HLS gave for them (median and worst error)."""
    import json
    import tempfile

    from triggerml.compile.estimate import RESOURCE_KEYS, validate

    with (
        tempfile.TemporaryDirectory(prefix="triggerml-estimate-") as work,
        captured(Path(work) / "build.log", (console, err_console)),
    ):
        result = validate(work)
    table = Table(title="estimate / Vitis HLS 2024.1 report (hls4ml's baselines)")
    for column in ("case", *RESOURCE_KEYS, "latency"):
        table.add_column(column, justify="right")
    for row in result["cases"]:
        e, r = row["estimate"], row["report"]
        cells = [f"{e[k]} / {r[k]}" for k in (*RESOURCE_KEYS, "latency_cycles")]
        table.add_row(row["name"], *cells)
    console.print(table)
    for key, error in result["relative_error"].items():
        console.print(
            f"{key}: median relative error {error['median']:.1%}, worst {error['worst']:.1%}",
            markup=False,
        )
    if as_json:
        print(json.dumps(result))


@bench_app.command("stream")
def bench_stream_command(
    scenario_path: Annotated[Path, typer.Argument(help="Study scenario (emulation/<name>.yaml).")],
    slices: Annotated[int, typer.Option(help="Slices of readout replayed.")] = 24,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """The trigger chain on replayed readout: samples/s per APA and fraction of real time."""
    import json

    from triggerml.bench import bench_stream

    result, stages, real_time = bench_stream(str(scenario_path), slices)
    _print_bench(result)
    console.print(
        f"{result.throughput / real_time:.4f}× real time of one APA "
        f"({real_time / 1e9:.2f} GS/s) per core; stages: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items())
    )
    if as_json:
        fraction = result.throughput / real_time
        print(json.dumps({**result.as_dict(), "fraction_of_real_time": fraction}))


def _print_bench(result: BenchResult) -> None:
    console.print(
        f"{result.name}: {result.throughput:,.4g} {result.unit} on {result.threads} thread; "
        f"{result.reference}: {result.reference_throughput:,.4g}; ratio {result.ratio:.3f}"
    )


class Interrupted(BaseException):
    """SIGINT or SIGTERM: stop now, keeping what is finished (atomic outputs, task files).
    Not a KeyboardInterrupt: click turns those into "Aborted!" with exit code 1."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def main() -> None:
    """Console-script entry point: one-line errors unless --debug; SIGINT/SIGTERM stop the
    command at once with one line and exit 130/143 (128 + the signal number)."""
    debug = "--debug" in sys.argv[1:]
    signal.signal(signal.SIGINT, _raise_interrupted)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        app()
    except (Interrupted, KeyboardInterrupt) as error:
        signum = error.signum if isinstance(error, Interrupted) else signal.SIGINT
        name = signal.Signals(signum).name
        err_console.print(
            f"interrupted by {name}: finished work is kept (a study resumes from its task "
            "files); partial outputs were discarded",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(128 + int(signum))
    except ToolNotFoundError as error:
        if debug:
            raise
        err_console.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_TOOL_MISSING)
    except ModuleNotFoundError as error:
        extra = EXTRA_OF_MODULE.get((error.name or "").split(".")[0])
        if debug:
            raise
        if extra is None:
            _one_line_failure(error)
        err_console.print(
            f"error: this command needs {error.name}, from the [{extra}] extra: "
            f"pip install 'triggerml[{extra}]' (or [all])",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_TOOL_MISSING)
    except UsageError as error:
        if debug:
            raise
        err_console.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_USAGE)
    except Exception as error:  # the CLI's last line of defense: one line, no traceback
        if debug:
            raise
        _one_line_failure(error)


def _one_line_failure(error: Exception) -> NoReturn:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    err_console.print(
        f"error: {type(error).__name__}: {message}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    sys.exit(EXIT_FAILURE)


if __name__ == "__main__":
    main()
