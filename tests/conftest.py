"""Shared fixtures: a clean environment for CLI subprocesses, and the built firmware,
study and training set several test files use (session scope: built once per test process)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
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


# --- the trigger tests' firmware and tiny study (built once per test process) --------------
@pytest.fixture(scope="session")
def firmware(tpmlp_dir: Path) -> Path:
    """The trigger tests' firmware: the emulator tests' tpmlp build (read only by both), not
    a second build of the same model."""
    return tpmlp_dir


@pytest.fixture(scope="session")
def tiny_study(firmware: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from trigger_support import scenario_file

    from triggerml.trigger.scenario import load_study
    from triggerml.trigger.study import run_study

    tmp = tmp_path_factory.mktemp("study")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)  # studies resolve the zoo's dataset path relative to it
        return tmp, run_study(load_study(scenario_file(tmp, firmware)), tmp / "out")


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[None]:
    """Studies resolve the zoo's dataset path relative to the working directory."""
    mp = pytest.MonkeyPatch()
    mp.chdir(REPO)
    yield
    mp.undo()


# --- a built tpmlp and a small training set, shared by the emulator and nn tests ------------
@pytest.fixture(scope="session")
def tpmlp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from triggerml.compile.build import BuildConfig, build

    out = tmp_path_factory.mktemp("emu") / "tpmlp"
    build(REPO / "models" / "tpmlp.h5", out, BuildConfig(events=500))
    return out


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import dataclasses

    from triggerml.nn.dataset import build_dataset, load_config

    config = load_config(REPO / "models" / "dataset.yaml")
    config = dataclasses.replace(
        config,
        detector=dataclasses.replace(config.detector, seconds=0.06),
        background_prescale=0.5,
        induction_planes=True,
    )
    path = tmp_path_factory.mktemp("data") / "small.h5"
    counts = build_dataset(config, path)
    assert counts["signal"] > 50
    return path
