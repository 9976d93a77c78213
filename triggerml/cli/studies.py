"""`triggerml study`: trigger studies on simulated streams."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from triggerml.cli._app import (
    Fresh,
    Scheduler,
    Verbose,
    Workers,
    app,
    check_parallel,
    console,
    counting_progress,
    err_console,
    log_beside,
)
from triggerml.quiet import captured


@app.command()
def study(
    scenario_path: Annotated[Path, typer.Argument(help="Study scenario (emulation/<name>.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="Study folder (resumed if it exists).")],
    workers: Workers = None,
    scheduler: Scheduler = None,
    fresh: Fresh = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into --out even if it is not a study.")
    ] = False,
) -> None:
    """Trigger study: readout → TPG → clusters → firmware emulator → efficiencies, reach."""
    from triggerml.trigger.report import headline
    from triggerml.trigger.scenario import load_study
    from triggerml.trigger.study import run_study

    check_parallel(workers, scheduler)
    scenario = load_study(scenario_path)
    with counting_progress() as progress:
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
    workers: Workers = None,
    scheduler: Scheduler = None,
    part: Annotated[
        str | None, typer.Option(help="FPGA part for fits and the report (overrides the spec).")
    ] = None,
    fresh: Fresh = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into --out even if it is not a sweep.")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Design-space sweep: fine-tune, build and emulate each point; physics vs FPGA cost."""
    from triggerml.sweep.run import run_sweep

    check_parallel(workers, scheduler)
    with (
        captured(log_beside(out), (console, err_console), verbose),
        counting_progress() as progress,
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
