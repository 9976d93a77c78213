"""`triggerml study`: trigger studies on simulated streams."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from triggerml.cli._app import (
    app,
    check_parallel,
    console,
    err_console,
    log_beside,
)
from triggerml.quiet import captured


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

    check_parallel(workers, scheduler)
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


@app.command()
def sweep(
    spec_path: Annotated[Path, typer.Argument(help="Sweep spec (emulation/sweep_<name>.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="Sweep folder (resumed if it exists).")],
    workers: Annotated[
        int | None, typer.Option(help="Run points on a local Dask cluster of N workers.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Run points on an existing Dask scheduler (ADDRESS).")
    ] = None,
    part: Annotated[
        str | None, typer.Option(help="FPGA part for fits and the report (overrides the spec).")
    ] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Discard earlier results in DIR.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into --out even if it is not a sweep.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show TensorFlow's and hls4ml's output.")
    ] = False,
) -> None:
    """Design-space sweep: fine-tune, build and emulate each point; physics vs FPGA cost."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from triggerml.sweep.run import run_sweep

    check_parallel(workers, scheduler)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with (
        captured(log_beside(out), (console, err_console), verbose),
        Progress(*columns, console=err_console, transient=True) as progress,
    ):
        bars: dict[str, object] = {}

        def on_progress(phase: str, done: int, total: int) -> None:
            if phase not in bars:
                bars[phase] = progress.add_task(f"sweep: {phase}", total=total)
            progress.update(bars[phase], completed=done, total=total)  # type: ignore[arg-type]

        summary = run_sweep(
            spec_path, out, workers, scheduler, on_progress, fresh=fresh, force=force, part=part
        )
    choices = summary["choices"]
    adc = summary["adc_sum"]["efficiency"][summary["signal"]]
    console.print(
        f"{len(summary['points'])} points; ADC sum {summary['signal']} at "
        f"{summary['rate_hz_per_apa']:g} Hz per APA: {adc['value']:.3f}; best "
        f"{choices['best']}, cheapest within 1 point {choices['cheapest_within_1pt']}, fits "
        f"{summary['part']}: {choices['fits_part']}",
        markup=False,
        highlight=False,
    )
    console.print(f"wrote {out / 'sweep.json'}, sweep.csv, report.md and fronts in {out}")
