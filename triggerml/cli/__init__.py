"""The ``triggerml`` command line (typer + rich).

Errors reach the user as one line on stderr and a non-zero exit code; ``--debug`` (before the
command) shows the traceback instead.  The commands are registered, in the order ``--help``
lists them, by importing their modules.
"""

from __future__ import annotations

import signal
import sys
from typing import NoReturn

from triggerml.cli import benches, detector, firmware, studies, training  # noqa: F401
from triggerml.cli._app import (
    EXIT_FAILURE,
    EXIT_TOOL_MISSING,
    EXIT_USAGE,
    EXTRA_OF_MODULE,
    app,
    err_console,
)
from triggerml.cli.firmware import csim_summary
from triggerml.config import UsageError
from triggerml.toolchain import ToolNotFoundError

__all__ = ["app", "csim_summary", "main"]


class Interrupted(BaseException):
    """SIGINT or SIGTERM: stop now, keeping what is finished (atomic outputs, task files).
    Not a KeyboardInterrupt: click turns those into "Aborted!" with exit code 1."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def _interrupt_behind(error: BaseException) -> BaseException | None:
    """The signal's exception when ``error`` was raised while handling it: C code that calls
    back into Python (numba boxing a returned array, say) can run the signal handler there
    and turn its exception into a ``SystemError`` whose cause is the interrupt."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        if isinstance(link, (Interrupted, KeyboardInterrupt)):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return None


def _exit_interrupted(error: BaseException) -> NoReturn:
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


def main() -> None:
    """Console-script entry point: one-line errors unless --debug; SIGINT/SIGTERM stop the
    command at once with one line and exit 130/143 (128 + the signal number)."""
    debug = "--debug" in sys.argv[1:]
    signal.signal(signal.SIGINT, _raise_interrupted)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        app()
    except (Interrupted, KeyboardInterrupt) as error:
        _exit_interrupted(error)
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
        interrupt = _interrupt_behind(error)
        if interrupt is not None:
            _exit_interrupted(interrupt)
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
