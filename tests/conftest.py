"""Shared fixtures: a clean environment for CLI subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TRIGGERML = [sys.executable, "-m", "triggerml.cli"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `triggerml` command line in a subprocess."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [*TRIGGERML, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def no_xilinx_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Environment with no Xilinx tools: PATH keeps only the system folders."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "XILINX_HLS": "",
        "XILINX_VIVADO": "",
    }
