"""Third-party chatter (TensorFlow's C++ log, absl, hls4ml's prints, Python warnings) goes to
a log file, not the terminal, unless the user asks for it.

The noise is written straight to file descriptors 1 and 2 by C++ code, so redirecting
``sys.stdout`` is not enough: the descriptors themselves point at the log while the block
runs, and our own rich consoles are handed copies of the terminal's descriptors so progress
bars and messages still reach the user.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from rich.console import Console


@contextlib.contextmanager
def captured(log: Path, consoles: Sequence[Console], verbose: bool = False) -> Iterator[Path]:
    """Send everything written to descriptors 1 and 2 to ``log`` (appended) while the block
    runs; ``consoles`` (stdout first, then stderr) keep writing to the terminal.  With
    ``verbose`` nothing is captured."""
    if verbose:
        yield log
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    terminals: list[IO[str]] = []  # the terminal's descriptors, duplicated for our consoles
    previous = [c.file for c in consoles]
    with open(log, "ab", buffering=0) as sink:
        try:
            for console in consoles:
                fd = saved[1] if console.stderr else saved[0]
                terminal = os.fdopen(os.dup(fd), "w", buffering=1)
                terminals.append(terminal)
                console.file = terminal
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield log
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            for console, file in zip(consoles, previous, strict=True):
                console.file = file
            for opened in terminals:
                opened.close()
