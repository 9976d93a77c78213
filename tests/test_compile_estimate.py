"""The cost estimate before synthesis: its counting rules, and its error against real HLS
reports of hls4ml's own test models."""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from triggerml.compile.estimate import BASELINES, csd_digits, estimate_build, validate


@functools.cache
def _min_signed_digits(x: int) -> int:
    """Fewest non-zero digits of x in any signed-binary form (an independent definition)."""
    if x in (0, 1):
        return x
    if x % 2 == 0:
        return _min_signed_digits(x // 2)
    return 1 + min(_min_signed_digits((x - 1) // 2), _min_signed_digits((x + 1) // 2))


def test_csd_digits_are_the_fewest_signed_digits() -> None:
    values = np.arange(-3000, 3001)
    expected = np.array([_min_signed_digits(abs(int(v))) for v in values])
    np.testing.assert_array_equal(csd_digits(values), expected)
    assert csd_digits(np.array([7, 8, 255, -256]))[0] == 2  # 8 − 1


def test_estimate_counts_only_real_multiplications_and_uses_lut_multipliers_below_9_bits(
    tmp_path: Path,
) -> None:
    """tpmlp (8-bit weights): every non-zero weight that is not ± a power of two is a
    multiplication, none takes a DSP (hls4ml's rule), the part's resources come from the
    shipped table, and the estimate is in the manifest, labelled as such."""
    from triggerml.compile.build import BuildConfig, build

    out = tmp_path / "tpmlp"
    manifest = build(REPO / "models" / "tpmlp.h5", out, BuildConfig(csim=False))
    estimate = manifest["estimate"]
    assert estimate == estimate_build(out)
    assert estimate["source"] == "estimate (not synthesized)"
    with np.load(out / "emulation" / "weights.npz") as data:
        expected = sum(
            int((csd_digits(data[key]) > 1).sum()) for key in data.files if key.endswith("weight")
        )
    assert estimate["multiplications"] == expected > 100
    assert estimate["resources"]["DSP"]["used"] == 0
    assert estimate["resources"]["LUT"]["used"] > 0
    assert estimate["resources"]["LUT"]["available"] == 1_728_000  # xcvu13p, DS890
    assert estimate["interval_cycles"] == 1


def test_estimate_error_against_hls4ml_synthesis_baselines(tmp_path: Path) -> None:
    """Five real Vitis HLS 2024.1 reports of hls4ml's test models: the estimate's relative
    errors stay inside the band every estimate states (calibrated on these five: in-sample)."""
    with warnings.catch_warnings(record=True):  # float models: not bit-exact with Keras
        warnings.simplefilter("always")
        result = validate(tmp_path)
    cases = json.loads(BASELINES.read_text())["cases"]
    assert [row["name"] for row in result["cases"]] == [case["name"] for case in cases]
    errors = result["relative_error"]
    assert errors["BRAM_18K"]["worst"] == 0.0
    assert errors["DSP"]["worst"] <= 0.15
    assert errors["LUT"]["median"] <= 0.10
    assert errors["LUT"]["worst"] <= 0.30
    assert errors["FF"]["median"] <= 0.30
    latencies = [
        (r["estimate"]["latency_cycles"], r["report"]["latency_cycles"]) for r in result["cases"]
    ]
    assert sum(a == b for a, b in latencies) >= 4


def test_a_build_without_an_emulation_graph_has_no_estimate(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"emulation_graph": None}))
    with pytest.raises(ValueError, match="no emulation graph"):
        estimate_build(tmp_path)


def test_report_without_synthesis_points_to_the_estimate_and_prints_it(tmp_path: Path) -> None:
    """#16.12: `report DIR` on an unsynthesized build said only "run synth" while `--rate`
    printed an estimate: it now names `--estimate`, which prints the labelled estimate."""
    from conftest import run_cli

    from triggerml.compile.build import BuildConfig, build

    out = tmp_path / "tpmlp"
    build(REPO / "models" / "tpmlp.h5", out, BuildConfig(csim=False))
    bare = run_cli("report", str(out))
    assert bare.returncode == 1
    assert "--estimate" in bare.stderr
    shown = run_cli("report", str(out), "--estimate", env={"COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    assert "estimate (not synthesized)" in shown.stdout
    assert "error band" in shown.stdout
    as_json = run_cli("report", str(out), "--estimate", "--json")
    assert json.loads(as_json.stdout) == json.loads((out / "manifest.json").read_text())["estimate"]


def test_type_bits_reads_any_width_and_refuses_what_is_not_a_type() -> None:
    from triggerml.fixed import type_bits

    assert type_bits("ap_ufixed<127,1,AP_TRN,AP_WRAP>") == 127  # beyond int64: costs only
    assert type_bits("fixed<16,6>") == 16
    assert type_bits("ap_uint<8>") == 8
    with pytest.raises(ValueError, match="not a fixed-point"):
        type_bits("float")
