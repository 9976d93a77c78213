"""A slim install (no extras): the emulator and the simulator run, and a command that needs
an extra names it (pyproject.toml's optional dependencies)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import REPO, run_cli

# What a slim install (`pip install triggerml`, no extras) lacks: a sitecustomize that makes
# every package of the [build], [onnx] and [dask] extras unimportable.
_NO_EXTRAS = """
import importlib.abc, sys
BLOCKED = {"tensorflow", "tf_keras", "keras", "qkeras", "hls4ml", "onnx", "qonnx",
           "onnxruntime", "dask", "distributed"}
class _NoExtras(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NoExtras())
"""


def test_a_slim_install_emulates_and_simulates_and_names_the_extra_it_lacks(
    tpmlp_dir: Path, tmp_path: Path
) -> None:
    """#18.5: without TensorFlow, hls4ml, ONNX or Dask, a built firmware is emulated (the
    same outputs) and the simulator runs; `build` says which extra to install, exit 3."""
    import json
    import subprocess
    import sys

    from triggerml.emulator import load_emulator

    out = tpmlp_dir
    manifest = json.loads((out / "manifest.json").read_text())
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(_NO_EXTRAS)
    env = {"PYTHONPATH": str(shim)}
    x = np.random.default_rng(3).normal(0, 2, (64, *manifest["inputs"][0]["shape"]))
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys, numpy as np\n"
        "from triggerml.emulator import load_emulator\n"
        f"y = load_emulator({str(out)!r}).predict(np.load({str(tmp_path / 'x.npy')!r}))\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, y)\n"
        "assert 'tensorflow' not in sys.modules and 'hls4ml' not in sys.modules\n"
    )
    import os

    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert np.array_equal(np.load(tmp_path / "y.npy"), load_emulator(out).predict(x))
    raw = tmp_path / "raw.h5"
    simulated = run_cli(
        "simulate", str(REPO / "emulation" / "demo.yaml"), "--seconds", "0.005", "--out",
        str(raw), env=env,
    )  # fmt: skip
    assert simulated.returncode == 0, simulated.stderr[-2000:]
    assert raw.is_file()
    refused = run_cli(
        "build", str(REPO / "models" / "tpmlp.h5"), "--out", str(tmp_path / "b"), env=env
    )
    assert refused.returncode == 3
    assert "[build] extra" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
