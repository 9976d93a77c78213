"""Loading a built firmware's emulator (triggerml.emulator.model): bad graphs and inputs are
one-line errors, a build without an emulator says why, no hls4ml or TensorFlow imported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from triggerml.emulator import EmulationError, load_emulator


def test_bad_graphs_and_inputs_are_one_line_errors(tpmlp_dir: Path, tmp_path: Path) -> None:
    emulator = load_emulator(tpmlp_dir)
    with pytest.raises(EmulationError, match=r"input shape \(9,\) per event does not match"):
        emulator.predict(np.zeros((3, 9)))
    with pytest.raises(EmulationError, match="NaN or inf"):
        emulator.predict(np.array([[np.nan] * 8]))
    with pytest.raises(EmulationError, match="events axis"):
        emulator.predict(np.zeros(8))
    copy = tmp_path / "copy"
    (copy / "emulation").mkdir(parents=True)
    with pytest.raises(EmulationError, match=r"graph\.json not found"):
        load_emulator(copy)
    graph = json.loads((tpmlp_dir / "emulation" / "graph.json").read_text())
    (copy / "emulation" / "weights.npz").write_bytes(
        (tpmlp_dir / "emulation" / "weights.npz").read_bytes() + b"edit"
    )
    (copy / "emulation" / "graph.json").write_text(json.dumps(graph))
    with pytest.raises(EmulationError, match="does not match"):
        load_emulator(copy)
    (copy / "emulation" / "weights.npz").write_bytes(
        (tpmlp_dir / "emulation" / "weights.npz").read_bytes()
    )
    graph["layers"][1]["class"] = "LSTM"
    (copy / "emulation" / "graph.json").write_text(json.dumps(graph))
    with pytest.raises(EmulationError, match="not emulated"):
        load_emulator(copy)
    graph["schema_version"] = 99
    (copy / "emulation" / "graph.json").write_text(json.dumps(graph))
    with pytest.raises(EmulationError, match="schema_version"):
        load_emulator(copy)
    result = run_cli("emulate", str(copy), "--input", "x.npy", "--output", "y.npy")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1


def test_emulator_needs_no_hls4ml_or_tensorflow(tpmlp_dir: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "sys.modules['hls4ml'] = None; sys.modules['tensorflow'] = None\n"
        "sys.modules['tf_keras'] = None\n"
        "from triggerml.emulator import load_emulator\n"
        f"e = load_emulator({str(tpmlp_dir)!r})\n"
        "print(e.predict(np.ones((2, 8))).shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(2, 1)"


def test_a_build_without_an_emulator_says_why(tmp_path: Path) -> None:
    """Issue #16.5: emulate on a build that has no emulation graph names the build's reason."""
    reason = "no emulator for this model: fixed-point width 65 is outside 1..62"
    (tmp_path / "manifest.json").write_text(
        json.dumps({"schema_version": 1, "hls_project": "hls_project", "warnings": [reason]})
    )
    with pytest.raises(EmulationError, match=r"built without an emulator .*width 65"):
        load_emulator(tmp_path)
    with pytest.raises(EmulationError, match="is not a build"):
        load_emulator(tmp_path / "elsewhere")
