"""`triggerml` commands for the detector side: versions and tools, the simulator, the event
display, the source survey and the firmware checks of the fixed-point core, TPG and trigger
decision."""

from __future__ import annotations

import platform
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from triggerml import __version__
from triggerml.cli._app import (
    EXIT_FAILURE,
    VERSIONED_PACKAGES,
    advance,
    app,
    console,
    err_console,
    package_version,
)
from triggerml.config import UsageError
from triggerml.toolchain import ToolNotFoundError, find_cxx, hls_tools


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
    scenario: Annotated[
        Path, typer.Argument(help="Detector scenario YAML (or a study with `detector:`).")
    ],
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
    scenario: Annotated[
        Path, typer.Argument(help="Detector scenario YAML (or a study with `detector:`).")
    ],
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

    from triggerml.config import UsageError
    from triggerml.detector.catalogue import SOURCES
    from triggerml.detector.config import load_scenario
    from triggerml.detector.survey import survey, write
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
    table = _sources_table(document, config.name)
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
                on_block=partial(advance, progress, task),
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
            energies, config, seconds=seconds, on_slice=partial(advance, progress, task)
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


def _sources_table(document: dict, name: str) -> Any:
    """The survey as a table: each source's activity, rate and visible rates per APA kind."""
    from rich.table import Table

    from triggerml.detector.survey import THRESHOLDS_MEV

    table = Table(title=f"backgrounds per APA ({name}): central / outer, Hz")
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
    return table
