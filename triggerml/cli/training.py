"""`triggerml` commands for training: datasets, quantization-aware training, model cards."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from triggerml.cli._app import (
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

if TYPE_CHECKING:
    from rich.progress import TaskID


@app.command()
def dataset(
    config_path: Annotated[Path, typer.Argument(help="Dataset YAML (models/dataset.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="HDF5 file to write.")],
    seconds: Annotated[float | None, typer.Option(help="Override the stream length.")] = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
) -> None:
    """Simulate, find hits, cluster and label: a training set for every input kind.
    Resumable: a rerun after a kill does only the tasks that had not finished."""
    import dataclasses

    from triggerml.nn.dataset import build_dataset, load_config, plan

    check_parallel(workers, scheduler)
    config = load_config(config_path)
    if seconds is not None:
        config = dataclasses.replace(
            config, detector=dataclasses.replace(config.detector, seconds=seconds)
        )
    with counting_progress() as progress:
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
    verbose: Verbose = False,
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

        with captured(log_beside(out_dir), (console, err_console), verbose):
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
        Path | None,
        typer.Option("--study", help="Study folder of this model (its summary.json)."),
    ] = None,
    firmware: Annotated[
        Path | None,
        typer.Option("--firmware", help="Build folder of this model's weights (its cost)."),
    ] = None,
) -> None:
    """Add the operating point measured on a validation stream (a study of this model) to
    its card — efficiency at 0.1 and 1 Hz per APA with intervals and the exposure behind it —
    and/or the FPGA cost of a build of its weights (synthesis report, else the estimate)."""
    import json

    from triggerml.config import UsageError
    from triggerml.io import atomic_path, write_json
    from triggerml.nn.card import fpga_of_build, validation
    from triggerml.nn.train import card_markdown

    if study is None and firmware is None:
        raise UsageError("give --study DIR, --firmware DIR or both")
    if not card_json.is_file():
        raise FileNotFoundError(f"{card_json} not found: give an existing model card")
    model_card = json.loads(card_json.read_text())
    if study is not None:
        summary_path = study / "summary.json"
        if not summary_path.is_file():
            raise FileNotFoundError(f"{summary_path} not found: give an existing study summary")
        model_card["validation"] = validation(
            model_card, json.loads(summary_path.read_text()), summary_path
        )
    if firmware is not None:
        model_card["fpga"] = fpga_of_build(model_card, firmware)
    write_json(card_json, model_card)
    markdown = card_json.with_suffix(".md")
    with atomic_path(markdown) as tmp:
        tmp.write_text(card_markdown(model_card))
    console.print(f"wrote {card_json} and {markdown}")
