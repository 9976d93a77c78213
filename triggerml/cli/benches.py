"""`triggerml bench …`: speed and accuracy benchmarks, each against a reference in one run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from triggerml.cli._app import (
    app,
    console,
    counting_progress,
    err_console,
)
from triggerml.quiet import captured

if TYPE_CHECKING:
    from triggerml.bench import BenchResult


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
    plane: Annotated[
        str, typer.Option(help="collection (960 wires) or induction (U and V, 1600).")
    ] = "collection",
    blocks: Annotated[int, typer.Option(help="Blocks of 4096 ticks timed.", min=1)] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """Python TPG on one APA's collection or induction planes, against np.copy of the
    same bytes."""
    import json

    from triggerml.bench import bench_tpg

    if mode not in ("fir", "dunedaq"):
        raise typer.BadParameter(f"--mode must be fir or dunedaq, not {mode!r}")
    if plane not in ("collection", "induction"):
        raise typer.BadParameter(f"--plane must be collection or induction, not {plane!r}")
    result, real_time = bench_tpg(mode, blocks, plane=plane)
    _print_bench(result)
    console.print(
        f"one APA's {plane} plane{'s' if plane == 'induction' else ''} in real time "
        f"need{'' if plane == 'induction' else 's'} {real_time:.3g} samples/s: "
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
    slices: Annotated[
        int, typer.Option(help="Slices of readout replayed (beyond 24, the 24 in turn).")
    ] = 24,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """The trigger chain on replayed readout: samples/s per APA and fraction of real time."""
    import json

    from triggerml.bench import bench_stream

    bench = bench_stream(str(scenario_path), slices)
    _print_bench(bench.result)
    console.print(
        f"{bench.fraction_of_real_time:.4f}× real time of one APA "
        f"({bench.real_time / 1e9:.2f} GS/s) per core over {bench.slices} slices; stages: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in bench.stages.items())
        + f"; peak memory {bench.peak_rss_mb:,.0f} MB"
    )
    if as_json:
        print(json.dumps(bench.as_dict()))


def _print_bench(result: BenchResult) -> None:
    console.print(
        f"{result.name}: {result.throughput:,.4g} {result.unit} on {result.threads} thread; "
        f"{result.reference}: {result.reference_throughput:,.4g}; ratio {result.ratio:.3f}"
    )


@bench_app.command("study")
def bench_study_command(
    scenario_path: Annotated[Path, typer.Argument(help="Study scenario (emulation/<name>.yaml).")],
    workers: Annotated[
        str, typer.Option(help="Worker counts to compare, comma-separated (e.g. 1,2).")
    ] = "1,2",
    out: Annotated[
        Path | None,
        typer.Option(help="Keep the studies in OUT/workers_N (default: a temporary folder)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """Scale-out: the whole study once per worker count (local Dask cluster): speed-up
    and the peak memory of a worker."""
    import json
    import tempfile

    from triggerml.bench import bench_study

    try:
        counts = [int(part) for part in workers.split(",")]
    except ValueError:
        raise typer.BadParameter(f"--workers must be counts like 1,2, not {workers!r}") from None
    if not counts or min(counts) < 1:
        raise typer.BadParameter("--workers needs counts of at least 1, e.g. 1,2")
    with tempfile.TemporaryDirectory() as scratch, counting_progress() as progress:
        bar = progress.add_task("study tasks", total=None)
        rows = bench_study(
            str(scenario_path),
            counts,
            out or Path(scratch),
            on_progress=lambda done, total: progress.update(bar, completed=done, total=total),
        )
    table = Table("workers", "wall [s]", "speed-up", "tasks", "APA-s", "peak memory / worker")
    for row in rows:
        memory = row["peak_rss_mb_per_worker"]
        table.add_row(
            str(row["workers"]),
            f"{row['wall_seconds']:.1f}",
            f"{row['speedup']:.2f}×",
            str(row["tasks"]),
            f"{row['apa_seconds']:.1f}",
            f"{memory:,.0f} MB" if memory else "n/a",
        )
    console.print(table)
    if as_json:
        print(json.dumps({"name": f"study:{scenario_path.stem}", "runs": rows}))
