"""`triggerml emulate` and `triggerml verify` on a built firmware: round trip, inputs of
another shape refused, zero mismatches, option errors named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import run_cli
from numpy.testing import assert_array_equal

from triggerml.emulator import load_emulator


def test_emulate_cli_round_trip(tpmlp_dir: Path, tmp_path: Path) -> None:
    x = np.random.default_rng(1).normal(0, 5, (300, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = run_cli(
        "emulate",
        str(tpmlp_dir),
        "--input",
        str(tmp_path / "x.npy"),
        "--output",
        str(tmp_path / "y.npy"),
    )
    assert result.returncode == 0, result.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (300, 1)
    assert_array_equal(y, load_emulator(tpmlp_dir).predict(x.astype(np.float64)))


def test_emulate_and_verify_refuse_inputs_of_another_shape(tpmlp_dir: Path, tmp_path: Path) -> None:
    """Issue #16.2: (N, 8, 1) holds as many values as tpmlp's (N, 8) but is not its shape."""
    np.save(tmp_path / "x.npy", np.zeros((5, 8, 1)))
    for args in (
        (
            "emulate",
            str(tpmlp_dir),
            "--input",
            str(tmp_path / "x.npy"),
            "--output",
            str(tmp_path / "y.npy"),
        ),
        ("verify", str(tpmlp_dir), "--events", "5", "--data", str(tmp_path / "x.npy")),
    ):
        result = run_cli(*args)
        assert result.returncode == 1, result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "(8, 1) per event does not match the model's (8,)" in lines[0]
    assert not (tmp_path / "y.npy").exists()


def test_verify_cli_reports_zero_mismatches(tpmlp_dir: Path) -> None:
    result = run_cli("verify", str(tpmlp_dir), "--events", "200")
    assert result.returncode == 0, result.stderr
    assert "out-of-range: 200 events, mismatching events per output [0]" in result.stdout


def test_emulate_input_and_output_errors_name_the_option(tpmlp_dir: Path, tmp_path: Path) -> None:
    """Issue #16.7: a text file named .npy, a missing output folder."""
    text = tmp_path / "x.npy"
    text.write_text("1,2,3\n")
    result = run_cli(
        "emulate", str(tpmlp_dir), "--input", str(text), "--output", str(tmp_path / "y.npy")
    )
    assert result.returncode == 2, result.stderr
    assert "--input" in result.stderr
    assert "not a .npy array" in result.stderr
    assert "pickle" not in result.stderr
    np.save(tmp_path / "good.npy", np.zeros((2, 8)))
    missing = tmp_path / "missing" / "dir" / "y.npy"
    result = run_cli(
        "emulate", str(tpmlp_dir), "--input", str(tmp_path / "good.npy"), "--output", str(missing)
    )
    assert result.returncode == 2, result.stderr
    assert "does not exist" in result.stderr
    assert not (tmp_path / "missing").exists()
