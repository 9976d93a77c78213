"""The generated-kernel cache (triggerml.emulator.kernel_cache): reused across processes,
keyed by every constant, private when the shared folder is unwritable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _probe(cache: Path, type_string: str) -> dict[str, int]:
    import os
    import subprocess
    import sys

    script = """
import json, sys
import numpy as np
from triggerml.emulator import fastcast
from triggerml.emulator.fastcast import _O, _Q
from triggerml.fixed import parse_type

t = parse_type(sys.argv[1])
x = np.concatenate([np.linspace(-70, 70, 2001), [0.0, -0.0, 1e-9, -1e9, 1e9]])
got = fastcast.mantissa_from_double(x, t, specialized=True)
assert np.array_equal(got, t.mantissa(x)), "specialized cast differs from the reference"
kernel = fastcast._from_doubles_for(
    t.frac_bits, t.width, t.signed, _Q[t.quant], _O[t.overflow], t.sat_bits,
    t.min_mantissa, t.max_mantissa,
)
print(json.dumps({"hits": sum(kernel.stats.cache_hits.values()),
                  "misses": sum(kernel.stats.cache_misses.values())}))
"""
    env = {**os.environ, "TRIGGERML_KERNEL_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", script, type_string],
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kernel_cache_is_reused_across_processes_and_keyed_by_every_constant(
    tmp_path: Path,
) -> None:
    """A second process loads the compiled kernel from disk; a kernel for another type is a
    new file, compiled afresh, and still equals the reference cast (never a stale kernel)."""
    cache = tmp_path / "kernels"
    first = "ap_fixed<12,7,AP_RND_CONV,AP_SAT>"
    assert _probe(cache, first) == {"hits": 0, "misses": 1}
    sources = sorted(cache.glob("k_*.py"))
    assert len(sources) == 1
    assert _probe(cache, first) == {"hits": 1, "misses": 0}
    other = "ap_fixed<12,6,AP_TRN,AP_WRAP>"  # one integer bit fewer, other modes
    assert _probe(cache, other) == {"hits": 0, "misses": 1}
    assert len(sorted(cache.glob("k_*.py"))) == 2
    assert sources[0].read_text().count("kernel") >= 1


def test_kernel_cache_falls_back_to_a_private_folder_when_unwritable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triggerml.emulator import kernel_cache

    blocked = tmp_path / "a_file"  # a file where the folder should go: even root cannot
    blocked.write_text("")
    monkeypatch.setenv(kernel_cache.CACHE_ENV, str(blocked / "kernels"))
    folder = kernel_cache.cache_dir()
    assert folder != blocked / "kernels"
    assert folder.is_dir()
    path = kernel_cache.source_path("VALUE = 1\n")
    assert path.parent == folder
    assert kernel_cache.load("VALUE = 1\n", "VALUE") == 1
