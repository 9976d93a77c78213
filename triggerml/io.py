"""Atomic writes and provenance: outputs appear whole or not at all, and say where they came
from (versions, seed, config and input hashes, time)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from triggerml import __version__
from triggerml.config import UsageError

PROVENANCE_PACKAGES = ("hls4ml", "qkeras", "tensorflow", "numpy", "numba", "h5py")


class OutputFolderError(UsageError):
    """An output folder holds something that is not ours: refused rather than replaced."""


def check_output_folder(
    target: str | Path, is_ours: Callable[[Path], bool], what: str, force: bool = False
) -> None:
    """Refuse to replace ``target`` unless it is missing, empty, one of ours (``is_ours``)
    or ``force`` is given: a user's folder (a clone, notes) must never vanish in a rebuild."""
    target = Path(target)
    if force or not target.exists():
        return
    if not target.is_dir():
        raise OutputFolderError(f"{target} is a file, not a folder: choose another --out")
    entries = sorted(p.name for p in target.iterdir())
    if not entries or is_ours(target):
        return
    shown = ", ".join(entries[:3]) + (", …" if len(entries) > 3 else "")
    raise OutputFolderError(
        f"{target} is not empty and not {what} (it holds {shown}): choose another --out, "
        "or add --force to replace it"
    )


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it into place only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.chmod(0o666 & ~_umask())
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(target: str | Path, fixed_name: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; it replaces ``target`` only on success.

    ``fixed_name``: the folder is always ``.<name>.partial`` (a stale one is removed), so
    tools that record absolute paths give the same bytes on every run into ``target``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fixed_name:
        tmp = target.parent / f".{target.name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    else:
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        )
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        tmp.replace(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_json(path: str | Path, data: Any) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    return Path(path)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_json(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def versions() -> dict[str, str | None]:
    """Versions of triggerml and the stack, from package metadata (no imports), and the C
    library: the simulator's exp, log, sin, cos and pow are its (``detector/libm.py``), so
    simulated slices are bit-identical between machines that share it."""
    found: dict[str, str | None] = {"triggerml": __version__}
    for name in PROVENANCE_PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    libc, libc_version = platform.libc_ver()
    found["libc"] = f"{libc} {libc_version}" if libc else None
    return found


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
