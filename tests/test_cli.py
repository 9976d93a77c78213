"""The command line: version, info, one-line errors with exit codes, --debug tracebacks."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
from conftest import run_cli

from triggerml import __version__


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"triggerml {__version__}"


def test_info_without_xilinx_tools_says_so_in_a_line(no_xilinx_env: dict[str, str]) -> None:
    result = run_cli("info", env=no_xilinx_env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for name in ("tensorflow", "tf_keras", "qkeras", "hls4ml", "onnx", "numpy", "g++"):
        assert name in result.stdout
    assert "vivado_hls" in result.stdout
    assert "No Xilinx HLS tool found" in result.stdout


def test_info_finds_a_tool_under_its_env_var(tmp_path: Path, no_xilinx_env: dict[str, str]) -> None:
    bin_dir = tmp_path / "Vitis_HLS" / "bin"
    bin_dir.mkdir(parents=True)
    tool = bin_dir / "vitis_hls"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    env = {**no_xilinx_env, "XILINX_HLS": str(tmp_path / "Vitis_HLS"), "COLUMNS": "200"}
    result = run_cli("info", env=env)
    assert result.returncode == 0
    assert str(tool) in result.stdout
    assert "No Xilinx HLS tool found" not in result.stdout


def test_missing_compiler_is_one_line_and_exit_3(tmp_path: Path) -> None:
    env = {"CXX": "no-such-compiler-xyz", "TMPDIR": str(tmp_path)}
    result = run_cli("verify-fixed", env=env)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no-such-compiler-xyz" in lines[0]
    assert "install g++" in lines[0]
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    env = {"CXX": "no-such-compiler-xyz", "TMPDIR": str(tmp_path)}
    result = run_cli("--debug", "verify-fixed", env=env)
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_bad_input_is_a_one_line_error() -> None:
    result = run_cli("bench", "fixed", "--type", "ap_fixed<8,3,AP_FOO>", "--values", "10")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "unknown QuantMode 'AP_FOO'" in result.stderr


def test_usage_error_exit_code_is_2() -> None:
    result = run_cli("no-such-command")
    assert result.returncode == 2


def test_bench_fixed_json_line() -> None:
    result = run_cli("bench", "fixed", "--values", "20000", "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(record) == {
        "name",
        "throughput",
        "unit",
        "reference",
        "reference_throughput",
        "ratio",
        "threads",
    }
    assert record["reference"] == "np.copy"
    expected = record["throughput"] / record["reference_throughput"]
    assert abs(record["ratio"] - expected) <= 1e-9 * expected
    assert record["threads"] == 1


def test_console_script_is_installed() -> None:
    import shutil
    import sys

    script = Path(sys.executable).parent / "triggerml"
    assert script.exists() or shutil.which("triggerml"), os.environ.get("PATH")


def test_bench_sim_json_line() -> None:
    result = run_cli("bench", "sim", "--slices", "2", "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["name"] == "sim:background APA"
    assert record["unit"] == "samples/s"
    assert record["reference"] == "np.copy"
    assert record["ratio"] == pytest.approx(record["throughput"] / record["reference_throughput"])
    assert 0 < record["ratio"] < 10


@pytest.mark.parametrize(("plane", "channels"), [("collection", 960), ("induction", 1600)])
def test_bench_tpg_json_line(plane: str, channels: int) -> None:
    result = run_cli(
        "bench", "tpg", "--blocks", "1", "--mode", "dunedaq", "--plane", plane, "--json"
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["name"] == f"tpg:dunedaq {plane} plane" + ("s" if plane == "induction" else "")
    assert record["unit"] == "samples/s"
    assert record["reference"] == "np.copy"
    assert record["ratio"] == pytest.approx(record["throughput"] / record["reference_throughput"])
    # the real-time rate printed is the plane's wires × 1.953 MHz (DESIGN §5)
    assert f"{channels * 1e9 / 512:.3g} samples/s" in result.stdout


def test_tpg_efficiency_plot(tmp_path: Path) -> None:
    png = tmp_path / "eff.png"
    result = run_cli("tpg-efficiency", "--seconds", "0.012", "--out", str(png))
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "MeV:" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ("simulate", "emulation/demo.yaml", "--out", "{tmp}/x.h5", "--seconds", "-1"),
            "--seconds",
        ),
        (("simulate", "emulation/demo.yaml", "--out", "{tmp}/x.h5", "--apa", "-3"), "--apa"),
        (("build", "models/tpmlp.h5", "--out", "{tmp}/b", "--backend", "bogus"), "--backend"),
        (("build", "models/tpmlp.h5", "--out", "{tmp}/b", "--io-type", "io_x"), "--io-type"),
        (("synth", "{tmp}", "--tool", "bogus"), "--tool"),
    ],
)
def test_bad_option_values_are_usage_errors(
    args: tuple[str, ...], fragment: str, tmp_path: Path
) -> None:
    """Issue #16.6: a bad option value exits 2 and names the option; nothing is written."""
    result = run_cli(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.h5").exists()
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_long_command_with_one_line(
    signum: int, code: int, tmp_path: Path
) -> None:
    """Issue #16.3: a real signal to a running `simulate` stops it promptly, exit 128 + N,
    one line on stderr, and no partial output left behind."""
    from conftest import TRIGGERML

    out = tmp_path / "raw.h5"
    process = subprocess.Popen(
        [*TRIGGERML, "simulate", "emulation/demo.yaml", "--seconds", "30", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".raw.h5*")) and time.monotonic() < deadline:
        time.sleep(0.2)  # wait until it is writing
    time.sleep(1.0)
    process.send_signal(signum)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert time.monotonic() - sent < 30
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert signal.Signals(signum).name in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_interrupt_wrapped_by_c_code_still_exits_as_the_signal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """numba's boxing of a returned array calls Python (``_numba_unpickle``); a SIGTERM
    handled there reaches the CLI as a SystemError caused by the interrupt.  It still exits
    143 with the interrupt's one line, not as a failure."""
    from triggerml import cli

    def wrapped() -> None:
        try:
            raise cli.Interrupted(signal.SIGTERM)
        except cli.Interrupted as interrupt:
            raise SystemError("returned a result with an exception set") from interrupt

    monkeypatch.setattr(cli, "app", wrapped)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # leave pytest's handlers
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 143
    stderr = capsys.readouterr().err.strip().splitlines()
    assert len(stderr) == 1, stderr
    assert "SIGTERM" in stderr[0]

    def unrelated() -> None:
        raise SystemError("a real failure")

    monkeypatch.setattr(cli, "app", unrelated)
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code not in (0, 130, 143)


def test_help_shows_bare_flags_and_click_style_arguments() -> None:
    """#16.12: typer 0.29 printed `--force <bool>` and `build [OPTIONS] {model}`; the help
    now reads as click's does, with the value types kept for options that take a value."""
    result = run_cli("build", "--help", env={"COLUMNS": "120"})
    assert result.returncode == 0
    assert "<bool>" not in result.stdout
    assert "{model}" not in result.stdout
    assert "build [OPTIONS] MODEL" in result.stdout
    assert "<int>" in result.stdout  # --events still says it takes a number
    assert "default: 1000" in result.stdout  # --events
    assert "default: io_parallel" in result.stdout
    emulate = run_cli("emulate", "--help", env={"COLUMNS": "120"})
    assert "inputs[0].shape" in emulate.stdout  # where the input shape is


def test_build_summary_explains_a_visible_difference_after_the_output_table() -> None:
    """#16.8: a softmax model printed max |Δ| 0.199 after its table with no word: with exact
    logits, a difference above 1 % after the table is explained as its resolution."""
    from triggerml.cli import csim_summary

    softmax = {"events": 500, "mismatches": 0, "max_abs_diff": 0.199, "output_table": True}
    line, warning = csim_summary(softmax)
    assert "0 logit mismatches" in line
    assert warning is not None
    assert "table's resolution" in warning
    sigmoid = dict(softmax, max_abs_diff=0.000977)
    assert csim_summary(sigmoid)[1] is None
    onnx = dict(softmax, reference="qonnx", output_table=False, mismatches=2)
    line, warning = csim_summary(onnx)
    assert "vs qonnx" in line
    assert "2 output mismatches" in line
    assert warning is None
