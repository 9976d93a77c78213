"""`triggerml build`: a trained model → an hls4ml HLS project, verified, with a manifest.

The build is an explicit list of named steps (:data:`STEPS`), one module each under
:mod:`triggerml.compile.steps` (as FINN's builder lists its steps), each timed and given a
verdict in the manifest: load → convert → write → csim → export → verify.  Everything is
written into a temporary folder beside DIR and renamed into place at the end, so a failed
build leaves no half-written DIR; ``manifest.json`` is written last.  The settings and the
state the steps share live in :mod:`triggerml.compile.state`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from triggerml.compile.state import (
    EMULATION_DIR,
    PROJECT_DIR,
    SCHEMA_VERSION,
    Backend,
    BuildConfig,
    BuildState,
    BuildWarning,
    IoType,
    Strategy,
)
from triggerml.compile.steps.convert import step_convert
from triggerml.compile.steps.csim import step_csim
from triggerml.compile.steps.emulation import step_export, step_verify
from triggerml.compile.steps.load import step_load
from triggerml.compile.steps.manifest import finalize_paths, manifest_of
from triggerml.compile.steps.write import step_write
from triggerml.io import atomic_dir, check_output_folder, write_json

__all__ = [
    "EMULATION_DIR",
    "PROJECT_DIR",
    "SCHEMA_VERSION",
    "STEPS",
    "Backend",
    "BuildConfig",
    "BuildState",
    "BuildWarning",
    "IoType",
    "Strategy",
    "build",
    "build_config_from",
    "is_build_folder",
]

STEPS: tuple[tuple[str, Callable[[BuildState], str]], ...] = (
    ("load", step_load),
    ("convert", step_convert),
    ("write", step_write),
    ("csim", step_csim),
    ("export", step_export),
    ("verify", step_verify),
)


def build_config_from(config: str | Path | None = None, **options: Any) -> BuildConfig:
    """A build's settings: ``config`` (build.yaml: options and hls4ml's sections), then
    each option given (None: not given) on top — what ``triggerml build`` runs."""
    from triggerml.config import UsageError, from_mapping, load_yaml, to_mapping

    for flag, kind in (("backend", Backend), ("io_type", IoType), ("strategy", Strategy)):
        value = options.get(flag)
        if value is not None and value not in {m.value for m in kind}:
            valid = ", ".join(m.value for m in kind)
            name = "--" + flag.replace("_", "-")
            raise UsageError(f"{name} must be one of {valid}, not {value!r}")
    reuse = options.get("reuse_factor")
    if reuse is not None and reuse < 1:
        raise UsageError(f"--reuse-factor must be at least 1, got {reuse}")
    base = from_mapping(BuildConfig, load_yaml(config) if config is not None else {})
    given = {key: value for key, value in options.items() if value is not None}
    return from_mapping(BuildConfig, {**to_mapping(base), **given})


def build(
    source: str | Path,
    out: str | Path,
    config: BuildConfig | None = None,
    on_step: Callable[[str], None] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Run every step into a temporary folder, then move it to ``out``; returns the manifest.

    ``out`` is replaced only when it is missing, empty or an earlier build (``force``: any
    folder), checked before any work."""
    source = Path(source)
    config = config or BuildConfig()
    final = Path(out).resolve()
    check_output_folder(final, is_build_folder, "a triggerml build", force)
    with atomic_dir(final, fixed_name=True) as work:
        state = BuildState(source, config, work, final)
        for name, step in STEPS:
            if on_step is not None:
                on_step(name)
            started = time.perf_counter()
            verdict = step(state)
            state.steps.append(
                {
                    "name": name,
                    "seconds": round(time.perf_counter() - started, 3),
                    "verdict": verdict,
                }
            )
        finalize_paths(state)
        manifest = manifest_of(state)
        write_json(work / "manifest.json", manifest)
    return manifest


def is_build_folder(folder: Path) -> bool:
    """Does ``folder`` hold a build (a manifest naming its HLS project)?"""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "hls_project" in manifest
