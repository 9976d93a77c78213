"""The ``triggerml`` command line's shared parts: the typer app, the consoles, exit codes
and the helpers every command group uses.  Commands live in the modules beside this one,
one per stage (detector, training, firmware, studies, benches); ``triggerml.cli.main`` runs
them with one-line errors."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from triggerml import __version__
from triggerml.config import UsageError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


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


def advance(progress: Progress, task: TaskID, done: int) -> None:
    progress.update(task, completed=done)


def load_npy(path: Path, option: str) -> Any:
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


def log_beside(out: Path) -> Path:
    """Where a command's third-party messages go: OUT.log beside its output folder."""
    return out.parent / f"{out.name}.log"


# options several commands share, typed once
Workers = Annotated[
    int | None, typer.Option(help="Run the work on a local Dask cluster of N workers.")
]
Scheduler = Annotated[
    str | None, typer.Option(help="Run the work on an existing Dask scheduler (ADDRESS).")
]
Fresh = Annotated[bool, typer.Option("--fresh", help="Discard earlier results in --out.")]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose", help="Show TensorFlow/hls4ml messages (default: in OUT.log beside OUT)."
    ),
]


def counting_progress() -> Progress:
    """A transient progress display on stderr with a bar and an ``N/M`` count."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    return Progress(*columns, console=err_console, transient=True)


def check_parallel(workers: int | None, scheduler: str | None) -> None:
    """--workers N (a local Dask cluster) or --scheduler ADDRESS (an existing one), not both."""
    if workers is not None and scheduler is not None:
        raise typer.BadParameter("give --workers or --scheduler, not both")
    if workers is not None and workers < 1:
        raise typer.BadParameter("--workers must be at least 1")
