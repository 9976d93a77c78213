"""`make lint` and `make typecheck` as part of the CI suite: ruff (lint and format) on the
repository and mypy on the package, with the settings in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False
    )


def test_ruff_lint_and_format_are_clean() -> None:
    lint = _run(str(BIN / "ruff"), "check", ".")
    assert lint.returncode == 0, lint.stdout[-3000:]
    form = _run(str(BIN / "ruff"), "format", "--check", ".")
    assert form.returncode == 0, form.stdout[-3000:]


def test_mypy_is_clean() -> None:
    typed = _run(str(BIN / "mypy"), "triggerml")
    assert typed.returncode == 0, typed.stdout[-3000:]
