"""Specialized numba kernels compiled once per machine, not once per process.

A kernel with a layer's sizes and fixed-point types as compile-time constants is 1.7–6×
faster than one taking them as arguments, but numba cannot cache a closure on disk, so
every process (each `triggerml emulate`, each Dask worker) paid ≈1 s per kernel again.
Here the constants are written into the kernel's Python source instead; the source is
stored under its own SHA-256 in the cache folder and imported from there, and numba's
``cache=True`` keeps the machine code beside it.  The file name is the hash of the whole
source, so a changed constant (a type, a shape, a shift) is a different file and can never
load a stale kernel; numba's own index guards its version and the CPU.

Folder: ``$TRIGGERML_KERNEL_CACHE``, else ``$XDG_CACHE_HOME/triggerml/kernels``, else
``~/.cache/triggerml/kernels``; if it cannot be written, a temporary folder for this process
(correct, only not shared).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_ENV = "TRIGGERML_KERNEL_CACHE"


@functools.cache
def _process_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="triggerml-kernels-"))


def cache_dir() -> Path:
    """The kernel folder (created); a per-process temporary one if that is not writable."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        folder = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = Path(base) / "triggerml" / "kernels"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    return _process_folder()


def source_path(source: str) -> Path:
    """Where a kernel source lives: named by its hash (written atomically if new)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    folder = cache_dir()
    path = folder / f"k_{digest}.py"
    if not path.is_file():
        handle, tmp = tempfile.mkstemp(dir=folder, prefix=f".k_{digest}.", suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            out.write(source)
        os.replace(tmp, path)  # concurrent writers write identical bytes: either wins
    return path


def load(source: str, name: str) -> Callable[..., Any]:
    """The function ``name`` of a generated kernel module, imported once per process."""
    path = source_path(source)
    module_name = f"triggerml_kernel_{path.stem}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import the generated kernel {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    kernel: Callable[..., Any] = getattr(module, name)
    return kernel
